"""Findings from the logs alone: logging that is off, and trunks that were down or flapped.

Asterisk's qualify logs `Endpoint X is now Unreachable` / `... Reachable` (VERBOSE, so
only in files with `verbose`), which is the only record of an outage that ended before
anyone looked.
"""

from __future__ import annotations

from dataclasses import dataclass

from trunkconsole.diagnose.text import clock, plural
from trunkconsole.findings import EnableLogs, Finding, Severity
from trunkconsole.findings import Evidence as Line
from trunkconsole.logs.record import NOTICE_LINE, SECURITY_LINE, LogRecord

FLAPPING = 4  # reachability changes in the window that make a trunk "flapping"


@dataclass(frozen=True)
class Outage:
    """An endpoint unreachable from start to end (end 0: still, at the last line read)."""

    endpoint: str
    start: float
    end: float


def outages(record: LogRecord) -> tuple[dict[str, list[Outage]], dict[str, int]]:
    """Outages and the number of reachability changes, per endpoint."""
    found: dict[str, list[Outage]] = {}
    changes: dict[str, int] = {}
    down_since: dict[str, float] = {}
    for event in record.of_kind("endpoint"):
        name = event.fields["endpoint"]
        status = event.fields["status"]
        changes[name] = changes.get(name, 0) + 1
        if status == "Unreachable":
            down_since.setdefault(name, event.at)
        elif name in down_since:
            found.setdefault(name, []).append(Outage(name, down_since.pop(name), event.at))
    for name, start in down_since.items():
        found.setdefault(name, []).append(Outage(name, start, 0.0))
    return found, changes


def log_findings(record: LogRecord, trunks: set[str] | None = None) -> list[Finding]:
    """Logging off (INFO, with the line to add) and past outages and flapping of trunks."""
    findings = _logging_off(record)
    found, changes = outages(record)
    for name in sorted(set(found) | set(changes)):
        if trunks is not None and name not in trunks:
            continue
        spans = found.get(name, [])
        lines = [Line(f"unreachable {clock(o.start)}-{clock(o.end) if o.end else 'now'}",
                      file=_file(record, "endpoint"))
                 for o in spans[-5:]]
        if changes.get(name, 0) >= FLAPPING:
            findings.append(Finding(
                code="trunk-flapping", short="trunk flapping", severity=Severity.WARNING,
                domain="logs",
                title=f"trunk {name} changed reachability "
                      f"{plural(changes[name], 'time')} since {clock(record.since)}",
                subject=name, evidence=tuple(lines),
                fix="qualify answers come and go: packet loss or an overloaded provider edge; "
                    f"compare RTT in `trunkconsole history --trunk {name}`",
                details={"trunk": name, "changes": changes[name]}))
        elif spans and spans[-1].end:
            findings.append(Finding(
                code="trunk-was-unreachable", short="trunk was down", severity=Severity.INFO,
                domain="logs",
                title=f"trunk {name} was unreachable "
                      + ", ".join(f"{clock(o.start)}-{clock(o.end)}" for o in spans[-3:]),
                subject=name, evidence=tuple(lines),
                details={"trunk": name,
                         "outages": [[o.start, o.end] for o in spans]}))
    return findings


def _file(record: LogRecord, kind: str) -> str | None:
    events = record.of_kind(kind)
    return events[-1].file if events else None


def _logging_off(record: LogRecord) -> list[Finding]:
    setup = record.setup
    findings = []
    if not record.security_logged:
        findings.append(Finding(
            code="asterisk-security-log-off", severity=Severity.INFO, domain="logs",
            title="Asterisk writes no security log: `check` cannot see refused requests "
                  "from before it ran",
            subject=str(setup.logger_conf),
            evidence=(Line("no [logfiles] entry carries the security level",
                           file=str(setup.logger_conf)),),
            fix=f"add `{SECURITY_LINE}` to [logfiles]: trunkconsole logs enable",
            details={"line": SECURITY_LINE}, short="no security log",
            proposal=EnableLogs()))
    if not record.notice_logged:
        findings.append(Finding(
            code="asterisk-notice-log-off", severity=Severity.INFO, domain="logs",
            title="Asterisk writes no NOTICE messages to a file",
            subject=str(setup.logger_conf),
            evidence=(Line("no [logfiles] entry carries the notice level",
                           file=str(setup.logger_conf)),),
            fix=f"add `{NOTICE_LINE}` to [logfiles]: trunkconsole logs enable",
            details={"line": NOTICE_LINE}, short="no NOTICE log", proposal=EnableLogs()))
    return findings
