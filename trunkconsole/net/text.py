"""The provider report as plain text for the terminal (the CLI twin of the network screen)."""

from __future__ import annotations

from trunkconsole.net.packet import Probe
from trunkconsole.net.report import NetworkReport
from trunkconsole.net.verdict import Decision, RangeVerdict

MARK = {Decision.ACCEPT: "ok", Decision.DROP: "BLOCKED", Decision.DEPENDS: "depends"}
PARTLY = "PARTLY"


def rtp_mark(rtp: RangeVerdict) -> str:
    """`PARTLY` when part of the range is surely dropped (calls lose audio on those ports)
    and the rest accepted or undecided; else the decision."""
    decisions = {c.verdict.decision for c in rtp.classes}
    return PARTLY if Decision.DROP in decisions and len(decisions) > 1 else MARK[rtp.decision]


def verdict_command(probe: Probe) -> str:
    """The `trunkconsole firewall verdict` line that asks the same question again."""
    parts = ["trunkconsole firewall verdict", f"--src {probe.src}",
             f"--dport {probe.ports_text()}", f"--proto {probe.proto}"]
    if probe.dst:
        parts.append(f"--dst {probe.dst}")
    if probe.iif:
        parts.append(f"--iif {probe.iif}")
    if probe.state != "new":
        parts.append(f"--state {probe.state}")
    return " ".join(parts)


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
            lines.append(f"  RTP {'':<16} {rtp_mark(row.rtp):<8} {row.rtp.summary()}")
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
