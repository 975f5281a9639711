"""Ladder, SDP summary and pcap export from real PJSIP history (lab capture)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from trunkconsole.calls.ladder import arrow, did_numbers, group_calls, render_ladder
from trunkconsole.calls.pcap import split_hostport, write_pcap
from trunkconsole.calls.sdp import parse_sdp
from trunkconsole.calls.sip import parse_sip, printable, uri_of, uri_user
from trunkconsole.calls.sip_history import SipMessage
from trunkconsole.errors import OperatorError

from .history_fixture import load_history


def flows_by_outcome() -> dict[str, object]:
    return {f.outcome(): f for f in group_calls(load_history("lab-calls.json"))}


def test_calls_grouped_by_call_id_with_direction_numbers_and_outcome() -> None:
    flows = group_calls(load_history("lab-calls.json"))
    assert [f.summary() for f in flows] == [
        "inbound INVITE 15557770000 -> 15551230002: 200 OK",
        "inbound INVITE 15557770000 -> 15551230001: 401 Unauthorized",
        "inbound INVITE 15557770000 -> 15559990000: 404 Not Found",
        "outbound INVITE 15551239999 -> 15550001111: 403 Forbidden",
        "outbound OPTIONS carrier -> ?: 200 OK",
        "outbound INVITE 15551230000 -> 15550001112: 200 OK",
    ]
    inbound = flows[0]
    assert inbound.peer == "203.0.113.10:5061"
    assert inbound.local == "203.0.113.1:5060"
    assert [r.label for r in inbound.rungs] == [
        "INVITE (SDP)", "100 Trying", "200 OK (SDP)", "ACK", "BYE", "200 OK"]
    assert [r.from_peer for r in inbound.rungs] == [True, False, False, True, True, False]
    assert [r.offset for r in inbound.rungs] == [0, 0, 0, 0, 1, 1]


def test_retransmission_marked_once() -> None:
    rejected = group_calls(load_history("lab-calls.json"))[3]
    assert [(r.label, r.retransmission) for r in rejected.rungs] == [
        ("INVITE (SDP)", False), ("INVITE (SDP)", True), ("403 Forbidden", False),
        ("ACK", False)]
    lines = render_ladder(rejected)
    assert sum(1 for line in lines if " R|" in line) == 1
    assert "retransmission" in lines[4]


def test_sdp_summary_of_offer_and_answer() -> None:
    inbound = group_calls(load_history("lab-calls.json"))[0]
    offer, answer = inbound.rungs[0].sdp, inbound.rungs[2].sdp
    assert offer is not None
    assert answer is not None
    assert offer.describe() == "203.0.113.10:6004 PCMA sendrecv"
    assert answer.describe() == "203.0.113.1:10018 PCMA sendrecv"
    outbound = group_calls(load_history("lab-calls.json"))[3]
    assert outbound.rungs[0].sdp is not None
    audio = outbound.rungs[0].sdp.audio
    assert audio is not None
    assert audio.codecs == ("PCMU", "PCMA", "telephone-event")
    assert audio.voice_codecs == ("PCMU", "PCMA")


def test_search_by_number_and_call_id() -> None:
    flows = group_calls(load_history("lab-calls.json"))
    assert [f.called for f in flows if f.matches("+1 555 123 0002")] == ["15551230002"]
    assert len([f for f in flows if f.matches("15557770000")]) == 3  # the caller
    assert [f.call_id for f in flows if f.matches("a7df7a76")] == [
        "a7df7a76-1375-4d96-a317-eeece1bbbf38"]
    assert not [f for f in flows if f.matches("999999999")]


def test_did_numbers_from_each_header() -> None:
    text = ("INVITE sip:15550000000@203.0.113.1 SIP/2.0\nTo: <sip:15550000000@203.0.113.1>\n"
            "P-Called-Party-ID: <sip:+15551230009@carrier.example;user=phone>\n"
            "Diversion: <tel:+15551230008>;reason=unconditional, "
            "\"Old, Number\" <sip:15551230007@x>;reason=user-busy\nCall-ID: d1\n"
            "CSeq: 1 INVITE\n")
    assert did_numbers(parse_sip(text)) == [
        ("Request-URI", "15550000000"), ("To", "15550000000"),
        ("P-Called-Party-ID", "+15551230009"), ("Diversion", "+15551230008"),
        ("Diversion", "15551230007")]


@pytest.mark.parametrize(("value", "uri", "user"), [
    ('"Carrier Test" <sip:15557770000@203.0.113.10>;tag=1', "sip:15557770000@203.0.113.10",
     "15557770000"),
    ("sip:alice@example.com;tag=x", "sip:alice@example.com", "alice"),
    ("<tel:+15551230000;phone-context=x>", "tel:+15551230000;phone-context=x", "+15551230000"),
    ("<sip:203.0.113.10:5060>", "sip:203.0.113.10:5060", ""),
    ('"<sip:fake@x>" <sips:bob@example.com>', "sips:bob@example.com", "bob"),
    ('"A \\"q\\" <sip:f@x>" <sip:+4930123@x;user=phone>', "sip:+4930123@x;user=phone",
     "+4930123"),
])
def test_uri_parts(value: str, uri: str, user: str) -> None:
    assert uri_of(value) == uri
    assert uri_user(uri) == user


def test_compact_headers_and_folding() -> None:
    sip = parse_sip("SIP/2.0 180 Ringing\ni: abc\nv: SIP/2.0/UDP 192.0.2.1:5060;"
                    "branch=z9hG4bK1;received=198.51.100.7;rport=40000\nf: <sip:a@b>;tag=1\n"
                    "t: <sip:c@d>\n  ;tag=2\nCSeq: 7 INVITE\n")
    assert sip.call_id == "abc"
    assert sip.status == 180
    assert sip.method == "INVITE"
    assert sip.get("To").endswith(";tag=2")
    via = sip.top_via
    assert via is not None
    assert (via.host, via.port, via.received, via.rport) == (
        "192.0.2.1", 5060, "198.51.100.7", "40000")


def test_wire_bytes_restore_crlf_and_one_content_length() -> None:
    invite = load_history("lab-calls.json")[0]
    assert invite.text.count("Content-Length") == 2  # as pjsip printed it
    wire = parse_sip(invite.text).wire_bytes()
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.count(b"Content-Length") == 1
    assert head.count(b"Content-Type") == 1
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"\n" not in head.replace(b"\r\n", b"")
    assert parse_sdp(body.decode()) is not None


def test_untrusted_text_cannot_drive_the_terminal() -> None:
    hostile = SipMessage(1, 1, True, "192.0.2.9:5060", "INVITE sip:1@x SIP/2.0",
                         "INVITE sip:1@x SIP/2.0\nCall-ID: \x1b[2Jevil\x9b31m\nCSeq: 1 INVITE\n"
                         "From: <sip:\x1b]0;title\x07@x>\n")
    lines = render_ladder(group_calls([hostile])[0])
    assert not any(ch in line for line in lines for ch in "\x1b\x9b\x07")
    assert printable("a\tb\nc\x1b") == "a\tb\nc\ufffd"


def test_arrow_points_the_right_way() -> None:
    flows = group_calls(load_history("lab-calls.json"))
    received, sent = flows[0].rungs[0], flows[0].rungs[1]
    assert arrow(received).endswith(">|")
    assert arrow(sent).startswith("|<")
    assert len(arrow(received)) == len(arrow(sent))


@pytest.mark.parametrize(("value", "expected"), [
    ("203.0.113.10:5061", ("203.0.113.10", 5061)), ("[2001:db8::1]:5060", ("2001:db8::1", 5060)),
    ("2001:db8::1", ("2001:db8::1", 5060)), ("198.51.100.1", ("198.51.100.1", 5060)),
])
def test_split_hostport(value: str, expected: tuple[str, int]) -> None:
    assert split_hostport(value) == expected


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark (Debian package) missing")
def test_pcap_opens_in_tshark_with_real_addresses(tmp_path: Path) -> None:
    flows = group_calls(load_history("lab-calls.json"))
    out = tmp_path / "calls.pcap"
    assert write_pcap(flows, out) == 23
    fields = subprocess.run(
        ["tshark", "-r", str(out), "-T", "fields", "-e", "ip.src", "-e", "udp.srcport",
         "-e", "ip.dst", "-e", "udp.dstport", "-e", "sip.Call-ID", "-e", "sip.CSeq.method"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(fields) == 23
    assert fields[0].split("\t") == ["203.0.113.10", "5061", "203.0.113.1", "5060",
                                     "1-18531@203.0.113.10", "INVITE"]
    assert fields[2].split("\t")[:4] == ["203.0.113.1", "5060", "203.0.113.10", "5061"]
    stats = subprocess.run(["tshark", "-r", str(out), "-q", "-z", "sip,stat"],
                           capture_output=True, text=True, check=True).stdout
    assert "Number of SIP messages: 23" in stats
    assert "Number of resent SIP messages: 1" in stats  # Wireshark agrees on the retransmission
    malformed = subprocess.run(["tshark", "-r", str(out), "-Y", "_ws.malformed"],
                               capture_output=True, text=True, check=True).stdout
    assert malformed.strip() == ""


def test_pcap_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    hostname = SipMessage(1, 1, True, "sip.example.net:5060", "OPTIONS sip:x SIP/2.0",
                          "OPTIONS sip:x SIP/2.0\nCall-ID: h\nCSeq: 1 OPTIONS\n")
    with pytest.raises(OperatorError, match="not an IP address"):
        write_pcap(group_calls([hostname]), tmp_path / "x.pcap")
    with pytest.raises(OperatorError, match="no SIP messages"):
        write_pcap([], tmp_path / "y.pcap")
    assert not list(tmp_path.iterdir())
