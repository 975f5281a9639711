"""The dashboard's idle economies keep what the operator sees right (issue 12): call
quality computed only for the rows on screen still sorts and filters right, calls that
come or go show at the next tick, and each cell keeps its own colour."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.dashboard_app import NOW, DashboardApp, StaticLive, frozen, msg
from tests.tui.screen import visible_text
from tests.tui.test_dashboard_streaming import ready, state_with_calls, table
from trunkconsole.ami.message import AmiMessage
from trunkconsole.model.state import PbxState
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.widgets.live_table import LiveTable

# A real RTCPSent of the lab (Asterisk 22, sipp as the carrier), re-addressed per call.
RTCP_SENT = (Path(__file__).parent.parent / "fixtures" / "ami" / "rtcp-sent-lab.raw"
             ).read_text().split("\n\n")[0]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def rtcp(n: int, *, lost: int = 0, jitter: int = 0) -> AmiMessage:
    """The lab's report for call n of state_with_calls: `lost`/256 lost from the carrier,
    `jitter` samples of interarrival jitter."""
    uid = f"{int(NOW) - 1000 + n}.{n}"
    fields = {"Channel": f"PJSIP/carrier-{n:08x}", "Uniqueid": uid, "Linkedid": uid,
              "Report0FractionLost": str(lost), "Report0IAJitter": str(jitter)}
    return msg("\n".join(f"{key}: {fields[key]}" if key in fields else line
                         for line in RTCP_SENT.splitlines()
                         for key in [line.partition(":")[0]]))


def uid_of(n: int) -> str:
    return f"{int(NOW) - 1000 + n}.{n}"


async def next_second(app: DashboardApp, pilot: Any, clock: list[float]) -> None:
    """One tick in the next second (figures show at the second's refresh)."""
    clock[0] += 1
    app.refresh_visible()
    await pilot.pause()


def rated_app(state: PbxState, clock: list[float]) -> DashboardApp:
    app = frozen(DashboardApp(StaticLive(state)))
    app.wall_clock = lambda: clock[0]
    return app


@contextlib.asynccontextmanager
async def calls_on_screen(calls: int) -> AsyncIterator[tuple[DashboardApp, Any, PbxState,
                                                              list[float], LiveTable]]:
    """The dashboard at 200x30 over `calls` standing calls, ready: (app, pilot, state,
    wall clock, channel table)."""
    clock = [NOW]
    state = state_with_calls(calls, NOW)
    app = rated_app(state, clock)
    async with app.run_test(size=(200, 30)) as pilot:
        await ready(app, pilot)
        yield app, pilot, state, clock, table(app, "channels")


async def test_sorting_on_mos_sees_the_figures_of_rows_off_screen() -> None:
    """Every call reports, one off screen badly: sorted on MOS it comes first (its
    figures were computed for the sort, not left at the last drawn '-'), and a call
    that turns bad while so sorted moves up at the next second."""
    clock = [NOW]
    state = state_with_calls(200, NOW)
    for n in range(200):
        state.apply(rtcp(n, jitter=n % 3))
    app = rated_app(state, clock)
    async with app.run_test(size=(200, 30)) as pilot:
        await ready(app, pilot)
        channels = table(app, "channels")
        await next_second(app, pilot, clock)
        newest = uid_of(199)
        assert newest not in channels.visible_keys()  # sorted by Time: the newest last
        state.apply(rtcp(199, lost=128))  # half of the carrier's packets lost
        await next_second(app, pilot, clock)
        channels.focus()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        for _ in range(4):  # the `s` key: Time -> unsorted -> Channel -> State -> MOS
            screen.action_sort()
        # Right at the key, not a tick later: the sort itself brought the figures.
        assert channels.sort_label() == "by MOS descending"  # Time's direction kept
        keys = channels.keys
        assert keys[-1] == newest
        mos = [float(channels.get_row(k)[2].plain) for k in keys]
        assert mos == sorted(mos, reverse=True)  # every row's own figure, none left at '-'
        assert mos[-1] < 3.0 <= mos[-2]
        assert channels.get_row(newest)[3].plain.startswith("50/")
        screen.action_reverse()
        assert channels.keys[0] == newest
        await pilot.pause()
        # Sorted on MOS, a figure off screen moves its row at the next second.
        middle = uid_of(100)
        assert middle not in channels.visible_keys()
        state.apply(rtcp(100, lost=200))
        await next_second(app, pilot, clock)
        assert channels.keys[0] == middle
        assert channels.keys[1] == newest


async def test_figures_off_screen_show_when_their_row_does() -> None:
    async with calls_on_screen(200) as (app, pilot, state, clock, channels):
        oldest, newest = uid_of(0), uid_of(199)
        state.apply(rtcp(0, lost=64))
        state.apply(rtcp(199, lost=64))
        await next_second(app, pilot, clock)
        assert channels.get_row(oldest)[3].plain.startswith("25/")  # on screen: at once
        assert "25/" in visible_text(app)
        channels.move_cursor(row=199)  # scroll down to the newest
        await pilot.pause()
        app.refresh_visible()  # the same second: the scroll alone brings them
        await pilot.pause()
        assert newest in channels.visible_keys()
        assert channels.get_row(newest)[3].plain.startswith("25/")
        assert channels.get_row(newest)[2].plain != "-"
        assert "25/" in visible_text(app)


async def test_a_filter_reads_figures_off_screen_and_clearing_it_brings_all_back() -> None:
    async with calls_on_screen(200) as (app, pilot, state, clock, channels):
        newest = uid_of(199)
        state.apply(rtcp(199, lost=64))
        await next_second(app, pilot, clock)
        await pilot.press("slash", "2", "5", "slash")
        await pilot.pause()
        assert channels.keys == [newest]
        assert "25/" in visible_text(app)
        state.apply(rtcp(150, lost=64))  # while filtered: a second call matches
        await next_second(app, pilot, clock)
        assert channels.keys == [uid_of(150), newest]  # by Time, the longer first
        await pilot.press("escape")
        await pilot.pause()
        assert len(channels.keys) == 200
        assert channels.keys[-1] == newest  # sorted by Time again, the newest last
        state.apply(rtcp(150, lost=0))  # off screen, unfiltered: drawn when shown
        await next_second(app, pilot, clock)
        channels.move_cursor(row=channels.keys.index(uid_of(150)))
        await pilot.pause()
        app.refresh_visible()
        await pilot.pause()
        assert uid_of(150) in channels.visible_keys()
        assert channels.get_row(uid_of(150))[3].plain.startswith("0/")
        assert channels.get_row(newest)[3].plain.startswith("25/")


async def test_a_call_that_comes_or_goes_mid_second_shows_at_the_next_tick() -> None:
    async with calls_on_screen(30) as (app, pilot, state, _clock, channels):
        assert len(channels.keys) == 30
        uid = f"{int(NOW)}.999"
        state.apply(msg(f"Event: Newchannel\nChannel: PJSIP/carrier-00000fff\nChannelState: 4\n"
                        f"ChannelStateDesc: Ring\nCallerIDNum: 0699\nUniqueid: {uid}\n"
                        f"Linkedid: {uid}"))
        app.refresh_visible()  # the same second
        await pilot.pause()
        assert channels.keys[-1] == uid
        assert "Channels (31)" in visible_text(app)
        state.apply(msg(f"Event: Hangup\nChannel: PJSIP/carrier-00000001\nUniqueid: "
                        f"{uid_of(1)}\nCause: 16\nCause-txt: Normal Clearing"))
        app.refresh_visible()
        await pilot.pause()
        assert uid_of(1) not in channels.keys
        assert len(channels.keys) == 30
        assert "PJSIP/carrier-00000001 " not in visible_text(app)


async def test_cells_keep_their_own_colour() -> None:
    """A cell's style (Unreachable bold red, Up green) reaches the line drawn: Rich's
    Text.render leaves out the base style of a Text without spans."""
    clock = [NOW]
    state = state_with_calls(3, NOW)
    state.apply(msg("Event: EndpointList\nObjectName: alpha\nAor: alpha\nAuths: \n"
                    "Contacts: alpha/sip:192.0.2.20:5060,\nDeviceState: Not in use"))
    state.apply(msg("Event: IdentifyDetail\nObjectName: alpha\nEndpoint: alpha\n"
                    "Match: 192.0.2.20/255.255.255.255"))
    state.apply(msg("Event: ContactStatusDetail\nAOR: alpha\nURI: sip:192.0.2.20:5060\n"
                    "Status: Unreachable\nRoundtripUsec: N/A\nEndpointName: alpha"))
    app = rated_app(state, clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await ready(app, pilot)

        def style_of(name: str, line: int, text: str) -> Any:
            strip = table(app, name).render_line(line)
            [style] = [s.style for s in strip if text in s.text]
            return style

        unreachable = style_of("trunks", 1, "Unreachable")
        assert unreachable.bold
        assert unreachable.color is not None
        assert unreachable.color.name == "red"
        assert style_of("trunks", 1, "alpha").bold
        up = style_of("channels", 1, "Up")
        assert up.color is not None
        assert up.color.name == "green"


async def test_the_uptime_ticks_with_the_durations() -> None:
    """The status bar's uptime (monotonic clock) and the calls' durations (wall clock)
    change at the same tick, whatever the clocks' phases: one screen update a second."""
    mono, wall = [100.3], [NOW + 0.7]
    state = state_with_calls(3, NOW)
    app = frozen(DashboardApp(StaticLive(state)))
    app.clock = lambda: mono[0]
    app.wall_clock = lambda: wall[0]
    async with app.run_test(size=(160, 30)) as pilot:
        await ready(app, pilot)
        channels = table(app, "channels")
        oldest = channels.keys[0]

        def shown() -> tuple[str, str]:
            text = visible_text(app)
            return text.split("  up ")[1].split()[0], channels.get_row(oldest)[8].plain

        seen = [shown()]
        for step in (0.25, 0.1, 0.3, 0.3, 0.3, 0.25):
            mono[0] += step
            wall[0] += step
            app.refresh_visible()
            await pilot.pause()
            seen.append(shown())
        uptimes = [uptime for uptime, _duration in seen]
        durations = [duration for _uptime, duration in seen]
        changes = [i for i in range(1, len(seen)) if seen[i] != seen[i - 1]]
        assert changes == [2, 6]  # the ticks where the wall clock's second changed
        for i in changes:  # both at once, never one alone
            assert uptimes[i] != uptimes[i - 1]
            assert durations[i] != durations[i - 1]
