"""Command palette: every screen and action, and per-trunk commands by trunk name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from trunkconsole.findings import AddProviderAddress
from trunkconsole.visible import visible

if TYPE_CHECKING:
    from trunkconsole.tui.app import TrunkConsoleApp


class TrunkCommands(Provider):
    """"Add provider IP to carrier", "SIP logger for carrier", ... for each trunk."""

    async def startup(self) -> None:
        app: TrunkConsoleApp = self.app  # type: ignore[assignment]
        self.trunks = app.trunk_names()

    def _commands(self) -> list[tuple[str, str, object]]:
        app: TrunkConsoleApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, str, object]] = []
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
            yield DiscoveryHit(visible(title), callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(visible(title)), callback,  # type: ignore[arg-type]
                          help=help_text)
