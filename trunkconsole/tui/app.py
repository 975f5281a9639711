"""The Textual application: one asyncio loop shared with AMI, screens pull on a timer.

AMI callbacks only update state and mark it dirty; a 3 Hz tick refreshes the visible
screen, and skips work while a modal is open (DESIGN.md, "One event loop").
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textual import work
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen

from trunkconsole.ami.connection import AmiConnection, State, Status
from trunkconsole.ami.live import LiveSession
from trunkconsole.ami.server_info import ServerInfo
from trunkconsole.conf.gcpause import collect_frozen
from trunkconsole.errors import OperatorError
from trunkconsole.findings import AddProviderAddress, Proposal
from trunkconsole.model.state import PbxState
from trunkconsole.net.feed import RulesetFeed
from trunkconsole.pjsip.system import AsteriskConfig
from trunkconsole.settings import Settings, save_setting
from trunkconsole.tui.commands import TrunkCommands
from trunkconsole.tui.themes import VARIABLE_DEFAULTS, load_themes
from trunkconsole.tui.widgets.status_bar import StatusBar
from trunkconsole.visible import visible, visible_lines

REFRESH_HZ = 3.0
# Screens by mode name, imported when first shown: "module:Class".
SCREENS_BY_MODE: dict[str, str] = {
    "dashboard": "trunkconsole.tui.screens.dashboard:DashboardScreen",
    "connection": "trunkconsole.tui.screens.connection:ConnectionScreen",
    "logger": "trunkconsole.tui.screens.sip_logger:SipLoggerScreen",
    "config": "trunkconsole.tui.screens.config:ConfigScreen",
    "network": "trunkconsole.tui.screens.network:NetworkScreen",
    "diagnoses": "trunkconsole.tui.screens.diagnoses:DiagnosesScreen",
    "workflow": "trunkconsole.tui.screens.workflow:WorkflowScreen",
    "history": "trunkconsole.tui.screens.history:HistoryScreen",
}
DEFAULT_MODE = "dashboard"


def _screen_factory(spec: str) -> Screen[None]:
    module_name, _, class_name = spec.partition(":")
    screen_class = vars(importlib.import_module(module_name))[class_name]
    if not (isinstance(screen_class, type) and issubclass(screen_class, Screen)):
        raise TypeError(f"{spec} is not a screen")
    screen: Screen[None] = screen_class()
    return screen


class LiveSource(Protocol):
    """What the screens read: trunkconsole.ami.live.LiveSession, or a test double."""

    state: PbxState
    problems: list[str]
    server_info: ServerInfo | None

    @property
    def loading(self) -> str:
        """What a resync under way reads ("" when none runs)."""

    async def close(self) -> None: ...


class TrunkConsoleApp(App[int]):
    """trunkconsole's console."""

    TITLE = "trunkconsole"
    CSS_PATH = Path(__file__).parent / "trunkconsole.tcss"  # subclasses elsewhere too
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        name: partial(_screen_factory, spec) for name, spec in SCREENS_BY_MODE.items()
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("f1", "switch_mode('dashboard')", "Dashboard", id="screen-dashboard",
                show=False),
        Binding("f2", "switch_mode('connection')", "AMI", id="screen-connection", show=False),
        Binding("f3", "switch_mode('config')", "Config", id="screen-config", show=False),
        Binding("f4", "switch_mode('network')", "Network", id="screen-network", show=False),
        Binding("f5", "switch_mode('logger')", "SIP logger", id="screen-logger", show=False),
        Binding("f6", "switch_mode('diagnoses')", "Diagnoses", id="screen-diagnoses", show=False),
        Binding("f7", "switch_mode('workflow')", "Walk a call", id="screen-workflow", show=False),
        Binding("f8", "switch_mode('history')", "History", id="screen-history", show=False),
        Binding("i", "add_identify", "Add provider IP", id="add-identify"),
        Binding("t", "add_trunk", "New trunk", id="add-trunk"),
        # Screen keys (F2..F7) stay out of the footer, which is short at 80 columns: the
        # help screen and the palette list them.
        Binding("question_mark", "help", "Help, keys", id="help"),
    ]
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = (
        App.COMMANDS | {TrunkCommands})

    # Palette entries for screens and actions: (title, help, action string).
    PALETTE: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Dashboard", "trunks, calls, unknown senders", "switch_mode('dashboard')"),
        ("AMI connection", "which AMI, its state and the PBX version", "switch_mode('connection')"),
        ("SIP logger", "one provider's SIP messages, live, time-boxed", "switch_mode('logger')"),
        ("Config", "trunks as configured, values with origins, lint", "switch_mode('config')"),
        ("Network", "would each provider's SIP and RTP get through the firewall",
         "switch_mode('network')"),
        ("Diagnoses", "what is wrong now, the evidence and the fix",
         "switch_mode('diagnoses')"),
        ("Walk a call", "logger, INVITE, identify, RTP: step by step", "switch_mode('workflow')"),
        ("History", "what happened: outages, refused senders, changes (journal)",
         "switch_mode('history')"),
        ("Add provider IP", "add an address to a trunk's identify", "add_identify"),
        ("New trunk", "create an IP-authenticated trunk", "add_trunk"),
        ("Run check", "diagnose now: config, firewall, live state", "switch_mode('diagnoses')"),
        ("Reconnect AMI", "start over after a failure", "reconnect"),
        ("Help", "the keys of this screen", "help"),
    )

    def __init__(self, settings: Settings, *, connect: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self._connect = connect
        self.ami_status = Status(State.CONNECTING)
        self.server_info: ServerInfo | None = None
        self.connection: AmiConnection | None = None
        # Connection + PbxState, kept true on resyncs (a LiveSession, or a test's double).
        self.live: LiveSource | None = None
        self.on_exit_cleanups: list[Callable[[], Awaitable[None]]] = []
        # Monotonic clock for live durations; tests freeze it for stable snapshots.
        self.clock: Callable[[], float] = time.monotonic
        # Wall time for call durations (Uniqueid carries wall time); tests freeze it too.
        self.wall_clock: Callable[[], float] = time.time
        # The firewall for every screen: one `nft monitor`, the rules read once per change
        # (started by the first screen that shows the firewall or bans).
        self.firewall = RulesetFeed()
        # Each screen's status bars, looked up once (not a query of the DOM per tick).
        self._status_bars: weakref.WeakKeyDictionary[Screen[Any], list[StatusBar]] = (
            weakref.WeakKeyDictionary())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in self.PALETTE:
            yield SystemCommand(title, help_text, partial(self.run_action, action))

    def action_help(self) -> None:
        from trunkconsole.tui.dialogs.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def open_workflow(self, trunk: str = "") -> None:
        """The workflow screen, with this trunk chosen."""
        from trunkconsole.tui.screens.workflow import WorkflowScreen

        self.switch_mode("workflow")
        screen = self.screen
        if trunk and isinstance(screen, WorkflowScreen):
            screen.choose(trunk)

    def open_trunk(self, trunk: str) -> None:
        """The trunk's detail screen, over the dashboard."""
        from trunkconsole.tui.screens.trunk_detail import TrunkDetailScreen

        self.switch_mode("dashboard")
        self.push_screen(TrunkDetailScreen(trunk))

    def open_logger_for(self, trunk: str) -> None:
        """The SIP logger screen with this trunk chosen and the logger switched on."""
        from trunkconsole.tui.screens.sip_logger import SipLoggerScreen

        self.switch_mode("logger")
        screen = self.screen
        if isinstance(screen, SipLoggerScreen):
            screen.start_for(trunk)

    # -- start-up ---------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        self._load_themes()
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.switch_mode(DEFAULT_MODE)
        if self._connect:
            self._start_live(None)
        self.set_interval(1 / REFRESH_HZ, self.refresh_visible)

    def _start_live(self, state: PbxState | None) -> None:
        session = LiveSession(self.settings.ami, state=state, on_status=self._on_status)
        self.live, self.connection = session, session.connection
        session.start()

    def _load_themes(self) -> None:
        loaded = load_themes()
        for theme in loaded.themes.values():
            self.register_theme(theme)
        if loaded.errors:
            self.notify(visible_lines("\n".join(loaded.errors)),
                        title=f"{len(loaded.errors)} theme file(s) could not be read",
                        severity="warning", markup=False)
        wanted = self.settings.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self.notify(visible(f"theme {wanted!r} not found, using trunk-dark"),
                        severity="warning", markup=False)
            self.theme = "trunk-dark" if "trunk-dark" in self.available_themes else "textual-dark"

    def _remember_theme(self, _theme: object) -> None:
        try:
            save_setting("theme", self.theme)
        except (OSError, OperatorError) as exc:
            self.notify(visible_lines(f"could not save the theme: {exc}"), severity="warning",
                        markup=False)

    # -- AMI --------------------------------------------------------------------------
    def _on_status(self, status: Status) -> None:
        self.ami_status = status
        self.server_info = self.live.server_info if self.live is not None else None

    def ami_actions(self) -> AmiConnection | None:
        """The AMI session for changes and the logger, when it is logged in."""
        connection = self.connection
        return connection if connection is not None and connection.connected else None

    async def action_reconnect(self) -> None:
        """Start over after a final failure (e.g. the secret was fixed meanwhile)."""
        state = self.live.state if self.live is not None else None
        if self.live is not None:
            await self.live.close()
        if self._connect:
            self._start_live(state)  # the screens keep what they show until the resync

    # -- refresh ----------------------------------------------------------------------
    def refresh_visible(self) -> None:
        """The tick: the visible screen only; nothing under a modal or a pushed screen."""
        try:
            screen = self.screen
        except ScreenStackError:
            return  # between modes, or shutting down: nothing is visible
        if self.live is not None and self.live.server_info is not None:
            self.server_info = self.live.server_info
        bars = self._status_bars.get(screen)
        if bars is None:  # a DOM walk: once per screen (and after a bar mounts)
            bars = self._status_bars[screen] = list(screen.query(StatusBar))
        for bar in bars:
            self._show_status(bar)
        from trunkconsole.tui.screens.base import LiveScreen

        if isinstance(screen, LiveScreen):
            screen.tick()
        collect_frozen()

    def _show_status(self, bar: StatusBar) -> None:
        # The uptime ticks with the calls' durations (at the wall clock's second): one
        # screen update a second carries both. Apart, each would be a compositor pass,
        # and Textual renders every widget of the screen on each one.
        now = self.clock() - self.wall_clock() % 1.0
        bar.show(self.settings.ami.address, self.ami_status, self.server_info,
                 self.settings.readonly, now,
                 loading=self.live.loading if self.live is not None else "")

    def on_status_bar_mounted(self, event: StatusBar.Mounted) -> None:
        # Filled at once rather than on the next tick (a third of a second).
        self._status_bars.pop(event.bar.screen, None)
        self._show_status(event.bar)

    # -- guided changes -----------------------------------------------------------------
    def asterisk_config(self) -> AsteriskConfig | None:
        """The config directory, loaded fresh (edits elsewhere show up); None if unreadable."""
        from trunkconsole.pjsip.system import load_asterisk

        try:
            return load_asterisk(self.settings.asterisk_dir)
        except (OSError, OperatorError):
            return None

    def trunk_names(self) -> list[str]:
        """Endpoints that look like trunks: identified by IP or registering out."""
        config = self.asterisk_config()
        if config is None:
            return []
        names = {i.value("endpoint") for i in config.pjsip.of_type("identify")}
        names |= {r.value("endpoint") for r in config.pjsip.of_type("registration")}
        return sorted(n for n in names if n and config.pjsip.get("endpoint", n) is not None)

    def action_add_identify(self) -> None:
        self.propose(AddProviderAddress())

    def propose(self, proposal: Proposal) -> None:
        """Open the guided change for this proposal: an address goes to the identify form
        (trunk and address prefilled), any other kind straight to its review. Planned off
        the loop (a config parse)."""
        if isinstance(proposal, AddProviderAddress):
            self._open_identify(proposal)
        else:
            self._review_proposal(proposal)

    @work(exclusive=True, group="open-dialog", exit_on_error=False)
    async def _review_proposal(self, proposal: Proposal) -> None:
        from trunkconsole.changes.changeset import Unchanged
        from trunkconsole.changes.proposal import plan_proposal
        from trunkconsole.tui.dialogs.review import ReviewScreen

        try:
            changeset = await asyncio.to_thread(plan_proposal, self.settings.asterisk_dir,
                                                proposal)
        except Unchanged as exc:
            self.notify(visible_lines(exc.render()), markup=False)
            return
        except OperatorError as exc:
            self.notify(visible_lines(exc.render()), severity="error", markup=False)
            return
        self.push_screen(ReviewScreen(changeset))

    @work(exclusive=True, group="open-dialog", exit_on_error=False)
    async def _open_identify(self, proposal: AddProviderAddress) -> None:
        from trunkconsole.tui.dialogs.identify_add import IdentifyAddDialog

        names = await asyncio.to_thread(self.trunk_names)
        self.push_screen(IdentifyAddDialog(names, proposal))

    @work(exclusive=True, group="open-dialog", exit_on_error=False)
    async def action_add_trunk(self) -> None:
        from trunkconsole.tui.dialogs.trunk_add import TrunkAddDialog

        config = await asyncio.to_thread(self.asterisk_config)
        contexts = sorted(config.dialplan.contexts) if config is not None else []
        self.push_screen(TrunkAddDialog(contexts))

    async def on_unmount(self) -> None:
        # Screens of every mode, not only the visible one: a logger started on the logger
        # screen must stop when the console exits from the dashboard (the guard process
        # covers a crash).
        for cleanup in list(self.on_exit_cleanups):
            with contextlib.suppress(OperatorError, OSError):
                await cleanup()
        if self.live is not None:
            await self.live.close()
        self.firewall.stop()


def run_app(settings: Settings) -> int:
    """Run the console until the operator quits."""
    app = TrunkConsoleApp(settings)
    app.run(mouse=settings.mouse)
    return app.return_code or 0
