"""Media quality per call from Asterisk's RTCP: loss each way, jitter, RTT, estimated MOS.

AMI (read class `reporting`; res_rtp_asterisk.c, main/rtp_engine.c):
- `RTCPSent` is the report Asterisk sends, once per rtcpinterval (rtp.conf, 5 s by
  default). Its report block is how Asterisk receives the provider's stream: the loss
  and jitter *from* the provider.
- `RTCPReceived` is a report the provider sent: its block is how the provider receives
  ours (loss and jitter *to* the provider); Asterisk adds `RTT` (seconds) from LSR/DLSR.
- `FractionLost` is the raw 8-bit fraction (/256) since the previous report; `IAJitter`
  is in timestamp units (samples: /8000 for G.711, /16000... by the codec's RTP clock).
A provider that sends no RTCP leaves only RTCPSent: loss from the provider is still
known, loss towards it and RTT are not ("no RTCP from the provider").

MOS is the ITU-T G.107 E-model, simplified (reference calls-history-fleet.md §6):
R = 93.2 - Id - Ie,eff, Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl + Bpl), with Ie and Bpl per
codec from G.113 Appendix I; it is an estimate, not a measurement, and Asterisk's own MES
is a different score.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

ENDED_KEPT = 500
HISTORY = 120  # samples kept per call (one per report: 10 minutes at 5 s)
# (Ie, Bpl) from G.113 Appendix I as cited by the E-model implementations; G.711 with
# packet loss concealment. Codecs not in the table use G.711's values (said in `basis`).
CODEC_IMPAIRMENT = {"ulaw": (0.0, 25.1), "alaw": (0.0, 25.1), "g729": (11.0, 19.0),
                    "g723": (15.0, 16.1)}
CLOCK_RATE = {"g722": 8000, "opus": 48000, "silk": 16000, "speex16": 16000, "slin16": 16000}
DEFAULT_CLOCK = 8000
# Report block 0's headers (lower case) that record() reads; LSR/DLSR are not needed.
BLOCK_KEYS = ("report0fractionlost", "report0cumulativelost", "report0highestsequence",
              "report0sequencenumbercycles", "report0iajitter")


def r_to_mos(r: float) -> float:
    """G.107 Annex B: MOS from the rating factor R."""
    if r < 0:
        return 1.0
    if r > 100:
        return 4.5
    return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6


def delay_impairment(one_way_ms: float) -> float:
    """Id, simplified: 0.024 d + 0.11 (d - 177.3) above 177.3 ms."""
    d = max(0.0, one_way_ms)
    return 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)


def estimate_mos(codec: str, loss_pct: float, one_way_ms: float) -> float:
    """Estimated MOS for a codec (Asterisk name: ulaw, alaw, g729 ...), random loss in
    percent and one-way mouth-to-ear delay in ms."""
    ie, bpl = CODEC_IMPAIRMENT.get(codec.lower(), CODEC_IMPAIRMENT["ulaw"])
    ppl = max(0.0, min(100.0, loss_pct))
    ie_eff = ie + (95 - ie) * ppl / (ppl + bpl)
    return round(r_to_mos(93.2 - delay_impairment(one_way_ms) - ie_eff), 2)


@dataclass(frozen=True)
class Sample:
    """One report's figures (None where that report does not say)."""

    at: float
    rx_loss: float | None = None  # % lost from the provider (RTCPSent)
    tx_loss: float | None = None  # % lost towards the provider (RTCPReceived)
    rx_jitter_ms: float | None = None
    tx_jitter_ms: float | None = None
    rtt_ms: float | None = None
    mos: float | None = None


@dataclass
class CallQuality:
    """What the RTCP of one channel says, latest figures first-class, history for a plot."""

    uniqueid: str
    channel: str
    codec: str = ""  # from channelstats when known
    rx_loss: float | None = None
    tx_loss: float | None = None
    rx_jitter_ms: float | None = None
    tx_jitter_ms: float | None = None
    rtt_ms: float | None = None
    rx_cumulative_lost: int = 0
    tx_cumulative_lost: int = 0
    sent_reports: int = 0
    received_reports: int = 0
    first_report_at: float = 0.0
    last_report_at: float = 0.0
    tx_highest_seq: int | None = None  # the provider's view of our stream
    tx_seq_stalled: int = 0  # consecutive received reports without progress
    history: deque[Sample] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def clock_rate(self) -> int:
        return CLOCK_RATE.get(self.codec.lower(), DEFAULT_CLOCK)

    @property
    def basis(self) -> str:
        """How the MOS was estimated (codec constants used)."""
        known = self.codec.lower() in CODEC_IMPAIRMENT
        return (f"E-model (G.107, simplified), {self.codec or 'codec unknown'}"
                + ("" if known else ": G.711 values used"))

    def mos(self) -> float | None:
        """Worse direction of the two (what the worse-off party hears); None before any
        report says anything about loss."""
        losses = [x for x in (self.rx_loss, self.tx_loss) if x is not None]
        if not losses:
            return None
        jitter = max((x for x in (self.rx_jitter_ms, self.tx_jitter_ms) if x is not None),
                     default=0.0)
        one_way = (self.rtt_ms or 0.0) / 2 + 2 * jitter  # a jitter buffer of twice jitter
        return estimate_mos(self.codec or "ulaw", max(losses), one_way)

    def to_json(self) -> dict[str, object]:
        return {"channel": self.channel, "codec": self.codec or None,
                "loss_from_provider_pct": self.rx_loss, "loss_to_provider_pct": self.tx_loss,
                "jitter_from_provider_ms": self.rx_jitter_ms,
                "jitter_to_provider_ms": self.tx_jitter_ms, "rtt_ms": self.rtt_ms,
                "mos": self.mos(), "mos_basis": self.basis,
                "rtcp_sent": self.sent_reports, "rtcp_received": self.received_reports}


