"""The dashboard while listings stream in, and with hundreds of calls: trunk rows before
the phone listing completes, and refreshes that touch only the rows on screen."""

from __future__ import annotations

import time
from typing import Any

import pytest
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from tests.tui.dashboard_app import NOW, DashboardApp, StaticLive, frozen, msg
from tests.tui.screen import visible_text
from trunkconsole.ami.connection import State, Status
from trunkconsole.model.state import PbxState
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.widgets.live_table import LiveTable


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


async def ready(app: DashboardApp, pilot: Any) -> None:
    for _ in range(50):
        if isinstance(app.screen, DashboardScreen):
            app.refresh_visible()
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"still on {app.screen}")


def table(app: DashboardApp, name: str) -> LiveTable:
    return app.screen.query_one(f"#{name}", LiveTable)


def half_read_state() -> PbxState:
    """The trunk's detail read first, then the start of a 10,000-phone listing."""
    state = PbxState(clock=lambda: NOW)
    state.apply(msg("Event: EndpointDetail\nObjectName: carrier\nAors: carrier\nAuth: \n"
                    "OutboundAuth: \nContext: from-carrier\nDeviceState: Not in use"))
    state.apply(msg("Event: IdentifyDetail\nObjectName: carrier\nEndpoint: carrier\n"
                    "Match: 203.0.113.10/255.255.255.255"))
    state.apply(msg("Event: ContactStatusDetail\nAOR: carrier\nURI: sip:203.0.113.10:5060\n"
                    "Status: Reachable\nRoundtripUsec: 12000\nEndpointName: carrier"))
    state.apply(msg("Event: EndpointDetailComplete\nEventList: Complete"))
    state.begin_sync("endpoints")
    for n in range(300):
        state.apply(msg(f"Event: EndpointList\nObjectName: p{100000 + n}\nAor: p{100000 + n}\n"
                        f"Auths: p{100000 + n}\nContacts: \nDeviceState: Unavailable"))
    return state


async def test_trunk_row_before_the_phone_listing_completes() -> None:
    state = half_read_state()
    assert not state.listing_complete("endpoints")
    app = frozen(DashboardApp(StaticLive(state, loading="endpoints 301 read")))
    app.ami_status = Status(State.CONNECTING)  # CONNECTED comes after the resync
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(app, pilot)
        assert table(app, "trunks").keys == ["carrier"]
        text = visible_text(app)
        assert "203.0.113.10/32" in text
        assert "Reachable" in text
        assert "12.0ms" in text
        assert "connected, loading endpoints 301 read  Asterisk 22.10.1" in text
        assert "connecting" not in text


def state_with_calls(count: int, now: float) -> PbxState:
    state = PbxState(clock=lambda: now)
    for n in range(count):
        uid = f"{int(now) - 1000 + n}.{n}"  # started n seconds apart, oldest first
        state.apply(msg(f"Event: Newchannel\nChannel: PJSIP/carrier-{n:08x}\nChannelState: 6\n"
                        f"ChannelStateDesc: Up\nCallerIDNum: 06{n:08d}\n"
                        f"Context: inbound-provider\nExten: 15551230001\nUniqueid: {uid}\n"
                        f"Linkedid: {uid}"))
    return state


async def test_durations_tick_on_screen_only_and_off_screen_rows_catch_up() -> None:
    """200 calls: a second later only the durations of the rows on screen are computed,
    and only rows on screen are drawn; a figure that changes off screen is drawn when its
    row scrolls into view, and a sort on the Time column sees every row's current
    duration."""
    clock = [NOW]
    state = state_with_calls(200, NOW)
    app = frozen(DashboardApp(StaticLive(state)))
    app.wall_clock = lambda: clock[0]
    async with app.run_test(size=(200, 30)) as pilot:
        await ready(app, pilot)
        channels = table(app, "channels")
        keys = channels.keys
        assert len(keys) == 200
        oldest, newest = keys[0], keys[-1]  # sorted by Time, longest first
        written: list[str] = []
        drawn: list[str] = []
        original, draw = channels.update_cell, channels._draw_row

        def spy(key: str, column: str, value: Text) -> None:
            written.append(key)
            original(key, column, value)

        def draw_spy(row: int, key: str, style: Style, left: int, right: int) -> Strip:
            drawn.append(key)  # drawn anew, not taken from the cache
            return draw(row, key, style, left, right)

        channels.update_cell = spy  # type: ignore[method-assign]
        channels._draw_row = draw_spy  # type: ignore[method-assign]
        clock[0] += 1
        app.refresh_visible()
        await pilot.pause()
        for _ in range(60):  # the repaint is a later frame on a busy machine
            if drawn:
                break
            await pilot.pause(0.05)
        on_screen = set(channels.visible_keys())
        assert oldest in on_screen
        assert newest not in on_screen
        assert written
        assert set(written) <= on_screen
        assert drawn
        assert set(drawn) <= on_screen
        assert channels.get_row(oldest)[8].plain == "16:41"  # 1000 s + 1 s
        # Off screen: the model changed (a hold); the table takes it, nothing is drawn.
        state.apply(msg(f"Event: Newstate\nChannel: PJSIP/carrier-000000c7\nChannelState: 4\n"
                        f"ChannelStateDesc: Ring\nUniqueid: {newest}"))
        clock[0] += 1
        app.refresh_visible()
        await pilot.pause()
        assert channels.get_row(newest)[1].plain == "Ring"
        assert newest not in drawn
        channels.move_cursor(row=199)  # scroll down to it
        await pilot.pause()
        app.refresh_visible()
        await pilot.pause()
        assert newest in channels.visible_keys()
        assert newest in drawn
        assert "Ring" in visible_text(app)
        # A new call re-sorts the rows: every duration is brought up to date first.
        state.apply(msg(f"Event: Newchannel\nChannel: PJSIP/carrier-00000fff\nChannelState: 6\n"
                        f"ChannelStateDesc: Up\nCallerIDNum: 0699\nUniqueid: {int(NOW)}.999\n"
                        f"Linkedid: {int(NOW)}.999"))
        app.refresh_visible()
        await pilot.pause()
        assert channels.keys[0] == oldest
        assert channels.keys[-1] == f"{int(NOW)}.999"
        assert channels.get_row(oldest)[8].plain == "16:42"


async def test_remembered_cells_follow_a_theme_change() -> None:
    """A cell rendered under one theme is not reused under another (stripes and cursor
    take the theme's colours): after the switch a line renders as it does with nothing
    remembered."""
    state = state_with_calls(3, NOW)
    app = frozen(DashboardApp(StaticLive(state)))
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(app, pilot)
        channels = table(app, "channels")
        before = list(channels.render_line(2))
        app.theme = "trunk-light" if app.theme != "trunk-light" else "trunk-dark"
        await pilot.pause(0.3)
        after = list(channels.render_line(2))
        assert after != before
        channels.forget_rendered()
        assert list(channels.render_line(2)) == after


async def test_sort_order_shows_in_the_caption_not_as_a_toast() -> None:
    state = state_with_calls(3, NOW)
    app = frozen(DashboardApp(StaticLive(state)))
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert "Trunks  (sorted by Status ascending)" in visible_text(app)
        await pilot.press("r")
        await pilot.pause()
        assert "Trunks  (sorted by Status descending)" in visible_text(app)
        assert not app._notifications
        table(app, "channels").focus()
        await pilot.press("s")
        await pilot.pause()
        app.refresh_visible()
        await pilot.pause()
        assert "Channels (3)  (unsorted)" in visible_text(app)  # Time was the last column
