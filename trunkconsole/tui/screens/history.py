"""The History screen: what the journal says happened, per trunk plots, and evidence.

Left: the timeline (newest last). Right: each trunk's availability, RTT and calls over the
window as one-line plots, flaps and outages; Enter on an item shows the journal rows
behind it. Data comes from the core (journal.history); this screen only renders it.

`watch` keeps writing the journal: while this screen shows, the app's tick re-reads it
every REFRESH_TICKS, in a thread worker and only when the file changed (a day of 50
trunks sampled every 30 s took 0.75-1.8 s to build here), and the table is rebuilt only
when the timeline changed, keeping the operator's row.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from trunkconsole.errors import OperatorError
from trunkconsole.journal.history import (
    History,
    Item,
    build_history,
    default_journal,
    evidence_rows,
    spark,
)
from trunkconsole.journal.media import fmt
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.status_bar import StatusBar
from trunkconsole.visible import visible

WINDOWS = (3600.0, 86400.0, 7 * 86400.0)
WINDOW_NAMES = {3600.0: "1h", 86400.0: "24h", 7 * 86400.0: "7d"}
KIND_STYLE = {"contact-unreachable": "bold red", "finding-raised": "yellow",
              "senders": "red", "contact-reachable": "green", "calls-resume": "green",
              "finding-cleared": "green", "change-applied": "cyan",
              "call-quality": "yellow", "contact-removed": "yellow"}


def trunk_summary(history: History) -> Group:
    parts: list[Text] = [plain(f"{WINDOW_NAMES.get(history.until - history.since, '')} "
                               f"from {history.journal}", style="dim")]
    for name, series in sorted(history.trunks.items()):
        known = [a for a in series.availability if a is not None]
        share = f"{100 * sum(known) / len(known):.1f}%" if known else "unknown"
        head = Text("\n")
        head.append_text(plain(name, style="bold"))
        head.append(visible(f"  available {share}  flaps {series.flaps}  outages "
                            f"{len(series.outages)}  calls {sum(series.calls)} "
                            f"({sum(series.failed_calls)} failed)"))
        parts.append(head)
        rtts = [v for v in series.rtt_ms if v is not None]
        parts.append(plain(f"up    {spark(series.availability, 1.0)}", style="green"))
        parts.append(plain(f"RTT   {spark(series.rtt_ms)}"
                           + (f" max {max(rtts):.0f} ms" if rtts else "")))
        parts.append(plain(f"calls {spark([float(c) for c in series.calls])}"))
        if (media := series.media) is not None:
            parts.append(plain(f"media {media.calls} calls with RTCP, MOS mean "
                               f"{fmt(media.mos_mean)}, worst {fmt(media.mos_min)}, "
                               f"{media.poor} poor", style="yellow" if media.poor else ""))
    if not history.trunks:
        parts.append(Text("no trunk in the journal for this window", style="dim"))
    return Group(*parts)


def _file_state(path: Path) -> tuple[float, int]:
    """mtime and size, or zeros when the file is missing."""
    try:
        info = path.stat()
    except OSError:
        return (0.0, 0)
    return (info.st_mtime, info.st_size)


def _row_key(item: Item) -> tuple[float, str, str]:
    return (item.at, item.kind, item.trunk)


class HistoryScreen(LiveScreen):
    """The journal's timeline and per-trunk plots; Enter shows an item's evidence."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Re-read journal", id="history-reload"),
        Binding("w", "window", "1h/24h/7d", id="history-window"),
    ]
    # Re-read the journal every 30 s (90 ticks at 3 Hz) while shown; r re-reads now.
    REFRESH_TICKS: ClassVar[int] = 90

    def __init__(self) -> None:
        super().__init__()
        self.window = 86400.0
        self.history: History | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._summary: object = None
        self._read: tuple[object, ...] = ()  # the journal file as last read

    DEFAULT_CSS = """
    #history-trunks-scroll { height: auto; max-height: 45%; }
    #history-table { height: 1fr; }
    #history-evidence-scroll { height: auto; max-height: 30%; }
    """

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with Vertical():
            with VerticalScroll(id="history-trunks-scroll"):
                yield Static(id="history-trunks")
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="history-evidence-scroll"):
                yield Static(id="history-evidence")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#history-table", DataTable)
        table.add_column("when", width=11, key="when")
        table.add_column("trunk", width=10, key="trunk")
        table.add_column("what", width=120, key="what")
        table.focus()
        self.refresh_live()

    def refresh_live(self) -> None:
        """The app's tick (every REFRESH_TICKS while shown) and a return to the screen."""
        self._load(self.window, force=False)

    def action_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self._load(self.window)

    def action_reload(self) -> None:
        self._load(self.window)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _load(self, window: float, force: bool = True) -> None:
        path = default_journal()
        seen = (window, *_file_state(path), *_file_state(path.with_name(path.name + "-wal")))
        if not force and seen == self._read:
            return  # nothing written since: the plots move on at the next change or key
        try:
            history: History | str = build_history(path, window)
        except OperatorError as exc:
            history = exc.render()
        self._read = seen
        self.app.call_from_thread(self._show, history)

    def _show(self, history: History | str) -> None:
        table = self.query_one("#history-table", DataTable)
        summary = self.query_one("#history-trunks", Static)
        if isinstance(history, str):
            self.history, self._rows = None, []
            table.clear()
            if history != self._summary:
                self._summary = history
                summary.update(plain_lines(history, style="yellow"))
            return
        previous = self.history
        self.history = history
        rows = [(item.at, item.end, item.kind, item.trunk, item.text) for item in history.items]
        if rows != self._rows:
            self._fill(table, history, previous)
            self._rows = rows
        rendered = trunk_summary(history)
        # What the plots say, styles included: Static.update() re-lays out the screen.
        shown = [(part.plain, [str(span) for span in part.spans], str(part.style))
                 for part in rendered.renderables if isinstance(part, Text)]
        if shown != self._summary:
            self._summary = shown
            summary.update(rendered)

    def _fill(self, table: DataTable[Any], history: History, previous: History | None) -> None:
        """Rebuild the timeline; the cursor stays on the operator's item, or follows the
        newest when it was there."""
        row = table.cursor_row
        old = previous.items if previous is not None else []
        following = not old or row >= len(old) - 1
        keep = _row_key(old[row]) if not following and 0 <= row < len(old) else None
        table.clear()
        for index, item in enumerate(history.items):
            when = time.strftime("%H:%M", time.localtime(item.at))
            if item.end is not None and item.end - item.at >= 60:
                when += "-" + time.strftime("%H:%M", time.localtime(item.end))
            table.add_row(plain(when), plain(item.trunk),
                          plain(item.text, style=KIND_STYLE.get(item.kind, "")),
                          key=str(index))
        if not history.items:
            return
        keys = [_row_key(item) for item in history.items]
        target = keys.index(keep) if keep in keys else len(history.items) - 1
        table.move_cursor(row=target)

    @on(DataTable.RowSelected, "#history-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        history = self.history
        if history is None or not 0 <= event.cursor_row < len(history.items):
            return
        self._evidence(history.items[event.cursor_row])

    @work(thread=True, exclusive=True, group="history-evidence", exit_on_error=False)
    def _evidence(self, item: Item) -> None:
        """The journal rows behind an item (an SQLite read: off the event loop)."""
        try:
            lines = evidence_rows(default_journal(), item.evidence)
        except OperatorError as exc:
            lines = [exc.render()]
        except sqlite3.Error as exc:  # rotated or locked since the timeline was read
            lines = [f"cannot read the journal: {exc}"]
        text = plain(f"evidence: {item.text}", style="bold")
        text.append("\n")
        text.append_text(plain_lines("\n".join(lines) or "no rows", style="dim"))
        self.app.call_from_thread(self.query_one("#history-evidence", Static).update, text)
