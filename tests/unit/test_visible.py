"""Untrusted text never reaches a terminal raw: the core function, and the parser path.

AMI values with every C0 and C1 control (and DEL, bidi overrides, U+2028/2029) go through
the real parser (parse_block) into the model and out through `status`'s printer and JSON.
"""

from __future__ import annotations

import io
import json
import logging
import unicodedata
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trunkconsole.ami.message import AmiMessage, parse_block
from trunkconsole.cli.status import _print_text
from trunkconsole.model.snapshot import snapshot
from trunkconsole.model.state import PbxState
from trunkconsole.visible import (
    VisibleFormatter,
    echo,
    is_visible,
    visible,
    visible_json,
    visible_lines,
)

C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
OTHERS = ["\x7f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
          "\u2068", "\u2069", "\u2028", "\u2029", "\u200e", "\u200f", "\u061c", "\udc9b"]
DANGEROUS = C0 + C1 + OTHERS


def no_dangerous(text: str, *, newlines: bool = False) -> bool:
    allowed = {"\n"} if newlines else set()
    return not any(ch in DANGEROUS and ch not in allowed for ch in text)


@pytest.mark.parametrize("char", DANGEROUS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_control_is_shown_as_an_escape(char: str) -> None:
    shown = visible(f"a{char}b")
    code = ord(char)
    assert shown == (f"a\\x{code:02x}b" if code < 0x100 else f"a\\u{code:04x}b")
    assert no_dangerous(shown)
    assert not is_visible(f"a{char}b") or char == "\n"


@pytest.mark.parametrize("char", [c for c in DANGEROUS if c != "\n"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_lines_keep_only_line_feeds(char: str) -> None:
    shown = visible_lines(f"one{char}\r\ntwo\n")
    assert shown.count("\n") == 2
    assert no_dangerous(shown, newlines=True)
    assert shown.count("\\x0d") == (char == "\r")  # CRLF ends a line as LF


def test_printable_text_is_left_alone() -> None:
    text = "Zoë Müller 日本語 😀 [red]x[/b] \\x1b a\\b ‮?"[:-2] + "ok"
    assert visible(text) == text
    assert visible_lines("two\nlines") == "two\nlines"


def test_the_attacks_from_the_issue() -> None:
    for attack in ("\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b]52;c;ZWNobyBoaQ==\x07",
                   "\x9b2J", "\x9d0;t\x9c", "safe\u202etxt.exe"):
        shown = visible(attack)
        assert is_visible(shown)
        assert no_dangerous(shown)


@given(st.text())
def test_visible_is_safe_and_exact_on_safe_text(text: str) -> None:
    shown = visible(text)
    assert no_dangerous(shown)
    if no_dangerous(text):
        assert shown == text
    assert no_dangerous(visible_lines(text), newlines=True)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_visible_json_means_the_same(data: object) -> None:
    text = visible_json(data)
    assert no_dangerous(text, newlines=True)
    assert json.loads(text) == data
    assert json.loads(visible_json(data, indent=None)) == data


def test_echo_and_log_lines_are_visible() -> None:
    out = io.StringIO()
    echo("caller \x1b]0;x\x07\nnext", file=out)
    assert out.getvalue() == "caller \\x1b]0;x\\x07\nnext\n"
    record = logging.LogRecord("t", logging.WARNING, "f", 1, "refused: %s", ("\x1b[2J",), None)
    assert VisibleFormatter().format(record) == "refused: \\x1b[2J"


def msg(text: str) -> AmiMessage:
    message = parse_block(text.replace("\n", "\r\n"))
    assert message is not None
    return message


def hostile_state(payload: str) -> PbxState:
    """The lab's trunk, a call and an unknown sender whose AMI values hold payload."""
    state = PbxState(clock=lambda: 1000.0)
    state.apply(msg(f"Event: EndpointList\nObjectName: carrier{payload}\nAor: carrier\n"
                    "Auths: \nOutboundAuths: \nContacts: carrier/sip:203.0.113.10:5060,\n"
                    "DeviceState: Not in use"))
    state.apply(msg(f"Event: IdentifyDetail\nObjectName: carrier\nEndpoint: carrier{payload}\n"
                    "Match: 203.0.113.10/255.255.255.255"))
    state.apply(msg("Event: EndpointDetailComplete\nEventList: Complete"))
    state.apply(msg(f"Event: Newchannel\nChannel: PJSIP/carrier{payload}-00000001\n"
                    "ChannelState: 6\nChannelStateDesc: Up\n"
                    f"CallerIDNum: 1555{payload}\nCallerIDName: name{payload}\n"
                    f"Context: inbound{payload}\nExten: 1555123{payload}\n"
                    "Uniqueid: 999.1\nLinkedid: 999.1"))
    for event in ("InvalidAccountID", "ChallengeSent"):
        state.apply(msg(f"Event: {event}\nPrivilege: security,all\nService: PJSIP\n"
                        f"AccountID: 4471{payload}\nSessionID: 1-1@203.0.113.11\n"
                        "LocalAddress: IPV4/UDP/203.0.113.1/5060\n"
                        "RemoteAddress: IPV4/UDP/203.0.113.11/5060\n"
                        f"EventTV: 2026-11-26T12:00:00.000+0000"))
    return state


# Every dangerous code point but CR and LF, which end an AMI header on the wire.
PAYLOADS = ["".join(c for c in C0 if c not in "\r\n"), "".join(C1), "".join(OTHERS),
            "\x1b]0;pwned\x07\x1b]52;c;ZWNobw==\x07\x1b[2J"]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["c0", "c1", "others", "osc"])
def test_status_prints_ami_values_visibly(payload: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    state = hostile_state(payload)
    [channel] = state.channels.values()
    assert payload in channel.caller_name  # the parser keeps the value exact
    assert any(payload in s.account for s in state.senders.by_address.values())
    session = SimpleNamespace(state=state, problems=[f"AMI said {payload}"])
    _print_text(session, [], 1000.0)
    out = capsys.readouterr().out
    assert no_dangerous(out, newlines=True), repr(out)
    assert visible(payload)[:40] in out

    text = visible_json(snapshot(state, 1000.0))
    assert no_dangerous(text, newlines=True)
    assert json.loads(text)["channels"][0]["caller_name"] == f"name{payload}"


def test_the_dashboard_rows_show_controls_visibly() -> None:
    from trunkconsole.model.views import trunk_summaries
    from trunkconsole.tui.rows import channel_cells, sender_cells, trunk_cells

    for payload in PAYLOADS:
        state = hostile_state(payload)
        cells = [*channel_cells(next(iter(state.channels.values())), 1000.0)]
        cells += [c for s in state.senders.by_address.values() for c in sender_cells(s)]
        cells += [c for t in trunk_summaries(state, 1000.0) for c in trunk_cells(t)]
        for cell in cells:
            assert no_dangerous(cell.plain), repr(cell.plain)
        assert any(visible(payload)[:20] in cell.plain for cell in cells)


def test_unicode_categories_covered() -> None:
    """Every Cc code point is in the set; the format characters we leave alone are the ones
    text needs (ZWJ in emoji, soft hyphen), not the bidi controls."""
    for code in range(0x110000):
        if unicodedata.category(chr(code)) == "Cc":
            assert not is_visible(chr(code)) or chr(code) == "\n"
    assert visible("👩\u200d💻") == "👩\u200d💻"
