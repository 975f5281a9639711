"""`trunkconsole check` providers: the network report and the live diagnoses.

Both share one network report per run (CheckContext.cache): the firewall is read and
compiled once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from trunkconsole.diagnose.engine import diagnose
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.gather import config_evidence, live_evidence, network_evidence
from trunkconsole.errors import OperatorError
from trunkconsole.findings import Finding


def _evidence(context: Any) -> Evidence:
    cache: dict[str, Any] = context.cache
    if "evidence" not in cache:
        ev = Evidence()
        config_evidence(ev, context.config_dir)
        if not getattr(context.args, "no_network", False):
            network_evidence(ev, context.config_dir)
        cache["evidence"] = ev
    evidence: Evidence = cache["evidence"]
    return evidence


def network_provider(context: Any) -> list[Finding]:
    """Firewall verdicts for every provider address and the host cross-checks."""
    ev = _evidence(context)
    return list(ev.network.findings) if ev.network is not None else []


def live_provider(context: Any) -> list[Finding]:
    """The production-failure diagnoses over live AMI state (skipped with --no-live)."""
    from trunkconsole.cli_support import ami_target
    from trunkconsole.pjsip.check import CheckUnavailable

    args = context.args
    if args is not None and getattr(args, "no_live", False):
        return []
    ev = _evidence(context)
    try:
        target = ami_target(args)
    except OperatorError as exc:
        raise CheckUnavailable(f"AMI: {exc.what}") from exc
    gaps_before = len(ev.gaps)
    asyncio.run(live_evidence(ev, target, listen=float(getattr(args, "listen", 0) or 0)))
    if ev.state is None:
        raise CheckUnavailable("; ".join(ev.gaps[gaps_before:]) or "AMI unavailable")
    findings = diagnose(ev)
    if ev.stale_for(findings) and not getattr(args, "no_network", False):
        # Raised by an event after the firewall was read (while listening): read it again.
        network_evidence(ev, context.config_dir)
        findings = diagnose(ev)
    return findings
