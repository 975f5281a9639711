"""`trunkconsole check`: findings from every provider, in one place.

A provider is "module:function" taking a CheckContext and returning findings. The config
lint is the first; the live (AMI) and network checks add their own line to PROVIDERS and
are imported only when `check` runs. A provider that cannot run raises CheckUnavailable:
its reason becomes an INFO finding and the exit status is at least 3 ("could not check")
unless something worse was found.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trunkconsole.findings import (
    EXIT_CRITICAL,
    EXIT_UNKNOWN,
    Evidence,
    Finding,
    Severity,
    exit_status,
)

if TYPE_CHECKING:
    from trunkconsole.settings import AmiTarget

PROVIDERS: tuple[str, ...] = (
    "trunkconsole.pjsip.check:config_provider",
    "trunkconsole.diagnose.check:network_provider",
    "trunkconsole.diagnose.check:live_provider",
    "trunkconsole.diagnose.check:bans_provider",
    "trunkconsole.diagnose.check:log_provider",
)


class CheckUnavailable(Exception):
    """A provider could not look (no config dir, no AMI, no root for nftables)."""


@dataclass(frozen=True)
class CheckOptions:
    """What `check` (and `bundle`) was asked to look at, as values: cli/ builds it from the
    flags; the defaults are a library caller's (everything but the journal)."""

    since: float = 3600.0  # seconds back in Asterisk's logs and the journal
    listen: float = 0.0  # seconds to listen to AMI events before diagnosing
    live: bool = True  # the live diagnoses over AMI (--no-live: False)
    network: bool = True  # the firewall and host facts (--no-network: False)
    logs: bool = True  # Asterisk's own log files (--no-logs: False)
    log_dir: Path | None = None  # Asterisk's log directory; None: astlogdir of asterisk.conf
    journal: Path | None = None  # watch's journal to read; None: none
    journal_named: bool = False  # the operator named it (--journal): unreadable is a gap


@dataclass
class CheckContext:
    """What providers may use; loaded lazily and shared between them."""

    config_dir: Path
    options: CheckOptions = field(default_factory=CheckOptions)
    # How to reach AMI (the front end resolves flags, config.yaml and manager.conf); None:
    # the live check cannot run. Called only when the live provider runs.
    ami_target: Callable[[], AmiTarget] | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def asterisk(self) -> Any:
        """The loaded config directory (AsteriskConfig), loaded once."""
        if "asterisk" not in self.cache:
            from trunkconsole.pjsip.system import load_asterisk

            if not self.config_dir.is_dir():
                raise CheckUnavailable(f"{self.config_dir} is not a directory")
            self.cache["asterisk"] = load_asterisk(self.config_dir)
        return self.cache["asterisk"]


Provider = Callable[[CheckContext], list[Finding]]


def config_provider(context: CheckContext) -> list[Finding]:
    """The config lint over the config directory."""
    from trunkconsole.pjsip.lint import config_findings

    system = context.asterisk()
    if not system.loaded["pjsip.conf"].found:
        raise CheckUnavailable(f"no pjsip.conf in {context.config_dir}")
    return config_findings(system)


def load_provider(spec: str) -> Provider:
    """Import "module:function"."""
    module_name, _, function = spec.partition(":")
    provider: Provider = getattr(importlib.import_module(module_name), function)
    return provider


@dataclass
class CheckResult:
    """All findings and the exit status."""

    findings: list[Finding]
    unavailable: list[str]
    status: int


def run_checks(context: CheckContext, providers: tuple[str, ...] = PROVIDERS) -> CheckResult:
    """Run every provider; a failing one is reported, never fatal to the others."""
    findings: list[Finding] = []
    unavailable: list[str] = []
    for spec in providers:
        try:
            findings.extend(load_provider(spec)(context))
        except CheckUnavailable as exc:
            unavailable.append(str(exc))
            findings.append(Finding(code="check-unavailable", severity=Severity.INFO,
                                    title=f"could not check: {exc}", subject=spec,
                                    evidence=(Evidence(str(exc)),)))
    status = exit_status(findings)
    if unavailable and status != EXIT_CRITICAL:
        status = EXIT_UNKNOWN
    return CheckResult(findings, unavailable, status)
