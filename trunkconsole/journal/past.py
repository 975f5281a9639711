"""What the journal adds to `check`: unknown senders and trunk outages over the window.

Read-only and cheap: the senders rows of the window become a SenderLog (merged with the
live and log-read ones by the diagnoses), and the history's outages and flaps become the
same findings the logs give (trunk-was-unreachable, trunk-flapping).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trunkconsole.diagnose.text import clock, plural
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity
from trunkconsole.journal.history import History
from trunkconsole.journal.schema import open_reader
from trunkconsole.model.records import UnknownSender
from trunkconsole.model.senders import SenderLog

FLAPPING = 4


def journal_senders(path: Path, since: float) -> SenderLog:
    """Unknown senders the journal recorded at or after `since`."""
    log = SenderLog()
    db = open_reader(path)
    try:
        rows = db.execute("SELECT address, min(first), max(at), sum(count), "
                          "group_concat(account) FROM senders WHERE at >= ? "
                          "GROUP BY address", (since,)).fetchall()
    finally:
        db.close()
    for address, first, last, count, accounts in rows[:log.limit]:
        sender = UnknownSender(address=address, first_seen=max(first, since))
        sender.last_seen, sender.count = last, int(count)
        sender.last_event = "journal"
        sender.accounts = [a for a in dict.fromkeys((accounts or "").split(",")) if a][-8:]
        log.by_address[address] = sender
    return log


def journal_findings(history: History) -> list[Finding]:
    """Past outages and flapping, per trunk, as the journal saw them."""
    findings = []
    for name, series in sorted(history.trunks.items()):
        lines = tuple(Line(f"unreachable {clock(start)}-{clock(end) if end else 'now'}",
                           file=history.journal) for start, end in series.outages[-5:])
        if series.flaps >= FLAPPING:
            findings.append(Finding(
                code="trunk-flapping", short="trunk flapping", severity=Severity.WARNING,
                domain="journal",
                title=f"trunk {name} changed reachability {plural(series.flaps, 'time')} "
                      f"since {clock(history.since)}",
                subject=name, evidence=lines,
                fix=f"see `trunkconsole history --trunk {name}` (RTT, outages)",
                details={"trunk": name, "changes": series.flaps}))
        elif series.outages and series.outages[-1][1] is not None:
            findings.append(Finding(
                code="trunk-was-unreachable", short="trunk was down", severity=Severity.INFO,
                domain="journal",
                title=f"trunk {name} was unreachable " + ", ".join(
                    f"{clock(s)}-{clock(e or 0)}" for s, e in series.outages[-3:]),
                subject=name, evidence=lines,
                details={"trunk": name, "outages": [[s, e] for s, e in series.outages]}))
    return findings


def readable(path: Path) -> bool:
    try:
        open_reader(path).close()
    except sqlite3.Error:
        return False
    return path.is_file()


def recorded_senders(since: float, path: Path | None = None) -> SenderLog | None:
    """The default journal's senders since `since`, or None without a readable journal."""
    from trunkconsole.journal.history import default_journal

    path = path if path is not None else default_journal()
    if not readable(path):
        return None
    try:
        return journal_senders(path, since)
    except sqlite3.Error:
        return None
