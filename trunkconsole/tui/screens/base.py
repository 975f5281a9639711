"""The screen contract: a typed app, and a refresh that runs only while the screen shows.

The app's tick (REFRESH_HZ) calls `tick()` on the visible screen only: screens of other
modes, screens under a pushed one and screens under a modal do no periodic work (dolphie's
rule, DESIGN.md "Live screens share one typed base"). `refresh_live()` must stay cheap:
it reads the in-memory model; anything slow (a config parse, nft or iptables-save, an AMI
command) goes to a worker it starts.
"""

from __future__ import annotations

from typing import ClassVar

from textual import getters
from textual.css.query import NoMatches
from textual.screen import Screen

from trunkconsole.tui.app import TrunkConsoleApp


class LiveScreen(Screen[None]):
    """A console screen: `self.app` is the TrunkConsoleApp, refreshed by the app's tick."""

    app = getters.app(TrunkConsoleApp)
    # Refresh every N ticks of the app (3 Hz): 1 = every tick, 6 = every 2 s.
    REFRESH_TICKS: ClassVar[int] = 1

    def __init__(self) -> None:
        super().__init__()
        self._ticks = 0

    def tick(self) -> None:
        """One app tick while this screen is the visible one."""
        self._ticks += 1
        if self._ticks >= self.REFRESH_TICKS and self.is_mounted:
            self._ticks = 0
            self._refresh_safely()

    def _refresh_safely(self) -> None:
        try:
            self.refresh_live()
        except NoMatches:
            # The app is shutting down (it stops running, then removes widgets before
            # their screen; a tick may land in between). Anything else is a bug.
            if self.app.is_running:
                raise

    def refresh_live(self) -> None:
        """Pull what changed into the widgets (cheap; slow work in a worker)."""

    def on_screen_resume(self) -> None:
        # Shown again (mode switch, a pushed screen or modal closed): catch up at once.
        self._ticks = 0
        if self.is_mounted:  # resumed before its first mount: on_mount fills it
            self._refresh_safely()