def _float(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


class QualityBook:
    """CallQuality per channel (Uniqueid), fed with RTCPSent/RTCPReceived fields; the
    last ENDED_KEPT ended calls stay readable (channel detail after the hangup)."""

    def __init__(self) -> None:
        self.calls: dict[str, CallQuality] = {}
        self.ended: OrderedDict[str, CallQuality] = OrderedDict()

    def record(self, fields: dict[str, str], now: float) -> CallQuality | None:
        """Apply one RTCP event (lower-case keys, as PbxState has them).

        Reads only `event`, `uniqueid`, `channel`, `rtt` and report block 0's figures
        (ami/message.py RTCP_HEADERS parses just these off the wire)."""
        event = fields.get("event", "")
        sent = event == "RTCPSent"
        uid = fields.get("uniqueid", "")
        if not uid or not (sent or event == "RTCPReceived"):
            return None
        call = self.calls.get(uid)
        if call is None:
            call = self.calls[uid] = CallQuality(uid, fields.get("channel", ""))
            call.first_report_at = now
        call.last_report_at = now
        # A report without a block (ReportCount 0) has no Report0 headers at all.
        fraction = _float(fields.get("report0fractionlost"))
        jitter_samples = _float(fields.get("report0iajitter"))
        cumulative = _float(fields.get("report0cumulativelost"))
        block = any(key in fields for key in BLOCK_KEYS)
        loss = None if fraction is None else round(fraction / 256 * 100, 1)
        jitter = None if jitter_samples is None else round(
            jitter_samples / call.clock_rate * 1000, 1)
        if sent:
            call.sent_reports += 1
            if block:
                call.rx_loss, call.rx_jitter_ms = loss, jitter
                call.rx_cumulative_lost = int(cumulative or 0)
            sample = Sample(now, rx_loss=call.rx_loss, rx_jitter_ms=call.rx_jitter_ms,
                            mos=call.mos())
        else:
            call.received_reports += 1
            rtt = _float(fields.get("rtt"))
            if rtt is not None:
                call.rtt_ms = round(rtt * 1000, 1)
            if block:
                call.tx_loss, call.tx_jitter_ms = loss, jitter
                call.tx_cumulative_lost = int(cumulative or 0)
                seq = int(_float(fields.get("report0highestsequence")) or 0) + 65536 * int(
                    _float(fields.get("report0sequencenumbercycles")) or 0)
                call.tx_seq_stalled = call.tx_seq_stalled + 1 if (
                    call.tx_highest_seq is not None and seq <= call.tx_highest_seq) else 0
                call.tx_highest_seq = seq
            sample = Sample(now, tx_loss=call.tx_loss, tx_jitter_ms=call.tx_jitter_ms,
                            rtt_ms=call.rtt_ms, mos=call.mos())
        call.history.append(sample)
        return call

    def drop(self, uid: str) -> None:
        """The channel hung up: keep its figures among the recently ended."""
        call = self.calls.pop(uid, None)
        if call is not None:
            self.ended[uid] = call
            while len(self.ended) > ENDED_KEPT:
                self.ended.popitem(last=False)

    def get(self, uid: str) -> CallQuality | None:
        return self.calls.get(uid) or self.ended.get(uid)

    def set_codecs(self, codecs: dict[str, str]) -> None:
        """Codecs by channel name (from `pjsip show channelstats`): MOS and jitter units
        depend on them."""
        for call in self.calls.values():
            codec = codecs.get(call.channel)
            if codec:
                call.codec = codec


@dataclass(frozen=True)
class CallSummary:
    """One call's media quality at hangup: the means over its RTCP intervals, and its
    worst interval (lowest MOS, highest loss each way)."""

    codec: str
    rx_loss: float | None
    tx_loss: float | None
    rx_jitter_ms: float | None
    tx_jitter_ms: float | None
    rtt_ms: float | None
    mos: float | None
    worst_mos: float | None
    worst_at: float | None
    worst_rx_loss: float | None
    worst_tx_loss: float | None
    rtcp_sent: int
    rtcp_received: int


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def summarise(call: CallQuality) -> CallSummary:
    """Means over the call's reports (each one interval of about rtcpinterval), the MOS of
    those means, and the worst interval; a call longer than HISTORY reports is summarised
    over its last HISTORY."""
    samples = list(call.history)
    rx = [s.rx_loss for s in samples if s.rx_loss is not None]
    tx = [s.tx_loss for s in samples if s.tx_loss is not None]
    rx_j = [s.rx_jitter_ms for s in samples if s.rx_jitter_ms is not None]
    tx_j = [s.tx_jitter_ms for s in samples if s.tx_jitter_ms is not None]
    rtts = [s.rtt_ms for s in samples if s.rtt_ms is not None]
    rx_loss, tx_loss, rtt = _mean(rx), _mean(tx), _mean(rtts)
    jitter = max((x for x in (_mean(rx_j), _mean(tx_j)) if x is not None), default=0.0)
    losses = [x for x in (rx_loss, tx_loss) if x is not None]
    mos = estimate_mos(call.codec or "ulaw", max(losses), (rtt or 0.0) / 2 + 2 * jitter) \
        if losses else None
    rated = [s for s in samples if s.mos is not None]
    worst = min(rated, key=lambda s: s.mos or 0.0) if rated else None
    return CallSummary(call.codec, rx_loss, tx_loss, _mean(rx_j), _mean(tx_j), rtt, mos,
                       worst.mos if worst else None, worst.at if worst else None,
                       max(rx, default=None), max(tx, default=None),
                       call.sent_reports, call.received_reports)
