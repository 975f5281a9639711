"""The dashboard marks a trunk whose address a ban tool holds, and drops the mark when
the ban is lifted (the rules changed: read again).

Bans come from fail2ban 1.0.2's real nftables listing (tests/fixtures/net/bans); the
RulesetWatcher stand-in is told of the change (the real one, `nft monitor`, is exercised
in tests/lab/test_dashboard_bans.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.screen import Screen

from tests.tui.dashboard_app import DashboardApp, StaticLive, frozen, msg, populated_state
from tests.tui.screen import visible_text
from tests.unit.test_ban_watch import StillWatcher, index
from trunkconsole.net.ban_watch import BanWatch
from trunkconsole.net.bans import BanIndex
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.widgets.live_table import LiveTable


async def test_banned_trunk_address_is_marked_and_the_mark_goes_with_the_ban() -> None:
    banned = [True]
    watcher = StillWatcher()
    watch = BanWatch(lambda: index() if banned[0] else BanIndex(), watcher)  # type: ignore[arg-type]

    class BansApp(DashboardApp):
        MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
            **DashboardApp.MODES, "dashboard": lambda: DashboardScreen(bans=watch)}

    state = populated_state()
    state.apply(msg("Event: IdentifyDetail\nObjectName: carrier\nEndpoint: carrier\n"
                    "Match: 203.0.113.10/255.255.255.255,203.0.113.12/255.255.255.255"))
    app = frozen(BansApp(StaticLive(state)))
    async with app.run_test(size=(160, 40)) as pilot:
        async def settle(predicate: Callable[[], bool]) -> None:
            for _ in range(100):
                app.refresh_visible()
                await pilot.pause(0.05)
                if predicate():
                    return
            raise AssertionError(visible_text(app))

        def status(trunk: str) -> str:
            return app.screen.query_one("#trunks", LiveTable).get_cell(trunk, "status").plain

        await settle(lambda: status("carrier") == "BANNED")
        assert watcher.started
        assert status("backup") != "BANNED"
        text = visible_text(app)
        assert "trunk carrier: 203.0.113.12 BANNED by fail2ban jail asterisk" in text
        assert "trunkconsole unban 203.0.113.12 --jail asterisk" in text
        banned[0] = False
        watcher.changed_at = time.time() + 1  # fail2ban deleted the element: nft monitor
        await settle(lambda: status("carrier") != "BANNED")
        assert "BANNED" not in visible_text(app)
    assert watcher.stopped
