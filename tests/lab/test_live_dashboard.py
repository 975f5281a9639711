"""The dashboard on the real lab: a caller ID name with markup, sent by sipp, shows literally."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.lab.live_helpers import eventually
from tests.tui.dashboard_app import DashboardApp
from tests.tui.screen import visible_text
from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.widgets.live_table import LiveTable

MARKUP = "[red]x[/b]"


async def test_markup_in_caller_id_name_is_shown_literally(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns
    session = LiveSession(discover(Path(lab.config_dir)))
    app = DashboardApp(session)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            session.start()
            assert await session.wait_synced(10)
            await eventually(lambda: isinstance(app.screen, DashboardScreen))
            call = asyncio.create_task(asyncio.to_thread(
                lab.call, CallSpec(did="15551230001", duration=4.0, caller_name=MARKUP)))
            await eventually(lambda: any(c.caller_name == MARKUP
                                         for c in session.state.channels.values()),
                             what="the call with the markup caller name")
            app.refresh_visible()
            await pilot.pause()
            channels = app.screen.query_one("#channels", LiveTable)
            [key] = channels.keys
            caller = channels.get_cell(key, "caller")
            assert caller.plain.endswith(MARKUP)
            assert not caller.spans or all(s.style == "italic" for s in caller.spans)
            assert f"15557770000 {MARKUP}" in visible_text(app)
            await pilot.press("tab", "enter")  # the channel detail shows it literally too
            app.refresh_visible()
            await pilot.pause()
            assert MARKUP in visible_text(app)
            assert (await call).answered == 1
    finally:
        await session.close()
