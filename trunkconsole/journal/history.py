"""What happened, from the journal: a timeline, and per trunk availability, RTT and flaps.

Every timeline item names its evidence (journal table and row ids) so a front end can
jump from "03:12 carrier unreachable" to the rows behind it. Availability is time-weighted
from contact status changes and samples (a trunk is up while any contact is Reachable).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkconsole.errors import OperatorError
from trunkconsole.journal.media import MediaSummary, fmt, pct, poor_calls, trunk_media
from trunkconsole.journal.schema import open_reader
from trunkconsole.model.causes import failed

BUCKETS = 48
LOOKBACK = 3600.0
SPAN_GAP = 300.0  # sender rows closer than this join one "refused" span
PROBLEMS = ("contact-unreachable", "finding-raised", "senders")


@dataclass
class Item:
    at: float
    kind: str
    text: str
    trunk: str = ""
    end: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "end": self.end, "kind": self.kind, "trunk": self.trunk,
                "text": self.text, "evidence": self.evidence}


@dataclass
class TrunkSeries:
    trunk: str
    bucket_seconds: float
    availability: list[float | None] = field(default_factory=list)  # 0..1 per bucket
    rtt_ms: list[float | None] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    failed_calls: list[int] = field(default_factory=list)
    flaps: int = 0
    outages: list[tuple[float, float | None]] = field(default_factory=list)
    by_class: dict[str, int] = field(default_factory=dict)
    media: MediaSummary | None = None

    def to_json(self) -> dict[str, Any]:
        return {"trunk": self.trunk, "bucket_seconds": self.bucket_seconds,
                "availability": self.availability, "rtt_ms": self.rtt_ms, "calls": self.calls,
                "failed_calls": self.failed_calls, "flaps": self.flaps,
                "outages": [{"start": s, "end": e} for s, e in self.outages],
                "calls_by_class": self.by_class,
                "media": self.media.to_json() if self.media else None}


@dataclass
class History:
    journal: str
    since: float
    until: float
    items: list[Item] = field(default_factory=list)
    trunks: dict[str, TrunkSeries] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"journal": self.journal, "since": self.since, "until": self.until,
                "timeline": [i.to_json() for i in self.items],
                "trunks": {n: t.to_json() for n, t in sorted(self.trunks.items())}}


def build_history(path: Path, since_seconds: float, *, trunk: str | None = None,
                  now: float | None = None, buckets: int = BUCKETS) -> History:
    """The history of the last since_seconds (optionally of one trunk)."""
    if not path.exists():
        raise OperatorError(f"no journal at {path}",
                            fix="run `trunkconsole watch` (sample-configs/systemd), or pass "
                                "--journal")
    until = now if now is not None else time.time()
    since = until - since_seconds
    try:
        db = open_reader(path)
    except sqlite3.Error as exc:
        raise OperatorError(f"cannot read the journal {path}", evidence=str(exc)) from exc
    try:
        history = History(str(path), since, until)
        _timeline(db, history, trunk)
        names = _trunks(db, since, trunk)
        for name in names:
            history.trunks[name] = _series(db, name, since, until, buckets)
            history.trunks[name].media = trunk_media(db, name, since)
        for at, text, row_trunk, evidence in poor_calls(db, since, until, trunk):
            history.items.append(Item(at, "call-quality", text, row_trunk, evidence=evidence))
        _calls_resume(db, history)
    except sqlite3.Error as exc:
        raise OperatorError(f"cannot read the journal {path}", evidence=str(exc)) from exc
    finally:
        db.close()
    history.items.sort(key=lambda i: (i.at, i.kind))
    return history


def _trunks(db: sqlite3.Connection, since: float, trunk: str | None) -> list[str]:
    if trunk:
        return [trunk]
    rows = db.execute("SELECT DISTINCT trunk FROM samples WHERE at >= ? UNION "
                      "SELECT DISTINCT trunk FROM events WHERE at >= ? AND trunk != '' UNION "
                      "SELECT DISTINCT trunk FROM call_counts WHERE at >= ? UNION "
                      "SELECT DISTINCT trunk FROM call_quality WHERE at >= ?",
                      (since, since, since, since)).fetchall()
    return sorted(r[0] for r in rows if r[0])


def _timeline(db: sqlite3.Connection, history: History, trunk: str | None) -> None:
    query = "SELECT id, at, kind, trunk, subject, text, detail FROM events WHERE at >= ?"
    params: list[Any] = [history.since]
    if trunk:
        query += " AND (trunk = ? OR trunk = '')"
        params.append(trunk)
    addresses: dict[str, str] = {}
    for row_id, at, kind, row_trunk, subject, text, detail in db.execute(
            query + " ORDER BY at", params):
        data = _json(detail)
        if kind == "finding-raised" and data.get("address"):
            addresses[str(data["address"])] = row_trunk
        history.items.append(Item(at, kind, text, row_trunk,
                                  evidence={"table": "events", "ids": [row_id],
                                            "subject": subject, **data}))
    spans: dict[str, Item] = {}
    for row_id, at, first, address, count, account, row_trunk in db.execute(
            "SELECT id, at, first, address, count, account, trunk FROM senders "
            "WHERE at >= ? ORDER BY at", (history.since,)):
        span = spans.get(address)
        if row_trunk:
            addresses[address] = row_trunk  # resolved by an identify of that trunk
        if span is not None and span.end is not None and at - span.end <= SPAN_GAP:
            span.end = at
            span.evidence["ids"].append(row_id)
            span.evidence["count"] += count
            span.trunk = span.trunk or addresses.get(address, "")
        else:
            span = Item(max(first, history.since), "senders", "", addresses.get(address, ""),
                        end=at, evidence={"table": "senders", "ids": [row_id],
                                          "address": address, "count": count,
                                          "account": account})
            spans[address] = span
            history.items.append(span)
    for item in history.items:
        if item.kind == "senders":
            count = item.evidence["count"]
            item.text = (f"{count} request{'s' if count != 1 else ''} from "
                         f"{item.evidence['address']} refused (no identify matches)")
    if trunk:
        history.items = [i for i in history.items if i.kind != "senders" or i.trunk in
                         (trunk, "")]


def _series(db: sqlite3.Connection, trunk: str, since: float, until: float,
            buckets: int) -> TrunkSeries:
    width = (until - since) / buckets
    series = TrunkSeries(trunk, width)
    # Contact states: the last known before the window, then every point in it. A point's
    # state None is a contact the journal saw removed: it no longer counts either way.
    points: list[tuple[float, int, str, int | None]] = []
    # Samples come every minute: an hour before the window is enough to know the state.
    before: dict[str, tuple[float, int]] = {
        contact: (at, reachable) for contact, at, reachable in db.execute(
            "SELECT contact, max(at), reachable FROM samples WHERE trunk = ? AND at < ? "
            "AND at >= ? GROUP BY contact", (trunk, since, since - LOOKBACK))}
    for at, subject in db.execute(
            "SELECT at, subject FROM events WHERE trunk = ? AND kind = 'contact-removed' AND "
            "at < ? AND at >= ?", (trunk, since, since - LOOKBACK)):
        if subject in before and before[subject][0] <= at:
            del before[subject]
    for contact, (_at, reachable) in before.items():
        points.append((since, 0, contact, reachable))
    # Only the samples where a contact's state changed (a sample a minute otherwise).
    for at, contact, reachable in db.execute(
            "SELECT at, contact, reachable FROM (SELECT at, contact, reachable, "
            "lag(reachable) OVER (PARTITION BY contact ORDER BY at) AS prev FROM samples "
            "WHERE trunk = ? AND at >= ?) WHERE prev IS NULL OR prev != reachable",
            (trunk, since)):
        points.append((at, 1, contact, reachable))
    for at, kind, subject, first in db.execute(
            "SELECT at, kind, subject, instr(detail, '\"previous\": \"\"') > 0 OR "
            "instr(detail, '\"previous\"') = 0 FROM events WHERE trunk = ? AND at >= ? AND "
            "kind IN ('contact-reachable', 'contact-unreachable', 'contact-removed') "
            "ORDER BY at", (trunk, since)):
        if kind == "contact-removed":
            points.append((at, 2, subject, None))
            continue
        points.append((at, 1, subject, 1 if kind == "contact-reachable" else 0))
        if not first:
            series.flaps += 1
    points.sort(key=lambda p: (p[0], p[1]))
    up_time = [0.0] * buckets
    known_time = [0.0] * buckets
    states: dict[str, int] = {}
    outage_start: float | None = None

    def account(start: float, end: float, up: bool) -> None:
        index = int((start - since) // width)
        while start < end and index < buckets:
            bucket_end = since + (index + 1) * width
            piece = min(end, bucket_end) - start
            known_time[index] += piece
            if up:
                up_time[index] += piece
            start = min(end, bucket_end)
            index += 1

    cursor = since
    # The trunk is up while any contact is; unknown (None) while it has none the journal
    # knows of (its only contact was removed and the next is not qualified yet).
    current: bool | None = None
    for at, _order, contact, point in points:
        if point is None:
            states.pop(contact, None)
        else:
            states[contact] = point
        now_up = any(states.values()) if states else None
        if now_up != current:
            if current is not None:
                account(cursor, at, current)
            current, cursor = now_up, at
        if now_up is False and outage_start is None:
            outage_start = at
        elif outage_start is not None and now_up:
            series.outages.append((outage_start, at))
            outage_start = None
    if current is not None:
        account(cursor, until, current)
    if outage_start is not None:
        series.outages.append((outage_start, None))
    series.availability = [up_time[i] / known_time[i] if known_time[i] > 0 else None
                           for i in range(buckets)]
    sums = [0.0] * buckets
    counts = [0] * buckets
    for index, total, n in db.execute(
            "SELECT CAST((at - ?) / ? AS INTEGER), sum(rtt_ms), count(rtt_ms) FROM samples "
            "WHERE trunk = ? AND at >= ? AND rtt_ms IS NOT NULL GROUP BY 1",
            (since, width, trunk, since)):
        if 0 <= index < buckets:
            sums[index], counts[index] = total, n
    series.rtt_ms = [sums[i] / counts[i] if counts[i] else None for i in range(buckets)]
    series.calls = [0] * buckets
    series.failed_calls = [0] * buckets
    for index, klass, total in db.execute(
            "SELECT CAST((at - ?) / ? AS INTEGER), cause_class, sum(count) FROM call_counts "
            "WHERE trunk = ? AND at >= ? GROUP BY 1, 2", (since, width, trunk, since)):
        if 0 <= index < buckets:
            series.calls[index] += total
            if failed(klass):
                series.failed_calls[index] += total
        series.by_class[klass] = series.by_class.get(klass, 0) + total
    return series


def _calls_resume(db: sqlite3.Connection, history: History) -> None:
    """After a problem on a trunk, the first call that ended normally: calls resume."""
    done: set[tuple[str, float]] = set()
    for item in list(history.items):
        if item.kind not in PROBLEMS or not item.trunk:
            continue
        if item.kind == "finding-raised" and item.evidence.get("severity") == "info":
            continue
        after = item.end if item.end is not None else item.at
        row = db.execute("SELECT id, at FROM calls WHERE trunk = ? AND at > ? AND "
                         "cause_class = 'normal' ORDER BY at LIMIT 1",
                         (item.trunk, after)).fetchone()
        if row is None or (item.trunk, row[1]) in done or row[1] > history.until:
            continue
        done.add((item.trunk, row[1]))
        history.items.append(Item(row[1], "calls-resume", f"calls resume on {item.trunk}",
                                  item.trunk, evidence={"table": "calls", "ids": [row[0]]}))


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


BARS = " ▁▂▃▄▅▆▇█"


def spark(values: list[float | None], top: float | None = None) -> str:
    """A one-line plot: '·' where nothing is known."""
    known = [v for v in values if v is not None]
    peak = top if top is not None else (max(known) if known else 0.0)
    out = []
    for value in values:
        if value is None:
            out.append("·")
        elif peak <= 0:
            out.append(BARS[1])
        else:
            out.append(BARS[max(1, min(8, round(value / peak * 8)))])
    return "".join(out)


def render_text(history: History) -> str:
    from trunkconsole.diagnose.text import clock

    lines = [f"journal {history.journal}, {clock(history.since)} to {clock(history.until)}",
             ""]
    for item in history.items:
        when = clock(item.at)[:5]
        if item.end is not None and item.end - item.at >= 60:
            when += "-" + clock(item.end)[:5]
        lines.append(f"{when:11} {item.text}")
    if not history.items:
        lines.append("nothing happened in this window")
    for name, series in sorted(history.trunks.items()):
        known = [a for a in series.availability if a is not None]
        availability = f"{100 * sum(known) / len(known):.1f}%" if known else "unknown"
        lines += ["", f"trunk {name}: available {availability}, {series.flaps} flaps, "
                      f"{len(series.outages)} outages, calls {sum(series.calls)} "
                      f"({sum(series.failed_calls)} failed)",
                  f"  availability |{spark(series.availability, 1.0)}|",
                  f"  RTT          |{spark(series.rtt_ms)}|"
                  + (f" max {max(v for v in series.rtt_ms if v is not None):.0f} ms"
                     if any(v is not None for v in series.rtt_ms) else ""),
                  f"  calls        |{spark([float(c) for c in series.calls])}|"]
        if series.media is not None:
            media = series.media
            lines.append(f"  media        {media.calls} calls with RTCP, MOS mean "
                         f"{fmt(media.mos_mean)}, worst {fmt(media.mos_min)}, "
                         f"{media.poor} poor; mean loss from provider "
                         f"{pct(media.rx_loss_mean)}, to provider {pct(media.tx_loss_mean)}")
    return "\n".join(lines) + "\n"


EVIDENCE_TABLES = ("events", "senders", "calls", "samples", "call_quality")


def evidence_rows(path: Path, evidence: dict[str, Any], limit: int = 50) -> list[str]:
    """The journal rows behind a timeline item, as `column=value` lines."""
    table = evidence.get("table")
    ids = [int(i) for i in evidence.get("ids", [])][:limit]
    if table not in EVIDENCE_TABLES or not ids:
        return []
    db = open_reader(path)
    try:
        cursor = db.execute(f"SELECT * FROM {table} WHERE id IN "
                            f"({', '.join('?' for _ in ids)}) ORDER BY at", ids)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        db.close()
    out = []
    for row in rows:
        values = dict(zip(names, row, strict=True))
        at = values.pop("at", None)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "?"
        out.append(f"{table} #{values.pop('id')} {stamp}  " + "  ".join(
            f"{k}={v}" for k, v in values.items() if v not in (None, "", "{}")))
    return out


def default_journal() -> Path:
    """STATE_DIR/journal.sqlite, as `watch` writes it by default."""
    from trunkconsole.journal.location import journal_file

    return journal_file()
