"""Calls up on a trunk whose RTP never arrives: the firewall, NAT, or the SIP helper."""

from __future__ import annotations

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity
from trunkconsole.net.verdict import Decision

MIN_UPTIME = 3  # seconds: RTP starts right after the answer
NAT_CODES = ("network-nat", "network-external", "network-local-net", "network-private")


def rtp_not_arriving(ev: Evidence) -> list[Finding]:
    if ev.state is None or not ev.rtp:
        return []
    findings = []
    for channel in ev.state.channels.values():
        stats = ev.rtp.get(channel.name)
        if stats is None or stats.uptime < MIN_UPTIME or stats.rx_packets > 0:
            continue
        trunk = channel.endpoint
        lines = [Line(f"{channel.name} up {stats.uptime} s ({stats.codec}): "
                      f"{stats.tx_packets} RTP packets sent, none received")]
        fix = ""
        rule = None
        if ev.network is not None:
            for row in ev.network.rows:
                if row.address.provider != trunk or row.rtp is None:
                    continue
                lines.append(Line(f"firewall, RTP from {row.source}: {row.rtp.summary()}"))
                dropped = [c for c in row.rtp.classes if c.verdict.decision is Decision.DROP]
                if dropped and dropped[0].verdict.deciding is not None and rule is None:
                    rule = dropped[0].verdict.deciding
                    fix = (f"let RTP in: {rule.label} drops UDP {dropped[0].ports()} from the "
                           f"provider ({rule.text})")
            for finding in ev.network.findings:
                if finding.code.startswith(NAT_CODES):
                    lines.append(Line(f"NAT: {finding.title}"))
                    fix = fix or finding.fix
            helper = ev.network.helper
            if helper is not None and helper.active:
                lines.append(Line("the SIP conntrack helper is active: it may let RTP in as "
                                  "related, or rewrite SIP and SDP"))
        if not fix:
            fix = ("check the firewall for the RTP range and that the SDP advertises the "
                   "public address (external_media_address on the transport)")
        findings.append(Finding(
            code="rtp-not-arriving", severity=Severity.CRITICAL, domain="live",
            short="no audio from provider",
            title=f"no audio from the provider on {channel.name}: its RTP does not reach "
                  "Asterisk", subject=trunk, evidence=tuple(lines), fix=fix,
            details={"channel": channel.name, "trunk": trunk,
                     "rule": rule.label if rule is not None else None},
            raised_at=channel.started_at))
    return findings
