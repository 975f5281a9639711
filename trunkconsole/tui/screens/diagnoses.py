"""Diagnoses: what is wrong now, the evidence, and the fix (with the flow where one exists).

The live part comes from the app's LiveSession state, RTP counters are read over AMI each
refresh (every 2 s, only while the screen shows), the firewall when the screen opens, on
demand (r), and again whenever a finding was raised after the last read (a rule inserted
since then is named without a key press). Config parse and firewall read run off the loop.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from trunkconsole.diagnose.engine import diagnose
from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.gather import log_evidence, network_evidence
from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.errors import OperatorError
from trunkconsole.findings import AddProviderAddress, Finding, RouteDid, Severity
from trunkconsole.journal.past import recorded_senders
from trunkconsole.logs.findings import log_findings
from trunkconsole.tui.plain import plain
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.status_bar import StatusBar
from trunkconsole.visible import visible, visible_lines

WHAT_WIDTH = 22  # the list's "what" column: Finding.short fits it (80 columns too)
LOG_WINDOW = 3600.0  # the Diagnoses screen looks an hour back in Asterisk's logs
SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow",
                  Severity.INFO: "dim"}


def finding_text(finding: Finding) -> Text:
    """The whole finding for the detail pane, as plain text (untrusted values inside)."""
    text = Text()
    text.append(visible_lines(finding.title + "\n\n"), style="bold")
    for line in finding.evidence:
        where = line.location()
        text.append("  • ")
        text.append(visible(f"{where}: " if where else ""), style="dim")
        text.append(visible_lines(line.text + "\n"))
    if finding.fix:
        text.append("\nfix: ", style="bold")
        text.append(visible_lines(finding.fix + "\n"))
    if finding.proposal is not None:
        text.append("\npress a or Enter to review this change", style="bold green")
    return text


NARROW_WIDTH = 100


class DiagnosesScreen(LiveScreen):
    """The three production failures and the usual suspects, diagnosed live."""

    TITLE = "Diagnoses"
    REFRESH_TICKS = 6  # 2 s at the app's 3 Hz: each refresh asks AMI for RTP counters
    DEFAULT_CSS = """
    DiagnosesScreen #diag-gaps { height: auto; padding: 0 1; color: $text-muted; }
    DiagnosesScreen #diag-body { height: 1fr; }
    DiagnosesScreen #diag-table { width: 1fr; min-width: 40; }
    DiagnosesScreen #diag-detail { width: 1fr; border-left: solid $primary; padding: 0 1; }
    DiagnosesScreen.-narrow #diag-body { layout: vertical; }
    DiagnosesScreen.-narrow #diag-table { height: auto; max-height: 40%; }
    DiagnosesScreen.-narrow #diag-detail {
        height: 1fr; border-left: none; border-top: solid $primary;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "read_network", "Re-read firewall", id="diag-network"),
        Binding("a", "apply_fix", "Apply fix", id="diag-fix"),
        Binding("w", "workflow", "Walk a call", id="diag-workflow"),
    ]

    def __init__(self, findings: list[Finding] | None = None) -> None:
        """findings: show these and gather nothing (snapshots, replaying a saved check)."""
        super().__init__()
        self.evidence = Evidence()
        self.findings: list[Finding] = findings or []
        self._static = findings is not None
        self._network_requested = 0.0

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(id="diag-gaps", markup=False)
        with Horizontal(id="diag-body"):
            table: DataTable[Text] = DataTable(id="diag-table", cursor_type="row")
            yield table
            with VerticalScroll(id="diag-detail"):
                yield Static(Text("Nothing diagnosed yet."), id="diag-text", markup=False)
        yield Footer()

    def on_resize(self) -> None:
        # Side by side the list and the story each get half: below 100 columns the trunk
        # column was cut to "carri" and the evidence wrapped every few words. Stacked, the
        # list keeps its columns and the story gets the full width.
        self.set_class(self.size.width < NARROW_WIDTH, "-narrow")

    def on_mount(self) -> None:
        table = self.query_one("#diag-table", DataTable)
        # The short title first: it fits at 80 columns; the detail pane has the whole story.
        table.add_column("", width=8, key="severity")
        table.add_column("what", width=WHAT_WIDTH, key="title")
        table.add_column("trunk", width=16, key="subject")
        if self._static:
            self.evidence.state = None
            self._show()
            return
        # Rules changed (the app's one nft monitor; legacy fingerprint): read them again.
        self.app.firewall.start()
        self.action_read_network()

    def refresh_live(self) -> None:
        """The app's tick, every 2 s while shown: gather and diagnose in a worker; the
        firewall again only when its rules changed since the last read began."""
        if not self._static and self.app.firewall.changed_since(self._network_requested) \
                and not self._busy("diag-network"):
            self.action_read_network()
        if not self._static and not self._busy("diag-refresh"):
            self._refresh()

    def action_read_network(self) -> None:
        self._network_requested = time.time()
        self._network()

    def _busy(self, group: str) -> bool:
        return any(w.node is self and w.group == group and not w.is_finished
                   for w in self.workers)

    @work(thread=True, exclusive=True, group="diag-network", exit_on_error=False)
    def _network(self) -> None:
        ev = Evidence()
        network_evidence(ev, self.app.settings.asterisk_dir, self.app.firewall)
        # The past without a daemon: Asterisk's own logs over the last hour.
        log_evidence(ev, Path(self.app.settings.asterisk_dir), LOG_WINDOW)
        self.evidence.network, self.evidence.engine = ev.network, ev.engine
        self.evidence.bans = ev.bans
        self.evidence.network_read_at = ev.network_read_at
        self.evidence.log = ev.log
        self.evidence.journal_senders = recorded_senders(time.time() - LOG_WINDOW)
        self.evidence.gaps = ev.gaps
        self.app.call_from_thread(self._refresh)

    @work(exclusive=True, group="diag-refresh", exit_on_error=False)
    async def _refresh(self) -> None:
        app = self.app
        ev = self.evidence
        ev.config = await asyncio.to_thread(app.asterisk_config)  # a parse: off the loop
        ev.state = app.live.state if app.live is not None else None
        ami = app.ami_actions()
        if ami is not None:
            try:
                ev.rtp = parse_channelstats(await ami.command("pjsip show channelstats"))
            except OperatorError:
                ev.rtp = {}
        ev.now = time.time()
        self.findings = diagnose(ev)
        if ev.log is not None:
            self.findings += log_findings(ev.log)
        self._show()
        if ev.stale_for(self.findings) and not self._busy("diag-network"):
            self._network()  # a finding newer than the firewall read: read it again

    def _show(self) -> None:
        gaps = list(self.evidence.gaps)
        if self.evidence.state is None and not self._static:
            gaps.insert(0, "live state: not connected to AMI")
        self.query_one("#diag-gaps", Static).update(plain("; ".join(gaps)))
        table = self.query_one("#diag-table", DataTable)
        selected = table.cursor_row
        table.clear()
        for index, finding in enumerate(self.findings):
            table.add_row(plain(finding.severity.name.lower(),
                                style=SEVERITY_STYLE[finding.severity]),
                          plain(finding.label), plain(finding.subject), key=str(index))
        if not self.findings and self.evidence.state is None and not self._static:
            self.query_one("#diag-text", Static).update(
                Text("Waiting for the live state over AMI: the diagnoses of unknown senders, "
                     "rejected calls and missing audio need it.", style="yellow"))
        elif not self.findings:
            self.query_one("#diag-text", Static).update(
                Text("No failure diagnosed: trunks reachable, no unknown senders, no "
                     "rejected calls, audio arriving.", style="green"))
        elif 0 <= selected < len(self.findings):
            table.move_cursor(row=selected)
            self._detail(selected)

    @on(DataTable.RowHighlighted, "#diag-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, row: int) -> None:
        if 0 <= row < len(self.findings):
            self.query_one("#diag-text", Static).update(finding_text(self.findings[row]))

    def _current(self) -> Finding | None:
        row = self.query_one("#diag-table", DataTable).cursor_row
        return self.findings[row] if 0 <= row < len(self.findings) else None

    @on(DataTable.RowSelected, "#diag-table")
    def _selected(self, _event: DataTable.RowSelected) -> None:
        self.action_apply_fix()  # Enter on a finding: its guided change

    def action_apply_fix(self) -> None:
        finding = self._current()
        if finding is None or finding.proposal is None:
            self.notify("this finding has no guided change: its fix is text to follow",
                        severity="warning")
            return
        self.app.propose(replace(finding.proposal, why=finding.title))

    def action_workflow(self) -> None:
        finding = self._current()
        trunk = ""
        if finding is not None:
            proposal = finding.proposal
            trunk = proposal.trunk if isinstance(proposal, AddProviderAddress | RouteDid) \
                else str(finding.details.get("trunk", ""))
        self.app.open_workflow(trunk)
