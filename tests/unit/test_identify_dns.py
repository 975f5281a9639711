"""Hostname matches against DNS now (live check): agree, moved, no longer resolving.

The resolver is a fake: the addresses a provider's name resolves to cannot be moved on
demand on this machine (its DNS and /etc/hosts are not ours to change, and the lab's
Asterisk resolves inside the shared cached root filesystem). What Asterisk loaded comes as
real IdentifyDetail event text; tests/lab/test_freepbx.py checks the agreeing case against
the lab's Asterisk with a name both sides resolve (localhost).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.ami.message import parse_block
from trunkconsole.diagnose import identify_dns
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.findings import Finding, Severity
from trunkconsole.model.state import IDENTIFIES, PbxState
from trunkconsole.pjsip.matches import resolve_host
from trunkconsole.pjsip.system import load_asterisk

PJSIP = """\
[carrier]
type=endpoint
context=from-pstn
disallow=all
allow=ulaw
identify_by=ip
rewrite_contact=yes
rtp_symmetric=yes

[carrier]
type=identify
endpoint=carrier
match=sip.carrier.example
match=198.51.100.7
"""


def feed(state: PbxState, text: str) -> None:
    message = parse_block(text.strip().replace("\n", "\r\n"))
    assert message is not None
    state.apply(message)


def live(tmp_path: Path, loaded: str, dns: dict[str, set[str] | None],
         monkeypatch: pytest.MonkeyPatch, *, complete: bool = True) -> list[Finding]:
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    state = PbxState(clock=lambda: 100.0)
    feed(state, "Event: EndpointDetail\nObjectName: carrier\nContext: from-pstn\n"
                "Aors: carrier\nAuth: \nOutboundAuth: ")
    feed(state, "Event: IdentifyDetail\nObjectName: carrier\nEndpoint: carrier\n"
                f"Match: {loaded}")
    feed(state, "Event: EndpointDetailComplete\nEventList: Complete")
    if complete:
        state.mark_listed(IDENTIFIES)
    monkeypatch.setattr(identify_dns, "resolve_host", dns.get)
    ev = Evidence(config=load_asterisk(tmp_path), state=state, now=100.0)
    return identify_dns.hostname_drift(ev)


LOADED = "203.0.113.10/255.255.255.255,198.51.100.7/255.255.255.255"


def test_agreeing_name_raises_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert live(tmp_path, LOADED, {"sip.carrier.example": {"203.0.113.10"}},
                monkeypatch) == []


def test_moved_name_is_a_warning_naming_both_sets(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    [finding] = live(tmp_path, LOADED,
                     {"sip.carrier.example": {"203.0.113.20", "2001:db8::20"}}, monkeypatch)
    assert finding.code == "match-hostname-stale"
    assert finding.severity == Severity.WARNING
    assert finding.domain == "live"
    assert "Asterisk matches 198.51.100.7, 203.0.113.10" in finding.title
    assert "resolves now to 198.51.100.7, 203.0.113.20, 2001:db8::20" in finding.title
    assert "calls from 203.0.113.20, 2001:db8::20 are not taken for trunk carrier" in \
        finding.title
    assert "reload res_pjsip" in finding.fix
    assert finding.details["loaded"] == ["198.51.100.7/32", "203.0.113.10/32"]


def test_shrunk_name_says_the_old_address_is_still_matched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [finding] = live(tmp_path, "203.0.113.10/255.255.255.255,203.0.113.11/255.255.255.255,"
                     "198.51.100.7/255.255.255.255",
                     {"sip.carrier.example": {"203.0.113.10"}}, monkeypatch)
    assert "203.0.113.11 no longer belongs to the name and is still taken" in finding.title


def test_unresolvable_name_is_a_warning(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    [finding] = live(tmp_path, LOADED, {"sip.carrier.example": None}, monkeypatch)
    assert finding.code == "match-hostname-unresolved"
    assert finding.severity == Severity.WARNING
    assert "rejects the whole identify" in finding.title
    assert finding.evidence[0].text == "match=sip.carrier.example"


def test_nothing_until_every_identify_was_read(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert live(tmp_path, LOADED, {"sip.carrier.example": None}, monkeypatch,
                complete=False) == []


def test_the_real_resolver_answers_localhost_and_not_an_invalid_name() -> None:
    # RFC 6761: .invalid never resolves; localhost always does, without the network.
    assert resolve_host("no-such-host.invalid") is None
    assert "127.0.0.1" in (resolve_host("localhost") or set())


def test_identify_rejected_at_load_is_a_warning(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Asterisk shows the trunk but not its identify: the name failed at the last reload.
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    state = PbxState(clock=lambda: 100.0)
    feed(state, "Event: EndpointDetail\nObjectName: carrier\nContext: from-pstn\n"
                "Aors: carrier\nAuth: \nOutboundAuth: ")
    feed(state, "Event: EndpointDetailComplete\nEventList: Complete")
    state.mark_listed(IDENTIFIES)
    monkeypatch.setattr(identify_dns, "resolve_host",
                        {"sip.carrier.example": {"203.0.113.10"}}.get)
    ev = Evidence(config=load_asterisk(tmp_path), state=state, now=100.0)
    [finding] = identify_dns.hostname_drift(ev)
    assert finding.code == "match-hostname-unresolved"
    assert finding.severity == Severity.WARNING
    assert "identify carrier is not loaded in Asterisk" in finding.title
    assert "resolves now to 203.0.113.10" in finding.title
    assert finding.details["loaded"] is False
