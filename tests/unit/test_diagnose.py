"""Diagnoses over a model fed with real AMI event text (no AMI needed)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from trunkconsole.ami.message import parse_block
from trunkconsole.diagnose.engine import diagnose
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.logs.clock import DateParser
from trunkconsole.logs.events import LineParser, keep
from trunkconsole.logs.record import read_logs
from trunkconsole.model.state import PbxState

# `pjsip show channelstats` as Asterisk 22.10 prints it (one row bridged, one not).
CHANNELSTATS = (Path(__file__).parent.parent / "fixtures" / "channelstats.txt").read_text()


def feed(state: PbxState, text: str) -> None:
    message = parse_block(text.strip().replace("\n", "\r\n"))
    assert message is not None
    state.apply(message)


def hangup(state: PbxState, uid: str, cause: int, tech: int | None) -> None:
    feed(state, f"Event: Hangup\nChannel: PJSIP/carrier-{uid}\nUniqueid: 17956.{uid}\n"
                f"CallerIDNum: 15551239999\nExten: s\nCause: {cause}\nCause-txt: x"
                + (f"\nTechCause: {tech}" if tech else ""))


def test_channelstats_rows_with_and_without_bridge() -> None:
    stats = parse_channelstats(CHANNELSTATS.splitlines())
    assert sorted(stats) == ["PJSIP/carrier-00000003", "PJSIP/carrier-00000004"]
    blocked = stats["PJSIP/carrier-00000004"]
    assert (blocked.uptime, blocked.codec, blocked.rx_packets, blocked.tx_packets) == \
        (63, "ulaw", 0, 128)
    assert blocked.endpoint == "carrier"


def test_rejected_and_codec_hangups_are_told_apart() -> None:
    state = PbxState(clock=lambda: 100.0)
    hangup(state, "1", 21, 403)
    hangup(state, "2", 21, None)  # Asterisk before 22.7: no TechCause
    hangup(state, "3", 58, 488)
    hangup(state, "4", 16, None)  # a normal call
    codes = {f.code: f for f in diagnose(Evidence(state=state, now=100.0))}
    assert codes["callerid-rejected"].details["calls"] == 2
    assert codes["callerid-rejected"].details["caller_id"] == "15551239999"
    assert "codec-mismatch" in codes
    assert len(codes) == 2


def test_rtp_not_arriving_needs_an_up_call_with_nothing_received() -> None:
    state = PbxState(clock=lambda: 100.0)
    for uid in ("00000003", "00000004"):
        feed(state, f"Event: Newchannel\nChannel: PJSIP/carrier-{uid}\nChannelState: 6\n"
                    f"ChannelStateDesc: Up\nUniqueid: 1795666470.{uid}\nExten: 15551230002")
    ev = Evidence(state=state, rtp=parse_channelstats(CHANNELSTATS.splitlines()), now=100.0)
    [finding] = diagnose(ev)
    assert finding.code == "rtp-not-arriving"
    assert finding.details["channel"] == "PJSIP/carrier-00000004"


def test_nothing_wrong_is_nothing_said() -> None:
    assert diagnose(Evidence(state=PbxState(), now=1.0)) == []
    assert diagnose(Evidence()) == []  # no live state, no config: nothing to say


def test_a_response_is_not_the_request_it_answers() -> None:
    """A 100 Trying to Asterisk's own outbound INVITE carries `CSeq: n INVITE`: the
    workflow must not take it for an inbound INVITE."""
    from trunkconsole.calls.sip_history import SipMessage

    trying = SipMessage(4, 0, True, "203.0.113.10:5060", "SIP/2.0 100 Trying",
                        "SIP/2.0 100 Trying\nCSeq: 8202 INVITE")
    invite = SipMessage(5, 0, True, "203.0.113.10:5061", "INVITE sip:1@203.0.113.1 SIP/2.0")
    assert (trying.method, trying.is_request) == ("INVITE", False)
    assert (invite.method, invite.is_request) == ("INVITE", True)


# WARNING lines as res_pjsip_outbound_registration.c (Asterisk 22) formats them: note its
# order, "received from '<server_uri>' on registration attempt to '<client_uri>'".
_REG = "[2026-11-26 12:00:{s:02d}] WARNING[77] res_pjsip_outbound_registration.c: "
REGISTRAR_LINES = {
    "timeout": "No response received from 'sip:p.example' on registration attempt to "
               "'sip:1@p.example', retrying in '60'",
    "401": "Temporal response '401' received from 'sip:p.example' on registration attempt "
           "to 'sip:1@p.example', retrying in '60'",
    "403": "403 Forbidden fatal response received from 'sip:p.example' on registration "
           "attempt to 'sip:1@p.example', retrying in '30' seconds",
    "404": "Fatal response '404' received from 'sip:p.example' on registration attempt to "
           "'sip:1@p.example', stopping outbound registration",
}


@pytest.mark.parametrize(("case", "says"), [
    ("timeout", "no answer from the registrar"), ("401", "refused the credentials (401)"),
    ("403", "403 Forbidden"), ("404", "answered 404"), (None, "covers a refusal")])
def test_rejected_registration_says_what_the_registrar_answered(
        tmp_path: Path, case: str | None, says: str) -> None:
    """AMI's Registry `Rejected` is the same for 401/403 and for no answer at all; only the
    log holds the SIP code, so the fix is chosen from the log's latest line."""
    state = PbxState(clock=lambda: 50.0)
    feed(state, "Event: EndpointList\nObjectName: prov\nOutboundAuths: prov-auth")
    feed(state, "Event: OutboundRegistrationDetail\nObjectName: prov-reg\n"
                "ServerUri: sip:p.example\nClientUri: sip:1@p.example\nEndpoint: prov\n"
                "Status: Rejected\nNextReg: 30")
    (tmp_path / "logger.conf").write_text("[general]\ndateformat = %F %T\n[logfiles]\n"
                                          f"{tmp_path}/messages.log => notice,warning\n")
    lines = [_REG.format(s=1) + REGISTRAR_LINES["timeout"]]  # an older attempt
    if case is not None:
        lines.append(_REG.format(s=9) + REGISTRAR_LINES[case])
    else:
        lines = []
    (tmp_path / "messages.log").write_text("\n".join(lines) + "\n")
    now = datetime(2026, 11, 26, 12, 1).timestamp()
    log = read_logs(tmp_path, 3600, now=now)
    [finding] = [f for f in diagnose(Evidence(state=state, log=log, now=now))
                 if f.code == "registration-failing"]
    assert says in finding.fix
    assert finding.details["code"] == (None if case is None else
                                       "" if case == "timeout" else case)
    if case is not None:
        assert REGISTRAR_LINES[case] in finding.evidence[-1].text
        assert finding.evidence[-1].file == str(tmp_path / "messages.log")


def test_another_registrations_line_is_not_taken() -> None:
    parser = LineParser(DateParser("%F %T"), "default")
    event = parser.parse(_REG.format(s=1) + REGISTRAR_LINES["403"].replace("sip:1@", "sip:2@"))
    assert event is not None
    assert event.kind == "registration"
    assert (event.fields["server"], event.fields["client"], event.fields["code"]) == \
        ("sip:p.example", "sip:2@p.example", "403")
    stopped = parser.parse(_REG.format(s=2) + "Maximum retries reached when attempting "
                           "outbound registration to 'sip:p.example' with client "
                           "'sip:1@p.example', stopping registration attempt")
    assert stopped is not None
    assert stopped.fields["outcome"] == "stopped"
    assert keep(stopped.text.encode())
