"""The SIP logger screen: one provider's SIP messages, live, time-boxed.

Messages come from PJSIP's history buffer over AMI (see changes/sip_logger.py for why);
a guard process switches the logger off when the time box ends or this console exits or
crashes, so no logger is left running that the operator did not ask for.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, ContentSwitcher, DataTable, Footer, Input, Select, Static

from trunkconsole.calls.sip_history import SipMessage
from trunkconsole.changes.logger_on import switch_logger_on
from trunkconsole.changes.sip_logger import SipLogger
from trunkconsole.errors import OperatorError
from trunkconsole.tui.plain import plain, plain_lines
from trunkconsole.tui.screens.base import LiveScreen
from trunkconsole.tui.widgets.call_ladder import CallLadder
from trunkconsole.tui.widgets.status_bar import StatusBar

MAX_ROWS = 2000


class SipLoggerScreen(LiveScreen):
    """Logger on/off for a trunk, the messages, and the selected message in full."""

    DEFAULT_CSS = """
    SipLoggerScreen #logger-controls { height: auto; padding: 0 1; }
    SipLoggerScreen #logger-controls > * { margin-right: 1; }
    SipLoggerScreen #logger-trunk { width: 26; }
    SipLoggerScreen #logger-methods { width: 1fr; min-width: 12; }
    SipLoggerScreen #logger-seconds { width: 9; }
    SipLoggerScreen #logger-controls Button { min-width: 7; width: 7; }
    SipLoggerScreen #logger-status { height: auto; padding: 0 1; }
    SipLoggerScreen #logger-state { width: 1fr; height: auto; }
    SipLoggerScreen #logger-filter { width: 34; }
    SipLoggerScreen #logger-views { height: 1fr; }
    SipLoggerScreen #logger-body { height: 1fr; }
    SipLoggerScreen #logger-messages { width: 3fr; }
    SipLoggerScreen #logger-detail { width: 2fr; border-left: solid $primary; padding: 0 1; }
    """

    REFRESH_TICKS = 3  # 1 s at the app's 3 Hz: the countdown, and a poll of the history
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "start", "Logger on", id="logger-on"),
        Binding("ctrl+x", "stop", "Logger off", id="logger-off"),
        Binding("slash", "focus_filter", "Filter", id="logger-filter"),
        Binding("l", "toggle_ladder", "Calls/ladder", id="logger-ladder"),
    ]

    def __init__(self, messages: list[SipMessage] | None = None) -> None:
        """messages: show these (snapshots, a saved trace) besides what the logger brings."""
        super().__init__()
        self.logger: SipLogger | None = None
        self.messages: dict[int, SipMessage] = {m.number: m for m in messages or []}
        self.until = 0.0
        self._names: list[str] = []
        self._start_when_loaded = ""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="logger-controls"):
            yield Select([], prompt="trunk", id="logger-trunk")
            yield Input(placeholder="methods e.g. INVITE,BYE", id="logger-methods")
            yield Input("300", placeholder="seconds", id="logger-seconds")
            yield Button("On", variant="success", id="logger-start")
            yield Button("Off", variant="error", id="logger-stop")
        with Horizontal(id="logger-status"):
            yield Static(Text("SIP logger is off"), id="logger-state", markup=False)
            yield Input(placeholder="/ filter: method or Call-ID", id="logger-filter")
        with ContentSwitcher(initial="logger-body", id="logger-views"):
            with Horizontal(id="logger-body"):
                table: DataTable[Text] = DataTable(id="logger-messages", cursor_type="row")
                yield table
                with VerticalScroll(id="logger-detail"):
                    yield Static(id="logger-text", markup=False)
            yield CallLadder(id="logger-calls")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#logger-messages", DataTable)
        for label, width in (("time", 8), ("dir", 3), ("peer", 18), ("message", 44)):
            table.add_column(label, width=width, key=label)
        for message in self.messages.values():
            self._add_row(table, message)
        self.query_one(CallLadder).add_messages(list(self.messages.values()))
        self._load_trunks()

    @work(exclusive=True, group="logger-trunks", exit_on_error=False)
    async def _load_trunks(self) -> None:
        names = await asyncio.to_thread(self.app.trunk_names)  # a config parse: off the loop
        self._names = names
        select = self.query_one("#logger-trunk", Select)
        select.set_options([(plain(t), t) for t in names])
        if len(names) == 1:
            select.value = names[0]
        if self._start_when_loaded:
            self.start_for(self._start_when_loaded)

    def refresh_live(self) -> None:
        """Every second while shown: the countdown, and new messages from the history."""
        state = self.logger.state() if self.logger else None
        if state is not None:
            self._poll()
        label = self.query_one("#logger-state", Static)
        if state is None:
            label.update(Text("SIP logger is off"))
            return
        left = max(0, int(state.until - time.time()))
        label.update(plain(f"SIP logger on for {', '.join(state.hosts)}"
                           + (f" ({', '.join(state.methods)})" if state.methods else "")
                           + f": {left} s left, {len(self.messages)} messages",
                           style="bold green"))

    def start_for(self, trunk: str) -> None:
        """Choose a trunk and switch the logger on (from the command palette)."""
        if not self._names:
            self._start_when_loaded = trunk  # the trunk list is still being read
            return
        self._start_when_loaded = ""
        if trunk in self._names:
            self.query_one("#logger-trunk", Select).value = trunk
            self._start()

    # -- actions ----------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        if self.query_one(ContentSwitcher).current == "logger-calls":
            self.query_one("#calls-search", Input).focus()
            return
        self.query_one("#logger-filter", Input).focus()

    def action_toggle_ladder(self) -> None:
        """Messages one by one, or calls grouped by Call-ID with the ladder."""
        switcher = self.query_one(ContentSwitcher)
        calls = switcher.current != "logger-calls"
        switcher.current = "logger-calls" if calls else "logger-body"
        self.query_one("#calls" if calls else "#logger-messages").focus()

    @on(Button.Pressed, "#logger-start")
    def action_start(self) -> None:
        self._start()

    @on(Button.Pressed, "#logger-stop")
    def action_stop(self) -> None:
        self._stop()

    @work(exclusive=True, group="logger", exit_on_error=False)
    async def _start(self) -> None:
        app = self.app
        label = self.query_one("#logger-state", Static)
        ami = app.ami_actions()
        try:
            if app.settings.readonly:
                raise OperatorError("read-only mode: the SIP logger stays off")
            if ami is None:
                raise OperatorError("AMI is not connected")
            trunk = self.query_one("#logger-trunk", Select).value
            if not isinstance(trunk, str):
                raise OperatorError("choose the trunk to log")
            methods = [m.strip() for m in
                       self.query_one("#logger-methods", Input).value.split(",") if m.strip()]
            try:
                seconds = float(self.query_one("#logger-seconds", Input).value)
            except ValueError:
                raise OperatorError("the time box must be a number of seconds") from None
            # The same guarded switch as `logger on`; off by itself when we exit or die.
            self.logger, _state = await switch_logger_on(
                ami, app.settings.ami, trunks=[trunk], methods=methods, seconds=seconds,
                follow_pid=os.getpid())
            if self.switch_off not in app.on_exit_cleanups:
                app.on_exit_cleanups.append(self.switch_off)
        except OperatorError as exc:
            label.update(plain_lines(exc.render(), style="bold red"))
            return
        self.refresh_live()

    @work(exclusive=True, group="logger", exit_on_error=False)
    async def _stop(self) -> None:
        if self.logger is not None:
            try:
                await self.logger.off()
            except OperatorError as exc:
                self.query_one("#logger-state", Static).update(plain_lines(exc.render(),
                                                                           style="bold red"))
                return
        self.refresh_live()

    @work(exclusive=True, group="logger-poll", exit_on_error=False)
    async def _poll(self) -> None:
        if self.logger is None or self.logger.state() is None:
            return
        try:
            new = await self.logger.poll()
        except OperatorError:
            return
        table = self.query_one("#logger-messages", DataTable)
        wanted = self.query_one("#logger-filter", Input).value.strip().lower()
        self.query_one(CallLadder).add_messages(
            [m for m in new if m.number not in self.messages])
        for message in new:
            if message.number in self.messages:
                continue
            self.messages[message.number] = message
            if wanted and not self._wanted(message, wanted):
                continue
            self._add_row(table, message)

    def _wanted(self, message: SipMessage, wanted: str) -> bool:
        return wanted in message.method.lower() or wanted in message.call_id.lower()

    def _add_row(self, table: DataTable[Text], message: SipMessage) -> None:
        if table.row_count >= MAX_ROWS:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(message.timestamp))
        table.add_row(plain(stamp), plain("<==" if message.received else "==>"),
                      plain(message.address), plain(message.first_line),
                      key=str(message.number))

    @on(Input.Changed, "#logger-filter")
    def _refilter(self, event: Input.Changed) -> None:
        table = self.query_one("#logger-messages", DataTable)
        table.clear()
        wanted = event.value.strip().lower()
        for message in self.messages.values():
            if not wanted or self._wanted(message, wanted):
                self._add_row(table, message)

    @on(DataTable.RowHighlighted, "#logger-messages")
    def _show(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        message = self.messages.get(int(event.row_key.value))
        if message is not None:
            arrow = "received from" if message.received else "sent to"
            self.query_one("#logger-text", Static).update(
                plain_lines(f"#{message.number} {arrow} {message.address}\n\n{message.text}"))

    async def switch_off(self) -> None:
        """On console exit: leave no logger running."""
        if self.logger is not None and self.logger.state() is not None:
            await self.logger.off()
