"""The console joins a call already up (no Newchannel seen): the carrier's inbound call
still says inbound, from what CoreShowChannels reports about it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from tests.lab.live_helpers import eventually
from tests.tui.dashboard_app import DashboardApp
from tests.tui.screen import visible_text
from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.tui.screens.dashboard import DashboardScreen


def _carrier_channel_up(lab: Lab) -> bool:
    with lab.ami() as ami:
        lines = ami.command("core show channels concise")
    return any(line.startswith("PJSIP/carrier-") and "!Up!" in line for line in lines)


async def test_inbound_call_joined_mid_call_is_inbound(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns
    # The call ends by itself (sipp sends BYE): a killed sipp would leave Asterisk's side
    # up for the next test to see.
    call = threading.Thread(target=lambda: lab.call(
        CallSpec(did="15551230002", duration=20, echo=True)), daemon=True)
    call.start()
    try:
        deadline = time.monotonic() + 20
        while not _carrier_channel_up(lab):
            assert time.monotonic() < deadline, "the carrier's call never came up"
            time.sleep(0.3)
        session = LiveSession(discover(Path(lab.config_dir)))  # started after the call
        app = DashboardApp(session)
        try:
            async with app.run_test(size=(160, 50)) as pilot:
                session.start()
                assert await session.wait_synced(15)
                [channel] = [c for c in session.state.channels.values()
                             if c.name.startswith("PJSIP/carrier-")]
                assert channel.inbound
                assert channel.direction_basis.startswith("joined mid-call, the channel that began")
                await eventually(lambda: isinstance(app.screen, DashboardScreen))
                app.refresh_visible()
                await pilot.pause()
                await pilot.press("tab", "enter")  # the channel detail
                app.refresh_visible()
                await pilot.pause()
                text = visible_text(app)
                assert "Direction" in text
                assert "inbound (joined mid-call" in text
                assert "outbound" not in text
        finally:
            await session.close()
    finally:
        await asyncio.to_thread(call.join, 60)
