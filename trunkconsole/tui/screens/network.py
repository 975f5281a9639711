"""The network screen: would each provider address get in? SIP per transport, and RTP.

One row per provider address (identify matches, aor contacts), one column per PJSIP
transport and one for the RTP range, green/red/amber from the verdict engine
(trunkconsole.net); Enter explains a row. Host facts below. The report is gathered in
a thread worker (nft/iptables-save subprocesses, pyroute2) on open and on `r`, never on
the 3 Hz tick: reading a ruleset costs tens of milliseconds to seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.theme import Theme
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from trunkconsole.errors import OperatorError
from trunkconsole.net.feed import RulesetFeed
from trunkconsole.net.report import NetworkReport, ProviderRow
from trunkconsole.net.verdict import Decision
from trunkconsole.net.watch import RulesetWatcher
from trunkconsole.tui.dialogs.verdict_detail import VerdictDetailDialog
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.host_facts import HostFactsView
from trunkconsole.tui.widgets.status_bar import StatusBar
from trunkconsole.tui.widgets.verdict_style import VerdictStyles
from trunkconsole.visible import visible, visible_lines

ReportMaker = Callable[[Path], NetworkReport]
CELL_WIDTH = 10  # "✗ BLOCKED", "- hostname"
WORKER_GROUP = "network-report"


def live_report(config_dir: Path, feed: RulesetFeed | None = None) -> NetworkReport:
    """This host's rules (through the feed when given), addresses and sockets."""
    from trunkconsole.net.gather import gather_report

    return gather_report(config_dir, feed=feed)


def row_key(row: ProviderRow) -> str:
    return f"{row.address.provider}\0{row.address.address}"


