"""Media quality from RTCP: the E-model, and real RTCPSent events of the packet-loss lab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trunkconsole.ami.message import AmiMessage
from trunkconsole.calls.quality import QualityBook, estimate_mos, r_to_mos
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.quality import media_quality
from trunkconsole.model.state import PbxState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rtcp-sent-packet-loss.json"


def rtcp_sent() -> list[dict[str, str]]:
    """Four RTCPSent events from `lab scenario packet-loss` (Asterisk 22.10, 8% drop)."""
    return list(json.loads(FIXTURE.read_text()))


def test_r_to_mos_bounds_and_known_points() -> None:
    assert r_to_mos(-5) == 1.0
    assert r_to_mos(120) == 4.5
    assert r_to_mos(93.2) == pytest.approx(4.41, abs=0.01)  # G.711, no impairment
    assert r_to_mos(50) == pytest.approx(2.58, abs=0.01)


def test_codec_aware_mos() -> None:
    clean = estimate_mos("alaw", 0, 20)
    assert clean > 4.3
    # The reference's worked example: G.729 at 1% loss gives Ie,eff = 15.2.
    g729 = estimate_mos("g729", 1, 0)
    assert g729 == pytest.approx(r_to_mos(93.2 - (11 + 84 * 1 / 20)), abs=0.01)
    assert g729 < estimate_mos("ulaw", 1, 0)  # G.729 is worse at the same loss
    assert estimate_mos("ulaw", 8, 0) < 3.8 < estimate_mos("ulaw", 2, 0)
    assert estimate_mos("ulaw", 0, 400) < estimate_mos("ulaw", 0, 100)  # delay hurts
    assert estimate_mos("opus", 1, 0) == estimate_mos("ulaw", 1, 0)  # not in G.113


def test_real_rtcp_sent_gives_loss_and_jitter_from_the_provider() -> None:
    book = QualityBook()
    for index, fields in enumerate(rtcp_sent()):
        book.record(fields, 100.0 + 5 * index)
    (call,) = book.calls.values()
    assert call.channel.startswith("PJSIP/carrier-")
    assert call.sent_reports == 4
    assert call.received_reports == 0
    last = rtcp_sent()[-1]
    assert call.rx_loss == round(int(last["report0fractionlost"]) / 256 * 100, 1)
    assert call.rx_jitter_ms == round(int(last["report0iajitter"]) / 8000 * 1000, 1)
    assert call.tx_loss is None
    assert call.rtt_ms is None
    losses = [s.rx_loss for s in call.history]
    assert all(x is not None and 4 < x < 12 for x in losses)  # 8% random drop, per 5 s
    mos = call.mos()
    assert mos is not None
    assert 3.3 < mos < 4.2
    assert "G.711 values used" in call.basis  # codec unknown until channelstats says
    book.set_codecs({call.channel: "ulaw"})
    assert call.basis.endswith("ulaw")


def test_rtcp_received_gives_loss_towards_provider_rtt_and_one_way_audio() -> None:
    """The lab carrier (sipp) sends no RTCP, so RTCPReceived is built from the fields
    res_rtp_asterisk.c prints (reference calls-history-fleet.md §1): the only stand-in."""
    base = {k: v for k, v in rtcp_sent()[0].items() if not k.startswith(("report", "sent"))}
    book = QualityBook()
    for index, seq in enumerate((1000, 1250, 1250)):
        book.record(base | {"event": "RTCPReceived", "rtt": "0.042", "pt": "201(RR)",
                            "reportcount": "1", "report0fractionlost": "0",
                            "report0cumulativelost": "0", "report0highestsequence": str(seq),
                            "report0sequencenumbercycles": "0", "report0iajitter": "160"},
                    10.0 * index)
    (call,) = book.calls.values()
    assert call.rtt_ms == 42.0
    assert call.tx_jitter_ms == 20.0  # 160 samples at 8 kHz
    assert call.tx_seq_stalled == 1


def _state_with_call() -> tuple[PbxState, str]:
    state = PbxState(clock=lambda: 1000.0)
    first = rtcp_sent()[0]
    state.apply(AmiMessage({"event": "Newchannel", "channel": first["channel"],
                            "uniqueid": first["uniqueid"], "channelstate": "4",
                            "channelstatedesc": "Ring"}))
    return state, first["uniqueid"]


def test_state_feeds_quality_and_diagnoses_loss_and_missing_rtcp() -> None:
    state, uid = _state_with_call()
    for fields in rtcp_sent():
        # Only its quality cells change, not the channel's other fields.
        assert state.apply(AmiMessage(fields)) == {("quality", uid)}
    findings = {f.code: f for f in media_quality(Evidence(state=state))}
    assert set(findings) == {"loss-from-provider", "no-rtcp-from-provider"}
    loss = findings["loss-from-provider"]
    assert loss.title.startswith("trunk carrier: loss from the provider ")
    assert "(jitter 0 ms)" in loss.title
    assert 5 <= loss.details["loss_pct"] <= 11
    # An RTCP event for a channel the model does not know changes nothing.
    stray = rtcp_sent()[0] | {"uniqueid": "999.9"}
    assert state.apply(AmiMessage(stray)) == set()
    # After the hangup the figures stay readable for the channel detail.
    state.apply(AmiMessage({"event": "Hangup", "uniqueid": uid, "channel": "PJSIP/x-1",
                            "cause": "16"}))
    assert uid not in state.quality.calls
    assert state.quality.get(uid) is not None


def test_clean_call_raises_nothing() -> None:
    state, _uid = _state_with_call()
    for fields in rtcp_sent()[:3]:
        state.apply(AmiMessage(fields | {"report0fractionlost": "0", "report0iajitter": "8"}))
    assert [f.code for f in media_quality(Evidence(state=state))] == ["no-rtcp-from-provider"]
