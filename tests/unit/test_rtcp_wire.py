"""RTCP reports read off the wire: only the headers the quality book uses, the same values
as the full parser gives, and the same figures recorded either way.

tests/fixtures/ami/rtcp-sent-lab.raw holds two RTCPSent blocks as the lab's Asterisk 22
sent them (a call with media from `lab call --media`). The lab carrier (sipp) sends no
RTCP, so the RTCPReceived blocks here are those bytes with the headers Asterisk's
rtp_engine.c adds to a received report (PT 201(RR), RTT), and the report without a
block is one with its Report0 lines removed (ReportCount 0).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.ami.message import RTCP_HEADERS, AmiMessage, parse_block, parse_rtcp
from trunkconsole.ami.protocol import TrunkAmiProtocol
from trunkconsole.calls.quality import QualityBook

RAW = Path(__file__).parent.parent / "fixtures" / "ami" / "rtcp-sent-lab.raw"


def sent_blocks() -> list[bytes]:
    return [b for b in RAW.read_bytes().split(b"\r\n\r\n") if b]


def received(block: bytes, rtt: str = "0.0420", fraction: str = "12") -> bytes:
    lines = block.replace(b"Event: RTCPSent", b"Event: RTCPReceived").split(b"\r\n")
    lines = [b"PT: 201(RR)" if line.startswith(b"PT: ") else
             b"Report0FractionLost: " + fraction.encode()
             if line.startswith(b"Report0FractionLost: ") else line for line in lines]
    return b"\r\n".join([*lines[:17], b"RTT: " + rtt.encode(), *lines[17:]])


def without_block(block: bytes) -> bytes:
    lines = [line for line in block.split(b"\r\n") if not line.startswith(b"Report0")]
    return b"\r\n".join(b"ReportCount: 0" if line.startswith(b"ReportCount") else line
                        for line in lines)


def variants() -> list[bytes]:
    sent = sent_blocks()
    return [*sent, *(received(b) for b in sent), without_block(sent[0]),
            without_block(received(sent[1]))]


def wanted(message: AmiMessage) -> dict[str, str]:
    keys = {"event"} | {key for _mark, key in RTCP_HEADERS}
    return {k: v for k, v in message.fields.items() if k in keys}


def test_the_fixture_is_what_the_lab_sent() -> None:
    blocks = sent_blocks()
    assert len(blocks) == 2
    for block in blocks:
        full = parse_block(block.decode())
        assert full is not None
        assert full.event == "RTCPSent"
        assert full.get("report0fractionlost") == "0"
        assert len(full.fields) > 30  # every header of the real event


@pytest.mark.parametrize("block", variants())
def test_fast_parse_gives_the_full_parsers_values(block: bytes) -> None:
    fast = parse_rtcp(block)
    full = parse_block(block.decode())
    assert fast is not None
    assert full is not None
    assert fast.fields == wanted(full)
    assert fast.lists == {}


def test_values_keep_their_spacing_and_bad_bytes_are_replaced() -> None:
    block = sent_blocks()[0].replace(b"Channel: PJSIP/carrier-00000000",
                                     b"Channel:  PJSIP/\xffcarrier")
    block = block + b"\r\nRTT: "  # an empty value on the last line
    fast, full = parse_rtcp(block), parse_block(block.decode("utf-8", "replace"))
    assert fast is not None
    assert full is not None
    assert fast.get("channel") == " PJSIP/\ufffdcarrier" == full.get("channel")
    assert fast.get("rtt") == "" == full.get("rtt")


@pytest.mark.parametrize("block", [
    b"Event: RTCPSentX\r\nUniqueid: 1.1",
    b"Event: Newstate\r\nUniqueid: 1.1",
    b"Response: Success\r\nActionID: 1",
    b"Event: RTCP",
])
def test_other_blocks_are_not_taken(block: bytes) -> None:
    assert parse_rtcp(block) is None


def test_the_book_records_the_same_figures_either_way() -> None:
    fast_book, full_book = QualityBook(), QualityBook()
    for at, block in enumerate([*variants(), received(sent_blocks()[0], "0.1", "40")]):
        fast, full = parse_rtcp(block), parse_block(block.decode())
        assert fast is not None
        assert full is not None
        assert fast_book.record(fast.fields, float(at)) is not None
        assert full_book.record(full.fields, float(at)) is not None
    [uid] = fast_book.calls
    a, b = fast_book.calls[uid], full_book.calls[uid]
    assert a == b
    assert (a.sent_reports, a.received_reports) == (3, 4)
    assert a.rtt_ms == 100.0
    assert a.tx_loss == round(40 / 256 * 100, 1)
    assert a.tx_highest_seq is not None
    assert list(a.history) == list(b.history)


class _Transport:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def write(self, _data: bytes) -> None:
        """Nothing is sent in this test."""


def _protocol(dispatch_events: bool) -> tuple[TrunkAmiProtocol, list[AmiMessage]]:
    protocol = TrunkAmiProtocol()
    protocol.connection_made(_Transport())
    got: list[AmiMessage] = []
    protocol.listener = got.append
    protocol.dispatch_events = dispatch_events
    return protocol, got


def test_the_reader_hands_the_model_only_the_needed_headers() -> None:
    """Bytes as Asterisk wrote them, fed to the protocol (no socket needed: no fault)."""
    protocol, got = _protocol(dispatch_events=False)
    stream = b"Asterisk Call Manager/9.0.0\r\n" + RAW.read_bytes()
    protocol.data_received(stream + b"Event: Newstate\r\nUniqueid: 1.2\r\nChannel: x\r\n\r\n")
    assert [m.event for m in got] == ["RTCPSent", "RTCPSent", "Newstate"]
    assert set(got[0].fields) == {"event"} | {key for _mark, key in RTCP_HEADERS} - {"rtt"}
    assert got[2].fields == {"event": "Newstate", "uniqueid": "1.2", "channel": "x"}


def test_a_subscriber_to_every_event_gets_them_whole() -> None:
    protocol, got = _protocol(dispatch_events=True)
    protocol.data_received(b"Asterisk Call Manager/9.0.0\r\n" + RAW.read_bytes())
    assert len(got) == 2
    assert "report0lsr" in got[0].fields
    assert "mes" in got[0].fields
