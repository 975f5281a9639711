"""What callers hear, from Asterisk's RTCP: loss from the provider, one-way audio, no RTCP.

Figures come from PbxState.quality (AMI RTCPSent/RTCPReceived, calls/quality.py). Loss
is the mean of the per-report fractions over the call so far (one report per 5 s), so
one bad interval does not raise a finding; the thresholds are where G.711 calls start
to sound broken (about 2-3% random loss, 30 ms jitter; G.113/G.114 practice).
"""

from __future__ import annotations

from collections.abc import Iterable
from statistics import mean

from trunkconsole.calls.quality import CallQuality
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity

LOSS_WARN = 2.0  # %
LOSS_CRIT = 5.0
JITTER_WARN = 30.0  # ms
MIN_REPORTS = 2  # Asterisk's own reports before judging (about 10 s of call)
MAX_LINES = 5


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(mean(present), 1) if present else None


def media_quality(ev: Evidence) -> list[Finding]:
    """Loss/jitter from the provider, one-way audio, and a provider that sends no RTCP."""
    if ev.state is None:
        return []
    by_trunk: dict[str, list[CallQuality]] = {}
    for uid, quality in ev.state.quality.calls.items():
        channel = ev.state.channels.get(uid)
        if channel is not None and channel.endpoint:
            by_trunk.setdefault(channel.endpoint, []).append(quality)
    findings: list[Finding] = []
    for trunk, calls in sorted(by_trunk.items()):
        findings += _loss(trunk, calls)
        findings += _one_way(trunk, calls)
        findings += _no_rtcp(trunk, calls)
    return findings


def _loss(trunk: str, calls: list[CallQuality]) -> list[Finding]:
    bad = []
    for call in calls:
        if call.sent_reports < MIN_REPORTS:
            continue
        loss = _mean(s.rx_loss for s in call.history)
        jitter = _mean(s.rx_jitter_ms for s in call.history)
        if (loss or 0) >= LOSS_WARN or (jitter or 0) >= JITTER_WARN:
            bad.append((call, loss or 0.0, jitter or 0.0))
    if not bad:
        return []
    worst_loss = max(loss for _c, loss, _j in bad)
    worst_jitter = max(jitter for _c, _l, jitter in bad)
    lines = [Line(f"{c.channel}: {loss:g}% of the provider's RTP lost, jitter {jitter:g} ms, "
                  f"MOS {c.mos() or '-'} ({c.sent_reports} RTCP reports from Asterisk)")
             for c, loss, jitter in bad[:MAX_LINES]]
    return [Finding(
        code="loss-from-provider", short="loss from provider",
        severity=Severity.CRITICAL if worst_loss >= LOSS_CRIT else Severity.WARNING,
        domain="live", subject=trunk,
        title=f"trunk {trunk}: loss from the provider {worst_loss:.0f}% "
              f"(jitter {worst_jitter:.0f} ms) on {len(bad)} call(s): callers hear gaps",
        evidence=tuple(lines),
        fix=("the loss happens before Asterisk: on the provider's side or the path to this "
             "host (check the uplink's load, the provider's status, a capture on this "
             "host's interface); if only one trunk suffers, send the evidence to that "
             "provider"),
        details={"trunk": trunk, "loss_pct": worst_loss, "jitter_ms": worst_jitter,
                 "channels": [c.channel for c, _l, _j in bad]})]


def _one_way(trunk: str, calls: list[CallQuality]) -> list[Finding]:
    """The provider's own reports say our RTP does not reach it (its highest sequence
    number stops moving, or it reports nearly everything lost)."""
    deaf = [c for c in calls if c.received_reports >= MIN_REPORTS
            and (c.tx_seq_stalled >= 1 or (c.tx_loss or 0) >= 90)]
    if not deaf:
        return []
    return [Finding(
        code="one-way-audio", short="one-way audio", severity=Severity.CRITICAL, domain="live",
        subject=trunk,
        title=f"trunk {trunk}: one-way audio on {len(deaf)} call(s): the provider receives "
              "no audio from Asterisk",
        evidence=tuple(Line(f"{c.channel}: the provider's RTCP reports "
                            + (f"{c.tx_loss:g}% lost" if c.tx_loss is not None else "")
                            + (", its highest sequence number stopped moving"
                               if c.tx_seq_stalled else ""))
                       for c in deaf[:MAX_LINES]),
        fix=("our RTP leaves for the address in the provider's SDP but does not arrive: "
             "check outbound firewall/NAT, that the SDP we send carries our public address "
             "(external_media_address), and rtp_symmetric=yes on the endpoint"),
        details={"trunk": trunk, "channels": [c.channel for c in deaf]})]


def _no_rtcp(trunk: str, calls: list[CallQuality]) -> list[Finding]:
    silent = [c for c in calls if c.sent_reports >= MIN_REPORTS + 1 and not c.received_reports]
    if not silent:
        return []
    return [Finding(
        code="no-rtcp-from-provider", short="no RTCP from provider", severity=Severity.INFO,
        domain="live", subject=trunk,
        title=f"trunk {trunk}: no RTCP from the provider on {len(silent)} call(s): loss "
              "towards it and the round trip are unknown",
        evidence=tuple(Line(f"{c.channel}: Asterisk sent {c.sent_reports} RTCP reports, "
                            "received none") for c in silent[:MAX_LINES]),
        fix=("many providers send no RTCP; if this one should, check that UDP to the RTP "
             "port + 1 is let in (the firewall's RTP range must include the odd ports)"),
        details={"trunk": trunk, "channels": [c.channel for c in silent]})]
