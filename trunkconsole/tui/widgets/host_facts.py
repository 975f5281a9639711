"""Host facts under the network table: addresses, routes, sockets, SIP helper, checks.

Interface names, process names and rule labels come from the system: they go in as
Text, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from trunkconsole.findings import Finding
from trunkconsole.net.report import NetworkReport
from trunkconsole.tui.plain import plain_lines
from trunkconsole.tui.widgets.verdict_style import VerdictStyles
from trunkconsole.visible import visible, visible_lines

MAX_SOCKETS = 12
# Findings that belong to one row (shown in its detail dialog, not under "Checks").
ROW_CODES = ("network-sip-blocked", "network-sip-depends", "network-rtp-blocked",
             "network-rtp-depends")


def row_subject(provider: str, address: str) -> str:
    """The Finding.subject that report.py gives a row's findings."""
    return f"{provider} {address}"


def general_findings(report: NetworkReport) -> list[Finding]:
    """Findings about the host, the helper and the ruleset (not about one provider row)."""
    return [f for f in report.findings
            if f.code not in ROW_CODES and f.code != "network-firewall-unreadable"]


def _heading(text: Text, title: str) -> None:
    if text.plain:
        text.append("\n")
    text.append(visible(title), style="bold")


def host_facts_text(report: NetworkReport, styles: VerdictStyles) -> Text:
    """The whole panel as one Text."""
    text = Text()
    host = report.host
    if host is None:
        text.append("Host facts not read (rules came from files)", style=styles.muted)
    else:
        _heading(text, "Addresses")
        for address in host.addresses:
            kind = "private" if address.private else "public"
            line = plain_lines(f"\n  {address.ifname:<10} ")
            line.append(visible(f"{address.address}/{address.prefixlen}".ljust(26) + " "))
            line.append(visible(kind), style=styles.muted if address.private else "")
            if address.tentative or address.dadfailed:
                line.append("  DAD failed" if address.dadfailed else "  tentative",
                            style=styles.depends)
            text.append_text(line)
        if host.routes:
            _heading(text, "Routes to providers")
            for dst, route in host.routes.items():
                line = plain_lines(f"\n  {dst:<16} ")
                if route.error:
                    line.append(visible(f"no route: {route.error}"), style=styles.drop)
                else:
                    line.append(visible(f"on {route.oif or '?'}"))
                    if route.gateway:
                        line.append(visible(f" via {route.gateway}"))
                    if route.prefsrc:
                        line.append(visible(f", from {route.prefsrc}"))
                text.append_text(line)
        _heading(text, "Listening sockets")
        if host.sockets is None:
            text.append("\n  not read (Asterisk not running here)", style=styles.muted)
        else:
            sockets = sorted(host.sockets, key=lambda s: (s.proto, s.port, s.address))
            for socket in sockets[:MAX_SOCKETS]:
                where = f"[{socket.address}]" if ":" in socket.address else socket.address
                line = plain_lines(f"\n  {socket.proto} "
                                   + f"{where}:{socket.port}".ljust(24) + " ")
                owner = socket.process + (f" (pid {socket.pid})" if socket.pid else "")
                line.append(visible(owner or "?"), style=styles.muted)
                text.append_text(line)
            if len(sockets) > MAX_SOCKETS:
                text.append(visible_lines(f"\n  and {len(sockets) - MAX_SOCKETS} more"),
                            style=styles.muted)
        for error in host.errors:
            text.append(visible_lines(f"\n  {error}"), style=styles.drop)
    if report.helper is not None:
        _heading(text, "SIP conntrack helper")
        style = styles.depends if report.helper.active else styles.muted
        text.append(visible_lines(f"\n  {report.helper.explain()}"), style=style)
    checks = general_findings(report)
    if checks:
        _heading(text, "Checks")
        for finding in sorted(checks, key=lambda f: -f.severity):
            line = Text("\n  ")
            line.append(visible(f"{finding.severity.name:<8} "),
                        style=styles.of_severity(finding.severity))
            line.append(visible(finding.title))
            if finding.subject:
                line.append(visible(f" ({finding.subject})"), style=styles.muted)
            if finding.fix:
                line.append(visible_lines(f"\n           fix: {finding.fix}"))
            text.append_text(line)
    return text


class HostFactsView(Static):
    """The panel; the screen hands it a report and the current theme's styles."""

    def show(self, report: NetworkReport, styles: VerdictStyles) -> None:
        self.update(host_facts_text(report, styles))
