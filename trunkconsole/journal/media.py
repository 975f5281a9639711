"""Media quality in the journal's history: poor calls on the timeline, per-trunk figures.

Rows come from call_quality (one per call at hangup, journal/recorder.py): the means over
the call's RTCP intervals and its worst interval.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# A call goes on the timeline when its media was poor: G.711 with PLC scores MOS 4.0 at
# about 4% random loss (E-model, calls/quality.py), 3.6 at about 8%.
POOR_MOS = 4.0
POOR_INTERVAL_MOS = 3.6
NOTABLE_JITTER_MS = 10.0  # below this a jitter buffer hides it: not worth a word


def is_poor(mos: float | None, worst_mos: float | None) -> bool:
    """The call's mean MOS, or one of its intervals, was poor."""
    return (mos is not None and mos < POOR_MOS) or (
        worst_mos is not None and worst_mos < POOR_INTERVAL_MOS)


@dataclass
class MediaSummary:
    """The trunk's calls with RTCP in the window: how many, their MOS, how many poor."""

    calls: int
    mos_mean: float | None
    mos_min: float | None
    poor: int
    rx_loss_mean: float | None
    tx_loss_mean: float | None

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "mos_mean": self.mos_mean, "mos_min": self.mos_min,
                "poor_calls": self.poor, "loss_from_provider_pct_mean": self.rx_loss_mean,
                "loss_to_provider_pct_mean": self.tx_loss_mean}


def trunk_media(db: sqlite3.Connection, trunk: str, since: float) -> MediaSummary | None:
    calls, mos_mean, mos_min, poor, rx, tx = db.execute(
        "SELECT count(*), avg(mos), min(coalesce(worst_mos, mos)), "
        "sum(mos < ? OR worst_mos < ?), avg(rx_loss), avg(tx_loss) FROM call_quality "
        "WHERE trunk = ? AND at >= ?", (POOR_MOS, POOR_INTERVAL_MOS, trunk, since)).fetchone()
    if not calls:
        return None
    return MediaSummary(calls, _round(mos_mean, 2), _round(mos_min, 2), poor or 0,
                        _round(rx, 1), _round(tx, 1))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def poor_calls(db: sqlite3.Connection, since: float, until: float,
               trunk: str | None) -> Iterator[tuple[float, str, str, dict[str, Any]]]:
    """(at, text, trunk, evidence) per call whose media was poor (mean MOS, or one
    interval)."""
    query = ("SELECT id, at, trunk, number, inbound, codec, mos, rx_loss, tx_loss, "
             "max(coalesce(rx_jitter_ms, 0), coalesce(tx_jitter_ms, 0)), rtt_ms, worst_mos, "
             "worst_at, worst_rx_loss, worst_tx_loss, rtcp_received FROM call_quality "
             "WHERE at >= ? AND at <= ? AND (mos < ? OR worst_mos < ?)")
    params: list[Any] = [since, until, POOR_MOS, POOR_INTERVAL_MOS]
    if trunk:
        query += " AND trunk = ?"
        params.append(trunk)
    for (row_id, at, row_trunk, number, inbound, codec, mos, rx, tx, jitter, rtt, worst,
         worst_at, worst_rx, worst_tx, received) in db.execute(query + " ORDER BY at", params):
        yield at, poor_call_text(number, row_trunk, mos, rx, tx, jitter, worst, worst_at,
                                 worst_rx, worst_tx, received), row_trunk, {
            "table": "call_quality", "ids": [row_id], "inbound": bool(inbound),
            "codec": codec, "mos": mos, "loss_from_provider_pct": rx,
            "loss_to_provider_pct": tx, "jitter_ms": jitter, "rtt_ms": rtt,
            "worst_mos": worst}


def poor_call_text(number: str, trunk: str, mos: float | None, rx: float | None,
                   tx: float | None, jitter: float | None, worst: float | None,
                   worst_at: float | None, worst_rx: float | None, worst_tx: float | None,
                   received: int) -> str:
    """`call 15551230002 on carrier: MOS 3.6, loss from provider 8% ...`."""
    from trunkconsole.diagnose.text import clock

    parts = [f"MOS {mos:.1f}" if mos is not None else "MOS unknown"]
    if rx is not None:
        parts.append(f"loss from provider {rx:g}%")
    if tx is not None:
        parts.append(f"to provider {tx:g}%")
    elif not received:
        parts.append("no RTCP from the provider")
    if jitter and jitter >= NOTABLE_JITTER_MS:
        parts.append(f"jitter {jitter:g} ms")
    text = f"call {number or '?'} on {trunk}: " + ", ".join(parts)
    if worst is not None and (mos is None or worst < mos - 0.05):
        loss = max(x for x in (worst_rx, worst_tx, 0.0) if x is not None)
        text += (f" (worst interval MOS {worst:.1f}" + (f", loss {loss:g}%" if loss else "")
                 + (f" at {clock(worst_at)}" if worst_at else "") + ")")
    return text


def fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"




def pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}%"
