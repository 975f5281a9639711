"""`trunkconsole check` providers: the network report and the live diagnoses.

Both share one network report per run (CheckContext.cache): the firewall is read and
compiled once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from trunkconsole.diagnose.engine import diagnose
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.gather import (
    config_evidence,
    live_evidence,
    log_evidence,
    network_evidence,
)
from trunkconsole.diagnose.identify_dns import hostname_drift
from trunkconsole.errors import OperatorError
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity
from trunkconsole.logs.findings import log_findings
from trunkconsole.pjsip.check import CheckContext, CheckUnavailable
from trunkconsole.pjsip.trunks import trunk_groups


def _evidence(context: CheckContext) -> Evidence:
    cache: dict[str, Any] = context.cache
    if "evidence" not in cache:
        ev = Evidence()
        options = context.options
        config_evidence(ev, context.config_dir)
        if options.network:
            network_evidence(ev, context.config_dir)
        if options.logs:
            log_evidence(ev, context.config_dir, options.since, options.log_dir)
        _journal_evidence(ev, context)
        cache["evidence"] = ev
    evidence: Evidence = cache["evidence"]
    return evidence


def network_provider(context: CheckContext) -> list[Finding]:
    """Firewall verdicts for every provider address and the host cross-checks."""
    ev = _evidence(context)
    return list(ev.network.findings) if ev.network is not None else []


def live_provider(context: CheckContext) -> list[Finding]:
    """The production-failure diagnoses over live AMI state (skipped with --no-live)."""
    ev = _evidence(context)
    if not context.options.live:
        return _from_logs_only(context, ev, None)
    if context.ami_target is None:
        raise CheckUnavailable("AMI: no target given")
    try:
        target = context.ami_target()
    except OperatorError as exc:
        raise CheckUnavailable(f"AMI: {exc.what}") from exc
    gaps_before = len(ev.gaps)
    asyncio.run(live_evidence(ev, target, listen=context.options.listen))
    if ev.state is None:
        return _from_logs_only(context, ev,
                               "; ".join(ev.gaps[gaps_before:]) or "AMI unavailable")
    return _diagnose(context, ev)


def _diagnose(context: CheckContext, ev: Evidence) -> list[Finding]:
    context.cache["diagnosed"] = True  # bans_provider: diagnose() names the bans
    # DNS lookups block: only `check` compares hostname matches with DNS now, never the
    # TUI's or watch's periodic diagnose().
    return diagnose(ev) + hostname_drift(ev)


def _from_logs_only(context: CheckContext, ev: Evidence, reason: str | None) -> list[Finding]:
    """Without AMI, the logs still say who was refused: diagnose from them alone."""
    past = (ev.log is not None and bool(ev.log.senders().by_address)) or (
        ev.journal_senders is not None and bool(ev.journal_senders.by_address))
    if not past:
        if reason is not None:
            raise CheckUnavailable(reason)
        return []
    findings = _diagnose(context, ev)
    if reason is not None:
        findings.append(Finding(code="check-unavailable", severity=Severity.INFO,
                                title=f"could not check live state: {reason}",
                                subject="live", evidence=(Line(reason),)))
    return findings


def bans_provider(context: CheckContext) -> list[Finding]:
    """Provider bans (fail2ban, CrowdSec, FreePBX) when the diagnoses did not run (no AMI,
    no logs): they need neither."""
    from trunkconsole.diagnose.bans import provider_banned

    if context.cache.get("diagnosed"):
        return []  # diagnose() included them
    return provider_banned(_evidence(context))


def log_provider(context: CheckContext) -> list[Finding]:
    """What Asterisk's own logs and watch's journal say about the window: logging off,
    past outages, flapping (one finding per trunk and code; the journal's first)."""
    ev = _evidence(context)
    findings: list[Finding] = list(context.cache.get("journal_findings", []))
    if ev.log is not None and context.options.logs:
        trunks = ({g.name for g in trunk_groups(ev.config.pjsip) if g.is_trunk}
                  if ev.config is not None else None)
        seen = {(f.code, f.subject) for f in findings}
        findings += [f for f in log_findings(ev.log, trunks) if (f.code, f.subject) not in seen]
    return findings


def _journal_evidence(ev: Evidence, context: CheckContext) -> None:
    """The journal of `watch`, when one is to be read (--journal, else the default path)."""
    from trunkconsole.journal.history import build_history
    from trunkconsole.journal.past import journal_findings, journal_senders, readable

    path, since = context.options.journal, context.options.since
    if path is None:
        return
    if not readable(path):
        if context.options.journal_named:
            ev.gaps.append(f"journal: cannot read {path}")
        return
    try:
        ev.journal_senders = journal_senders(path, ev.now - since)
        context.cache["journal_findings"] = journal_findings(
            build_history(path, since, now=ev.now))
    except (OperatorError, sqlite3.Error) as exc:
        ev.gaps.append(f"journal: {exc}")
