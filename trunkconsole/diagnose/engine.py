"""Run every diagnosis over one Evidence bundle; worst first."""

from __future__ import annotations

from collections.abc import Callable

from trunkconsole.diagnose.bans import provider_banned
from trunkconsole.diagnose.callerid import callerid_rejected
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.health import codec_mismatch, registration_failing, trunk_unreachable
from trunkconsole.diagnose.media import rtp_not_arriving
from trunkconsole.diagnose.provider_ip import provider_ip_changed
from trunkconsole.diagnose.quality import media_quality
from trunkconsole.findings import Finding

DIAGNOSES: tuple[Callable[[Evidence], list[Finding]], ...] = (
    provider_ip_changed, provider_banned, rtp_not_arriving, callerid_rejected, trunk_unreachable,
    registration_failing, codec_mismatch, media_quality,
)


def diagnose(ev: Evidence) -> list[Finding]:
    findings = [f for check in DIAGNOSES for f in check(ev)]
    return sorted(findings, key=lambda f: -int(f.severity))