def transport_label(name: str) -> str:
    """`transport-udp` -> `SIP udp`: the common prefix says nothing in a narrow column."""
    for prefix in ("transport-", "transport_"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return f"SIP {name[len(prefix):]}"
    return f"SIP {name}"


def problems(row: ProviderRow) -> str:
    """What is wrong with a row, in a few words (the dialog has the rest)."""
    parts: list[str] = [f"BANNED by {ban.describe()}" for ban in row.bans]
    for name, verdict in row.sip.items():
        if verdict.decision is Decision.DROP and verdict.deciding is not None:
            parts.append(f"SIP {name} dropped by {verdict.deciding.label}")
        elif verdict.decision is Decision.DEPENDS:
            parts.append(f"SIP {name} depends on {len(verdict.conditions)} thing(s) the "
                         "rules cannot decide")
    if row.rtp is not None:
        for port_class in row.rtp.classes:
            verdict = port_class.verdict
            if verdict.decision is Decision.DROP and verdict.deciding is not None:
                parts.append(f"RTP {port_class.ports()} dropped by {verdict.deciding.label}")
            elif verdict.decision is Decision.DEPENDS:
                parts.append(f"RTP {port_class.ports()} depends")
    if row.note:
        parts.append(row.note)
    if not parts and row.sip:
        parts.append("SIP and RTP accepted")
    return "; ".join(parts)


class NetworkScreen(LiveScreen):
    """Provider addresses against the firewall, and the host's addresses and sockets."""

    TITLE = "Network"
    DEFAULT_CSS = """
    NetworkScreen #network-state { height: auto; padding: 0 1; }
    NetworkScreen #network-table { height: auto; max-height: 60%; min-height: 3; }
    NetworkScreen #network-row {
        height: auto; max-height: 3; padding: 0 1; background: $boost;
    }
    NetworkScreen #network-host-scroll { height: 1fr; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the focused table's own (hidden) enter would hide "Why" in the footer
        Binding("enter", "explain", "Why", id="network-explain", priority=True),
        Binding("r", "reload", "Re-read rules", id="network-reload"),
        Binding("T", "trace", "Trace", id="network-trace"),
    ]

    def __init__(self, report_maker: ReportMaker | None = None,
                 watcher: RulesetWatcher | None = None) -> None:
        """report_maker None: this host's rules through the app's feed (one nft monitor
        for the console, read once per change: net/feed.py); a maker of its own may come
        with a watcher of its own, which this screen starts and stops."""
        super().__init__()
        self.report_maker = report_maker
        self.watcher = watcher
        self._requested_at = 0.0  # wall clock of the last read's start
        self.report: NetworkReport | None = None
        self.failure = ""  # the report could not be built at all
        self.read_at: float | None = None
        self.rows: dict[str, ProviderRow] = {}
        self._shown_age = -1

    def compose(self) -> ComposeResult:
        self.verdict_styles = VerdictStyles.from_app(self.app)
        yield StatusBar()
        yield Static(Text("Reading the firewall and host facts..."), id="network-state",
                     markup=False)
        table: DataTable[Text] = DataTable(id="network-table", cursor_type="row")
        yield table
        yield Static(id="network-row", markup=False)
        with VerticalScroll(id="network-host-scroll"):
            yield HostFactsView(id="network-host", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.watcher is not None:
            self.watcher.start()
        elif self.report_maker is None:
            self.app.firewall.start()
        self.action_reload()

    def _theme_changed(self, _theme: Theme) -> None:
        """Cells are Rich Text with colours taken from the theme: rebuild them."""
        self.verdict_styles = VerdictStyles.from_app(self.app)
        self.show_report()

    # -- gathering ----------------------------------------------------------------------
    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    def action_reload(self) -> None:
        """Read the rules and host facts again, in a thread."""
        self.query_one("#network-table", DataTable).loading = True
        self._requested_at = time.time()
        self._gather()

    @work(thread=True, exclusive=True, exit_on_error=False, group=WORKER_GROUP)
    def _gather(self) -> NetworkReport:
        if self.report_maker is not None:
            return self.report_maker(self.app.settings.asterisk_dir)
        return live_report(self.app.settings.asterisk_dir, self.app.firewall)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != WORKER_GROUP or worker.node is not self:
            return
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, NetworkReport):
            self.report, self.failure = worker.result, ""
        elif event.state is WorkerState.ERROR:
            error = worker.error
            self.failure = error.render() if isinstance(error, OperatorError) else \
                f"the network report failed: {type(error).__name__}: {error}"
        else:
            return
        self.read_at = self.app.clock()
        self.query_one("#network-table", DataTable).loading = False
        self.show_report()

    # -- showing ------------------------------------------------------------------------
    def show_report(self) -> None:
        """Rebuild the table (a handful of rows: clear and re-add), keeping the cursor."""
        report = self.report
        table: DataTable[Text] = self.query_one("#network-table", DataTable)
        kept = self._cursor_key()
        table.clear(columns=True)
        self.rows = {}
        if report is not None:
            self._fill(table, report)
            self.query_one("#network-host", HostFactsView).show(report, self.verdict_styles)
        if kept in self.rows:
            table.move_cursor(row=table.get_row_index(kept), animate=False)
        self._shown_age = -1
        self.refresh_live()
        self._show_row()

    def _fill(self, table: DataTable[Text], report: NetworkReport) -> None:
        transports = list(dict.fromkeys(n for row in report.rows for n in row.sip))
        provider_width = min(max((len(r.address.provider) for r in report.rows), default=8),
                             22)
        address_width = min(max((len(r.address.address) for r in report.rows), default=9),
                            26)
        table.add_column("provider", width=max(provider_width, 8), key="provider")
        table.add_column("address", width=max(address_width, 7), key="address")
        for name in transports:
            label = transport_label(name)
            table.add_column(label, width=max(len(label), CELL_WIDTH), key=f"sip:{name}")
        if not transports:  # nothing evaluated (rules unreadable): say so under "SIP"
            table.add_column("SIP", width=CELL_WIDTH, key="sip")
        table.add_column("RTP", width=CELL_WIDTH, key="rtp")
        for row in report.rows:
            key = row_key(row)
            self.rows[key] = row
            cells = [plain(row.address.provider), plain(row.address.address)]
            for name in transports or [""]:
                verdict = row.sip.get(name)
                cells.append(self.verdict_styles.sip_cell(verdict) if verdict is not None
                             else self._unchecked(report, row))
            cells.append(self.verdict_styles.rtp_cell(row.rtp) if row.rtp is not None
                         else self._unchecked(report, row))
            table.add_row(*cells, key=key)

    def _unchecked(self, report: NetworkReport, row: ProviderRow) -> Text:
        if row.source is None:
            return self.verdict_styles.unchecked("hostname")
        if report.firewall_error:
            return self.verdict_styles.unchecked("unread")
        return self.verdict_styles.unchecked("n/a")  # the transport is of the other IP family

    def _state_text(self, age: int) -> Text:
        styles, report = self.verdict_styles, self.report
        if self.failure:
            return plain_lines(self.failure, style=styles.drop)
        if report is None:
            return Text("Reading the firewall and host facts...")
        text = Text()
        if report.firewall_error:
            text.append("Firewall not checked: ", style=styles.drop)
            text.append(visible_lines(report.firewall_error))
            text.append("\nHost facts below are still checked.  ")
        else:
            text.append(visible(f"Firewall read {age} s ago: "))
            blocked = sum(1 for r in report.rows if _worst(r) is Decision.DROP)
            depends = sum(1 for r in report.rows if _worst(r) is Decision.DEPENDS)
            count = len(report.rows)
            text.append(visible(f"{count} address{'' if count == 1 else 'es'}, "))
            text.append(visible(f"{blocked} blocked"),
                        style=styles.drop if blocked else styles.muted)
            text.append(", ")
            text.append(visible(f"{depends} undecided"),
                        style=styles.depends if depends else styles.muted)
            banned = sum(1 for r in report.rows if r.bans)
            if banned:
                text.append(", ")
                text.append(visible(f"{banned} banned"),
                            style=styles.drop)
            text.append(".  ")
        text.append("r re-read", style=styles.muted)
        return text

    def refresh_live(self) -> None:
        """3 Hz from the app: the age of the report changes; the rules are read again only
        when the watcher saw them change since the last read began."""
        watch = self.watcher if self.watcher is not None else (
            self.app.firewall if self.report_maker is None else None)
        if watch is not None and watch.changed_since(self._requested_at) and \
                not any(w.group == WORKER_GROUP and not w.is_finished
                        for w in self.workers):
            self.action_reload()
        age = 0 if self.read_at is None else max(0, int(self.app.clock() - self.read_at))
        if age != self._shown_age:
            self._shown_age = age
            self.query_one("#network-state", Static).update(self._state_text(age))

    def _cursor_key(self) -> str | None:
        table: DataTable[Text] = self.query_one("#network-table", DataTable)
        if not table.is_valid_coordinate(table.cursor_coordinate):
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted, "#network-table")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_row()

    def _show_row(self) -> None:
        label = self.query_one("#network-row", Static)
        row = self.rows.get(self._cursor_key() or "")
        if row is None:
            label.update(plain("no provider addresses in the config" if self.report else ""))
            return
        text = plain(f"{row.address.provider} {row.address.address}", style="bold")
        where = " ".join(p for p in (row.address.origin, row.address.location) if p)
        text.append(visible(f"  {where}" if where else ""), style=self.verdict_styles.muted)
        if row.iif:
            text.append(visible(f"  arrives on {row.iif}"), style=self.verdict_styles.muted)
        text.append("\n")
        worst = _worst(row)
        what = problems(row) or "not checked: the firewall was not read"
        text.append(visible(what), style=self.verdict_styles.of(worst) if worst else "")
        text.append("  (Enter: path and what to change)", style=self.verdict_styles.muted)
        label.update(text)

    # -- explaining ---------------------------------------------------------------------
    @on(DataTable.RowSelected, "#network-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._explain(event.row_key.value)

    def action_trace(self) -> None:
        """T: the kernel's own answer for the highlighted address's next packet."""
        from trunkconsole.tui.dialogs.trace import TraceDialog

        row = self.rows.get(self._cursor_key() or "")
        if row is None or row.source is None:
            self.notify("no address to trace here", severity="warning")
            return
        self.app.push_screen(TraceDialog(row.source, bool(self.app.settings.readonly)))

    def action_explain(self) -> None:
        self._explain(self._cursor_key())

    def _explain(self, key: str | None) -> None:
        row = self.rows.get(key or "")
        if row is not None and self.report is not None:
            self.app.push_screen(VerdictDetailDialog(self.report, row, self.verdict_styles))


def _worst(row: ProviderRow) -> Decision | None:
    """DROP if anything (or part of RTP) is dropped, DEPENDS if anything depends."""
    decisions = {v.decision for v in row.sip.values()}
    if row.rtp is not None:
        decisions |= {c.verdict.decision for c in row.rtp.classes}
    for decision in (Decision.DROP, Decision.DEPENDS, Decision.ACCEPT):
        if decision in decisions:
            return decision
    return None
