"""The dashboard: trunks, live channels and unknown senders, refreshed at the app's tick.

AMI callbacks only feed PbxState; this screen pulls on the app's 3 Hz tick (never per
event) and hands each LiveTable the full picture, which then touches only changed cells.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Input, Static

from trunkconsole.calls.quality import CallQuality
from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.errors import OperatorError
from trunkconsole.findings import AddProviderAddress
from trunkconsole.model.keys import CHANNEL, ENDPOINT, QUALITY, SENDER
from trunkconsole.model.records import Endpoint
from trunkconsole.model.state import PbxState
from trunkconsole.model.views import trunk_summary
from trunkconsole.net.ban_watch import BanWatch, trunk_addresses
from trunkconsole.net.bans import Ban
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.rows import (
    CHANNEL_COLUMNS,
    QUALITY_CELLS,
    SENDER_COLUMNS,
    TRUNK_COLUMNS,
    channel_cells,
    clock_text,
    matches,
    sender_cells,
    trunk_cells,
    with_quality,
)
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.line_table import LineTable
from trunkconsole.tui.widgets.live_table import Cells, LiveTable
from trunkconsole.tui.widgets.status_bar import StatusBar

# Codecs of calls with RTCP figures: asked every CODEC_POLL_TICKS app ticks (5 s at 3 Hz)
# while the dashboard shows and such a call lacks its codec; on the app's one timer.
CODEC_POLL_TICKS = 15
QUALITY_COLUMNS = range(QUALITY_CELLS.start, QUALITY_CELLS.stop)  # MOS, loss, jitter
SENDERS_CAPTION = "Unknown senders (no identify matches them; Asterisk answers 401)"


class DashboardScreen(LiveScreen):
    """Every trunk's health, every call, and who knocks without an identify match."""

    DEFAULT_CSS = """
    DashboardScreen #trunks { height: auto; max-height: 45%; }
    DashboardScreen #channels { height: 1fr; min-height: 4; }
    DashboardScreen #senders { height: auto; max-height: 30%; }
    DashboardScreen .caption { height: 1; color: $text-muted; padding: 0 1; }
    DashboardScreen #problems { color: $text-warning; padding: 0 1; height: auto; }
    DashboardScreen #senders-resolved { color: $text-success; padding: 0 1; height: auto;
                                        max-height: 3; display: none; }
    DashboardScreen #filter { dock: bottom; display: none; }
    DashboardScreen #filter.shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="dashboard-filter"),
        Binding("s", "sort", "Sort", id="dashboard-sort"),
        Binding("r", "reverse", "Reverse", id="dashboard-reverse"),
        Binding("enter", "details", "Details", show=True, id="dashboard-details"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="dashboard-clear"),
    ]

    def __init__(self, bans: BanWatch | None = None, *, watch_bans: bool = True) -> None:
        """bans None: this host's, read through the app's firewall feed when the rules
        change (net/ban_watch.py), from the first trunks on; watch_bans False: none (tests
        feeding a model)."""
        super().__init__()
        self.ban_watch = bans
        self._watch_bans = watch_bans
        self._ban_started = False
        self._ban_keys: dict[str, tuple[str, ...]] = {}  # trunk -> addresses last looked up
        self.trunk_bans: dict[str, list[Ban]] = {}
        self.filter_text = ""
        self._senders_dirty = True
        self._channels_dirty = True
        self._trunk_names: list[str] | None = None
        self._second = -1
        self._now = 0.0
        self._channel_cells: dict[str, Cells] = {}
        self._channel_order: list[str] | None = None  # by creation; None: calls came or went
        self._touched: set[str] = set()  # channels changed since their rows were synced
        self._rated: set[str] = set()  # channels with new RTCP figures since then
        # Rows whose MOS/loss/jitter cells wait for their row to show (or a sort on them).
        self._unrated: set[str] = set()
        self._sort_notes: dict[str, str] = {}  # table id -> "  (sorted by ...)"
        self._caption = ""
        self._problems = "\0"  # differs from any text: the first refresh sets it
        self._codec_ticks = 0

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        yield Static(id="problems", markup=False)
        with Vertical():
            yield Static("Trunks", classes="caption", id="trunks-caption")
            yield LiveTable(TRUNK_COLUMNS, id="trunks")
            yield Static("Channels", classes="caption", id="channels-caption")
            yield LiveTable(CHANNEL_COLUMNS, id="channels", sort_index=8, sort_reverse=True)
            yield Static(SENDERS_CAPTION, classes="caption", id="senders-caption")
            yield LiveTable(SENDER_COLUMNS, id="senders", sort_index=2, sort_reverse=True)
            yield Static(id="senders-resolved", markup=False)
        yield Input(placeholder="filter: part of a name, address, caller, DID",
                    id="filter")
        yield Footer()

    def on_mount(self) -> None:
        channels = self.query_one("#channels", LiveTable)
        channels.set_volatile("duration", self._duration)
        channels.before_sort = self._rate_all
        self.query_one("#trunks", LiveTable).focus()
        self.refresh_live()

    def tick(self) -> None:
        super().tick()
        self._codec_ticks += 1
        if self._codec_ticks >= CODEC_POLL_TICKS:
            self._codec_ticks = 0
            self._poll_codecs()

    @work(exclusive=True, group="codecs", exit_on_error=False)
    async def _poll_codecs(self) -> None:
        """Codecs of the calls with RTCP figures (MOS depends on them), from
        `pjsip show channelstats`; only while such a call lacks its codec."""
        live = self.app.live
        ami = self.app.ami_actions()
        if live is None or ami is None or not any(
                not q.codec for q in live.state.quality.calls.values()):
            return
        with contextlib.suppress(OperatorError, TimeoutError):
            stats = parse_channelstats(await ami.command("pjsip show channelstats"))
            live.state.quality.set_codecs({name: s.codec for name, s in stats.items()})

    def on_screen_resume(self) -> None:
        self._senders_dirty = self._channels_dirty = True  # LiveScreen's handler refreshes
        self._trunk_names = None

    # -- pulling the model ---------------------------------------------------------------
    def refresh_live(self) -> None:
        """Called by the app's tick: diff the model into the tables."""
        live = self.app.live
        if live is None:
            return
        state = live.state
        changes = state.take_changes()
        if any(kind == SENDER for kind, _ in changes):
            self._senders_dirty = True
        now = self.app.wall_clock()
        needle = self.filter_text
        kinds = {kind for kind, _ in changes}
        if self._trunk_names is None:
            self._trunk_names = sorted(e.name for e in state.trunks())
        elif ENDPOINT in kinds:
            # Only the endpoints that changed can have become (or stopped being) trunks:
            # never a pass over 10,000 phones per tick while their listing streams in.
            names = set(self._trunk_names)
            for kind, name in changes:
                if kind == ENDPOINT:
                    endpoint = state.endpoints.get(name)
                    if endpoint is not None and endpoint.is_trunk:
                        names.add(name)
                    else:
                        names.discard(name)
            if len(names) != len(self._trunk_names) or not names.issuperset(self._trunk_names):
                self._trunk_names = sorted(names)
        trunks = [state.endpoints[n] for n in self._trunk_names if n in state.endpoints]
        self._check_bans(state, trunks)
        trunk_rows = {t.name: cells for t in (trunk_summary(state, e, now) for e in trunks)
                      if matches(cells := trunk_cells(t, self.trunk_bans.get(t.name)),
                                 needle)}
        # Channel rows are rebuilt only for the channels an event touched; the Time column
        # follows the clock on the rows on screen only (once a second, or on a scroll).
        channels = self.query_one("#channels", LiveTable)
        second = int(now)
        self._now = now
        with self.app.batch_update():
            self.query_one("#trunks", LiveTable).sync(trunk_rows)
            touched, rated = self._touched, self._rated
            for kind, key in changes:
                if kind == CHANNEL:
                    touched.add(key)
                elif kind == QUALITY:
                    rated.add(key)
            # A call that comes or goes shows at this tick; a changed figure (RTCP of
            # hundreds of calls) waits for the second's refresh: one repaint a second.
            arrivals = any((uid in state.channels) != (uid in self._channel_cells)
                           for uid in touched)
            if self._channels_dirty or arrivals or (
                    (touched or rated) and second != self._second) or (
                    self._unrated and channels.viewport_moved):
                self._sync_channels(state, channels, now, needle, touched, rated)
                self._touched, self._rated = set(), set()
            if second != self._second or channels.viewport_moved:
                channels.refresh_volatile()
            self._second = second
            if self._senders_dirty:
                sender_rows: dict[str, Cells] = {
                    s.address: cells for s in state.senders.by_address.values()
                    if matches(cells := sender_cells(s), needle)}
                self.query_one("#senders", LiveTable).sync(sender_rows)
                self._show_resolved(state)
                self._senders_dirty = False
            # Static.update() re-lays out the screen: only when the text really changed.
            caption = f"Channels ({len(state.channels)}){self._sort_notes.get('channels', '')}"
            if caption != self._caption:
                self._caption = caption
                self.query_one("#channels-caption", Static).update(plain(caption),
                                                                   layout=False)
            problems_text = "\n".join([*live.problems, *self._ban_lines()])
            if problems_text != self._problems:
                self._problems = problems_text
                problems = self.query_one("#problems", Static)
                problems.update(plain_lines(problems_text))
                problems.display = bool(problems_text)

    def _sync_channels(self, state: PbxState, table: LiveTable, now: float, needle: str,
                       touched: set[str], rated: set[str]) -> None:
        """Cells for the channels an event touched (all after a filter change or a
        resume), the quality cells only of those with just new RTCP figures, and of
        those only the rows on screen unless the filter or the sort reads them all (MOS
        of hundreds of calls off screen is computed when its row shows); the table
        compares only those."""
        cache = self._channel_cells
        if self._channels_dirty:
            cache.clear()
            touched = set(state.channels)
            self._channel_order = None
            self._unrated.clear()
            self._channels_dirty = False
        quality = state.quality.calls
        for uid in touched:
            channel = state.channels.get(uid)
            if channel is None:
                if cache.pop(uid, None) is not None:
                    self._channel_order = None
            else:
                if uid not in cache:
                    self._channel_order = None
                cache[uid] = channel_cells(channel, now, quality.get(uid))
        if len(cache) > len(state.channels):  # (every hangup is a change: a safety net)
            for uid in [u for u in cache if u not in state.channels]:
                del cache[uid]
                self._channel_order = None
        unrated = self._unrated
        unrated -= touched  # their cells were just built, figures included
        unrated |= rated - touched
        unrated.intersection_update(cache)
        reads_all = bool(needle) or table.sort_index in QUALITY_COLUMNS
        rate = set(unrated) if reads_all else unrated.intersection(table.visible_keys())
        self._rate(rate, quality)
        unrated -= rate
        changed = touched | rate
        if self._channel_order is None or needle:
            order = self._channel_order
            if order is None:
                channels = state.channels
                order = self._channel_order = sorted(cache, key=lambda u: channels[u].order)
            rows = {uid: cache[uid] for uid in order if matches(cache[uid], needle)} \
                if needle else {uid: cache[uid] for uid in order}
            table.sync(rows, only=changed)
        else:  # the same calls: only the changed rows are compared
            table.update_rows({uid: cache[uid] for uid in changed if uid in cache})
        if unrated and table.viewport_moved and not reads_all:
            # The sync moved rows (a call came or went): those now on screen catch up.
            shown = unrated.intersection(table.visible_keys())
            if shown:
                self._rate(shown, quality)
                unrated -= shown
                table.update_rows({uid: cache[uid] for uid in shown})

    def _rate(self, uids: set[str], quality: Mapping[str, CallQuality]) -> None:
        """The MOS/loss/jitter of these calls into their cached row cells."""
        cache = self._channel_cells
        for uid in uids:
            cells = cache.get(uid)
            if cells is not None:
                cache[uid] = with_quality(cells, quality.get(uid))

    def _rate_all(self, sort_index: int) -> None:
        """Before the channels are sorted on MOS, loss or jitter: every row's figures."""
        if sort_index not in QUALITY_COLUMNS or not self._unrated:
            return
        live = self.app.live
        if live is None:
            return
        table = self.query_one("#channels", LiveTable)
        shown = {uid for uid in self._unrated if uid in table}
        self._rate(shown, live.state.quality.calls)
        for uid in shown:
            cells = self._channel_cells.get(uid)
            if cells is not None:
                for index in QUALITY_COLUMNS:
                    table.update_cell(uid, CHANNEL_COLUMNS[index].key, cells[index])
        self._unrated.clear()

    def _duration(self, uid: str) -> str:
        live = self.app.live
        channel = live.state.channels.get(uid) if live is not None else None
        return clock_text(channel.duration(self._now)) if channel is not None else ""

    # -- bans (fail2ban, CrowdSec, FreePBX) on the trunks' addresses ----------------------
    def _check_bans(self, state: PbxState, trunks: list[Endpoint]) -> None:
        """Read the bans again (in a thread) when the rules changed or a trunk's
        addresses did; the first trunks start the watcher."""
        if self.ban_watch is None and self._watch_bans and trunks:
            self.ban_watch = BanWatch.from_feed(self.app.firewall)
        watch = self.ban_watch
        if watch is None or not trunks:
            return
        if not self._ban_started:
            self._ban_started = True
            watch.start()
        wanted = {e.name: tuple(trunk_addresses(e.matches, (c.uri for c in state.contacts_of(
            e)))) for e in trunks}
        if any(w.group == "dashboard-bans" and not w.is_finished for w in self.workers):
            return
        if wanted != self._ban_keys or watch.due():
            self._ban_keys = wanted
            self._read_bans(watch, wanted)

    @work(thread=True, group="dashboard-bans", exit_on_error=False)
    def _read_bans(self, watch: BanWatch, wanted: dict[str, tuple[str, ...]]) -> None:
        bans = watch.read() if watch.due() or watch.bans is None else watch.bans
        found = {name: b for name, addresses in wanted.items()
                 if (b := bans.of(addresses))} if bans is not None else {}
        self.app.call_from_thread(setattr, self, "trunk_bans", found)

    def _ban_lines(self) -> list[str]:
        return [f"trunk {name}: {ban.address} BANNED by {ban.describe(where=False)}; lift: "
                f"{ban.lift()}" for name, bans in sorted(self.trunk_bans.items())
                for ban in bans]

    def on_unmount(self) -> None:
        if self.ban_watch is not None and self._ban_started:
            self.ban_watch.stop()

    def _show_resolved(self, state: PbxState) -> None:
        """Senders an identify now matches: resolved, when, and by which identify."""
        lines = [f"resolved {time.strftime('%H:%M:%S', time.localtime(r.at))}: {r.address} "
                 f"{r.describe()}" for r in list(state.senders.resolved.values())[-3:]]
        resolved = self.query_one("#senders-resolved", Static)
        resolved.update(plain_lines("\n".join(lines)))
        resolved.display = bool(lines)

    # -- actions ---------------------------------------------------------------------------
    def _focused_table(self) -> LiveTable:
        focused = self.focused
        if isinstance(focused, LiveTable):
            return focused
        return self.query_one("#trunks", LiveTable)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("shown")
        self._apply_filter("")
        self.query_one("#trunks", LiveTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, _event: Input.Submitted) -> None:
        if not self.filter_text:
            self.query_one("#filter", Input).remove_class("shown")
        self.query_one("#trunks", LiveTable).focus()

    def _apply_filter(self, value: str) -> None:
        self.filter_text = value.strip().casefold()
        self._senders_dirty = self._channels_dirty = True
        self.refresh_live()

    def action_sort(self) -> None:
        table = self._focused_table()
        self._note_sort(table, table.cycle_sort())

    def action_reverse(self) -> None:
        table = self._focused_table()
        self._note_sort(table, table.reverse_sort())

    def _note_sort(self, table: LiveTable, label: str) -> None:
        """The order in the table's caption: a toast per key press would mount and
        unmount a widget, each a layout of the whole screen (tens of ms with hundreds of
        calls shown), so fast key presses would queue behind them."""
        name = str(table.id)
        self._sort_notes[name] = f"  ({'' if label == 'unsorted' else 'sorted '}{label})"
        texts = {"trunks": "Trunks", "senders": SENDERS_CAPTION,
                 "channels": self._caption.partition("  (")[0] or "Channels"}
        caption = texts.get(name, name) + self._sort_notes[name]
        if name == "channels":
            self._caption = caption
        self.query_one(f"#{name}-caption", Static).update(plain(caption), layout=False)

    def action_details(self) -> None:
        self._open(self._focused_table())

    @on(LineTable.RowSelected)
    def _row_selected(self, event: LineTable.RowSelected) -> None:
        if isinstance(event.table, LiveTable):
            self._open(event.table)

    def _open(self, table: LiveTable) -> None:
        key = table.selected_key()
        if key is None:
            return
        if table.id == "trunks":
            from trunkconsole.tui.screens.trunk_detail import TrunkDetailScreen

            self.app.push_screen(TrunkDetailScreen(key))
        elif table.id == "channels":
            from trunkconsole.tui.screens.channel_detail import ChannelDetailScreen

            self.app.push_screen(ChannelDetailScreen(key))
        elif table.id == "senders":
            self._add_sender(key)

    def _add_sender(self, address: str) -> None:
        """An unknown sender: propose the trunk it most likely belongs to, and open the
        add-IP flow prefilled (same /24 as a known match, its From users seen before)."""
        live = self.app.live
        sender = live.state.senders.by_address.get(address) if live is not None else None
        why = f"{address}: {sender.count if sender else '?'} request(s) refused with 401"
        self._propose(address, list(sender.accounts) if sender else [], why)

    @work(exclusive=True, group="dashboard-propose", exit_on_error=False)
    async def _propose(self, address: str, accounts: list[str], why: str) -> None:
        from trunkconsole.diagnose.propose import propose_trunks

        config = await asyncio.to_thread(self.app.asterisk_config)  # a parse: not on the loop
        candidates = propose_trunks(config, address, from_users=accounts) \
            if config is not None else []
        trunk = ""
        if candidates:
            trunk = candidates[0].trunk
            why += f"; most likely trunk {trunk}: " + "; ".join(candidates[0].reasons)
        self.app.propose(AddProviderAddress(trunk=trunk, address=address, why=why))
