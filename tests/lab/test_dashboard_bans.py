"""provider-banned on the dashboard: a real fail2ban (the lab's stock asterisk jail,
nftables action) bans the carrier's new address; once the identify holds that address,
the carrier's row says BANNED with the jail, read through the same never-stale watcher
as the Network screen (nft monitor). fail2ban's own unban removes the set element: the
mark goes without a key pressed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual.screen import Screen

from tests.lab.helpers import run_cli
from tests.lab.live_helpers import eventually
from tests.tui.dashboard_app import DashboardApp
from tests.tui.screen import visible_text
from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab import fail2ban, netns, scenarios
from trunkconsole.lab.lab import Lab
from trunkconsole.net.ban_watch import BanWatch
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.widgets.live_table import LiveTable

NEW = scenarios.NEW_CARRIER_ADDRESS


@pytest.fixture
def banned_and_identified(lab_config: Lab, tmp_path: Path) -> Iterator[Lab]:
    scenarios.apply(lab_config, "provider-banned", log=lambda _m: None)
    added = run_cli(lab_config, "identify", "add", "carrier", NEW, "--yes", state=tmp_path)
    assert added.returncode == 0, added.stdout + added.stderr
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


async def test_dashboard_marks_the_banned_carrier_until_fail2ban_unbans(
        banned_and_identified: Lab) -> None:
    lab = banned_and_identified
    assert NEW in fail2ban.banned(lab.dir)
    watch = BanWatch()

    class BansApp(DashboardApp):
        MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
            **DashboardApp.MODES, "dashboard": lambda: DashboardScreen(bans=watch)}

    with netns.inside(lab.pbx_ns):  # the app's threads (nft, fail2ban-client) inherit it
        session = LiveSession(discover(Path(lab.config_dir)))
        app = BansApp(session)
        try:
            async with app.run_test(size=(160, 40)) as pilot:
                session.start()
                assert await session.wait_synced(10)

                def status() -> str:
                    app.refresh_visible()
                    trunks = app.screen.query_one("#trunks", LiveTable)
                    return trunks.get_cell("carrier", "status").plain \
                        if "carrier" in trunks.keys else ""

                await eventually(lambda: status() == "BANNED", timeout=30,
                                 what="the ban on the carrier's row")
                await pilot.pause()
                text = visible_text(app)
                assert f"trunk carrier: {NEW} BANNED by fail2ban jail asterisk" in text
                assert "min left" in text  # fail2ban-client's time left
                assert f"trunkconsole unban {NEW} --jail asterisk" in text
                subprocess.run(["fail2ban-client", "-c", str(fail2ban.config_dir(lab.dir)),
                                "set", fail2ban.JAIL, "unbanip", NEW], check=True,
                               capture_output=True, timeout=20)
                await eventually(lambda: status() not in ("", "BANNED"),
                                 timeout=15, what="the mark gone after the unban")
                await pilot.pause()
                assert "BANNED" not in visible_text(app)
        finally:
            await session.close()
