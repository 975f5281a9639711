"""The provider report as plain text for the terminal (the CLI twin of the network screen)."""

from __future__ import annotations

from trunkconsole.net.report import NetworkReport
from trunkconsole.net.verdict import Decision

MARK = {Decision.ACCEPT: "ok", Decision.DROP: "BLOCKED", Decision.DEPENDS: "depends"}


def render_report(report: NetworkReport) -> str:
    lines: list[str] = []
    if report.firewall_error:
        lines += ["firewall: not checked", f"  {report.firewall_error}", ""]
    for row in report.rows:
        head = f"{row.address.provider}  {row.address.address}"
        if row.iif:
            head += f"  (arrives on {row.iif})"
        lines.append(head)
        if row.note:
            lines.append(f"  note: {row.note}")
        for name, verdict in row.sip.items():
            lines.append(f"  SIP {name:<16} {MARK[verdict.decision]:<8} {verdict.summary()}")
        if row.rtp is not None:
            decisions = {c.verdict.decision for c in row.rtp.classes}
            mark = "PARTLY" if decisions == {Decision.ACCEPT, Decision.DROP} else \
                MARK[row.rtp.decision]
            lines.append(f"  RTP {'':<16} {mark:<8} {row.rtp.summary()}")
    if report.helper is not None and report.helper.active:
        lines += ["", f"SIP helper: {report.helper.explain()}"]
    if report.host is not None:
        lines += ["", "host:"]
        for address in report.host.addresses:
            kind = "private" if address.private else "public"
            lines.append(f"  {address.ifname:<10} {address.address}/{address.prefixlen} {kind}")
    if report.findings:
        lines += ["", "findings:"]
        for finding in report.findings:
            lines.append(f"  [{finding.severity.name.lower()}] {finding.title}")
            if finding.fix:
                lines.append(f"      fix: {finding.fix}")
    return "\n".join(lines)
