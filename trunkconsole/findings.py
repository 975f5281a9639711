"""Findings: what is wrong, the evidence, and the fix. Shared by lint, live, network checks.

`trunkconsole check` gathers findings from every domain and maps the worst severity to
a Nagios/Icinga-style exit status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Ordered so max() gives the worst."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


# Exit statuses of `trunkconsole check`: 0 all fine, 1 warnings, 2 critical, 3 could not check.
EXIT_OK = 0
EXIT_WARNING = 1
EXIT_CRITICAL = 2
EXIT_UNKNOWN = 3


@dataclass(frozen=True)
class Evidence:
    """Where the finding comes from: a config line, a firewall rule, an AMI event."""

    text: str
    file: str | None = None
    line: int | None = None

    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class AddProviderAddress:
    """A guided change, typed: add this address to this trunk's identify (reviewed diff,
    backup, reload, verify). What "apply this fix" hands to the console's dialog."""

    trunk: str = ""  # "" when no trunk is likely: the operator chooses
    address: str = ""
    why: str = ""  # shown above the form: what was seen


@dataclass(frozen=True)
class RouteDid:
    """Route the pilot number on the header that carries the DID (extensions.conf, reviewed;
    `trunkconsole did route`)."""

    trunk: str
    pilot: str
    header: str
    why: str = ""


@dataclass(frozen=True)
class SetOption:
    """Set one option on one object (`trunkconsole config set KIND NAME OPTION VALUE`)."""

    kind: str
    name: str
    option: str
    value: str
    why: str = ""


@dataclass(frozen=True)
class EnableLogs:
    """Add the [logfiles] lines `check` reads to logger.conf (`trunkconsole logs enable`)."""

    why: str = ""


# What "apply this fix" hands over: one typed change, never a dict matched by a string.
Proposal = AddProviderAddress | RouteDid | SetOption | EnableLogs
PROPOSAL_KINDS: dict[type[Proposal], str] = {
    AddProviderAddress: "identify-add", RouteDid: "did-route", SetOption: "option-set",
    EnableLogs: "logs-enable"}


@dataclass(frozen=True)
class Finding:
    """One problem (or note) for the operator."""

    code: str  # stable id, e.g. "identify-missing-endpoint"
    severity: Severity
    title: str  # one line, operator's words
    subject: str = ""  # what it is about: a trunk, endpoint, address, rule
    evidence: tuple[Evidence, ...] = ()
    fix: str = ""
    domain: str = "config"  # config | live | network
    details: dict[str, Any] = field(default_factory=dict)
    # Wall time of the event that raised it (0: not event-driven). Evidence shown with it
    # must be read at or after this moment (Evidence.stale_for).
    raised_at: float = 0.0
    proposal: Proposal | None = None  # the guided change, where there is one
    short: str = ""  # a few words for lists ("provider IP changed"); title when empty

    @property
    def label(self) -> str:
        """What a list shows: the short title, else the title."""
        return self.short or self.title

    def to_json(self) -> dict[str, Any]:
        # Field by field: asdict() deep-copies every value and was most of `check --json`
        # for 100,000 findings (38 s of 90, profiled).
        data = {name: getattr(self, name) for name in _FINDING_FIELDS}
        data["details"] = _plain(self.details)
        data["severity"] = self.severity.name.lower()
        data["evidence"] = [
            {"text": e.text, "file": e.file, "line": e.line} for e in self.evidence
        ]
        if self.proposal is not None:
            data["proposal"] = {"kind": PROPOSAL_KINDS[type(self.proposal)],
                                **asdict(self.proposal)}
        return data


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


def _plain(value: Any) -> Any:
    """What asdict() makes of a value: dataclasses as dicts, containers copied."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        return type(value)(*(_plain(item) for item in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def exit_status(findings: list[Finding]) -> int:
    """0 when nothing is wrong, 1 for warnings, 2 when anything is critical."""
    worst = max((f.severity for f in findings), default=Severity.INFO)
    return {Severity.INFO: EXIT_OK, Severity.WARNING: EXIT_WARNING,
            Severity.CRITICAL: EXIT_CRITICAL}[worst]
