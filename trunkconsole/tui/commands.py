"""Command palette: every screen and action, and per-trunk commands by trunk name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from trunkconsole.findings import AddProviderAddress
from trunkconsole.visible import visible

if TYPE_CHECKING:
    from trunkconsole.tui.app import TrunkConsoleApp


def _console_class() -> type[TrunkConsoleApp]:
    # tui.app imports this module (App.COMMANDS): the app class is looked up when used.
    from trunkconsole.tui.app import TrunkConsoleApp

    return TrunkConsoleApp


Command = tuple[str, str, Callable[[], object]]


class TrunkCommands(Provider):
    """"Add provider IP to carrier", "SIP logger for carrier", ... for each trunk."""

    @property
    def console(self) -> TrunkConsoleApp:
        """The app, typed: Provider.app is an App[object], and Textual's typed getter
        (getters.app) serves DOM nodes only, which a palette provider is not."""
        app = self.app
        if not isinstance(app, _console_class()):
            raise TypeError(f"TrunkCommands serves the console, not {type(app).__name__}")
        return app

    async def startup(self) -> None:
        # The trunk list is a config parse: off the event loop, as the dialogs read it.
        self.trunks = await asyncio.to_thread(self.console.trunk_names)

    def _commands(self) -> list[Command]:
        app = self.console
        out: list[Command] = []
        for trunk in self.trunks:
            out.append((f"Go to trunk {trunk}", "its contacts, identifies, calls and hangups",
                        partial(app.open_trunk, trunk)))
            out.append((f"Add provider IP to trunk {trunk}",
                        "identify add: review, apply, verify",
                        partial(app.propose, AddProviderAddress(trunk=trunk))))
            out.append((f"SIP logger for trunk {trunk}",
                        "log this trunk's SIP messages for 5 minutes",
                        partial(app.open_logger_for, trunk)))
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(visible(title), callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(visible(title)), callback, help=help_text)
