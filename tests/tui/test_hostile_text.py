"""The console shows control characters in AMI values visibly, on every live screen.

The model is fed through the real AMI parser with every C0 and C1 control, DEL, the bidi
overrides and U+2028/2029 in caller IDs, extens, the From user of an unknown sender, names
and the Asterisk version; the screen as rendered (Textual's own screenshot, the same
segments it writes to the terminal) must hold none of them. tests/lab/test_hostile_text.py
runs the real console in a pty against a real hostile call.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.dashboard_app import DashboardApp, StaticLive, frozen
from tests.tui.screen import visible_text
from tests.unit.test_visible import DANGEROUS, PAYLOADS, hostile_state
from trunkconsole.ami.server_info import ServerInfo
from trunkconsole.tui.screens.channel_detail import ChannelDetailScreen
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.screens.trunk_detail import TrunkDetailScreen
from trunkconsole.visible import visible


def raw_in(rendered: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in rendered if c in DANGEROUS and c != "\n"})


async def settle(app: DashboardApp, pilot: Any) -> None:
    for _ in range(50):
        if not isinstance(app.screen, DashboardScreen) or app.screen.is_current:
            break
        await pilot.pause(0.02)
    app.refresh_visible()
    await pilot.pause()


@pytest.mark.parametrize("payload", PAYLOADS, ids=["c0", "c1", "others", "osc"])
async def test_live_screens_render_no_raw_control(payload: str) -> None:
    app = frozen(DashboardApp(StaticLive(hostile_state(payload))))
    app.server_info = ServerInfo(f"22.10.1{payload}", f"11{payload}", "", 10.0, 100.0)
    async with app.run_test(size=(200, 40)) as pilot:
        for _ in range(50):
            if isinstance(app.screen, DashboardScreen):
                break
            await pilot.pause(0.02)
        for _ in range(100):  # under load the first ticks may come late
            await settle(app, pilot)
            text = visible_text(app)
            if "203.0.113.11" in text:
                break
        shots = [app.export_screenshot()]
        assert visible("1555" + payload)[:16] in text  # the caller ID is on screen
        assert "203.0.113.11" in text  # and the unknown sender
        await pilot.press("tab", "enter")  # the call's detail
        for _ in range(100):
            await settle(app, pilot)
            if isinstance(app.screen, ChannelDetailScreen):
                break
        assert isinstance(app.screen, ChannelDetailScreen)
        shots.append(app.export_screenshot())
        assert visible("name" + payload)[:20] in visible_text(app)
        await pilot.press("escape", "shift+tab", "enter")  # the trunk's detail
        await settle(app, pilot)
        if isinstance(app.screen, TrunkDetailScreen):
            shots.append(app.export_screenshot())
        for shot in shots:
            assert raw_in(shot) == []
