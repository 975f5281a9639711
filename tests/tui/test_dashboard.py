"""Dashboard: rows from the model, literal caller IDs, filter, sort, cursor, details."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.tui.dashboard_app import NOW, DashboardApp, StaticLive, frozen, msg, populated_state
from tests.tui.screen import visible_text
from trunkconsole.tui.screens.channel_detail import ChannelDetailScreen
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.screens.trunk_detail import TrunkDetailScreen
from trunkconsole.tui.widgets.live_table import LiveTable


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def app_with_state() -> DashboardApp:
    return frozen(DashboardApp(StaticLive(populated_state())))


async def ready(app: DashboardApp, pilot: Any) -> None:
    """Wait for the mode switch to the dashboard (Textual switches screens with a delay)."""
    for _ in range(50):
        if isinstance(app.screen, DashboardScreen):
            app.refresh_visible()  # one tick now: snapshots must not depend on the timer
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"still on {app.screen}")


def table(app: DashboardApp, name: str) -> LiveTable:
    return app.screen.query_one(f"#{name}", LiveTable)


async def test_rows_come_from_the_model_and_markup_stays_text() -> None:
    app = app_with_state()
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert table(app, "trunks").keys == ["alpha", "backup", "carrier"]
        assert table(app, "channels").keys == ["1795666470.10"]
        assert table(app, "senders").keys == ["203.0.113.11"]
        text = visible_text(app)
        assert "0612345678 [red]x[/b]" in text  # literally, not red, no MarkupError
        assert "203.0.113.10/32" in text
        assert "Unreachable" in text
        assert "0:30" in text  # the call's age from its Uniqueid


async def test_filter_narrows_every_table_and_escape_clears() -> None:
    app = app_with_state()
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("slash", *"203.0.113", "enter")
        assert table(app, "trunks").keys == ["carrier"]
        assert table(app, "senders").keys == ["203.0.113.11"]
        assert table(app, "channels").keys == []
        await pilot.press("escape")
        assert table(app, "trunks").keys == ["alpha", "backup", "carrier"]


async def test_cursor_follows_its_row_across_sort_and_removal() -> None:
    app = app_with_state()
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        trunks = table(app, "trunks")
        await pilot.press("down")  # on "backup"
        assert trunks.selected_key() == "backup"
        await pilot.press("r")  # by name, descending: carrier, backup, alpha
        assert trunks.keys == ["carrier", "backup", "alpha"]
        assert trunks.selected_key() == "backup"
        assert app.live is not None
        state = app.live.state
        state.begin_sync("endpoints")  # a reload removed "carrier"
        for name in ("alpha", "backup"):
            state.apply(msg(f"Event: EndpointList\nObjectName: {name}\nAor: {name}\nAuths: "))
        state.end_sync("endpoints")
        app.refresh_visible()
        await pilot.pause()
        assert trunks.keys == ["backup", "alpha"]
        assert trunks.selected_key() == "backup"


async def test_a_change_touches_only_its_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_with_state()
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        touched: list[tuple[Any, Any]] = []
        trunks = table(app, "trunks")
        original = LiveTable.update_cell

        def spy(self: LiveTable, row: Any, column: Any, value: Any, **kw: Any) -> None:
            touched.append((row, column))
            original(self, row, column, value, **kw)

        monkeypatch.setattr(LiveTable, "update_cell", spy)
        app.refresh_visible()
        assert touched == []  # nothing changed, nothing touched
        assert app.live is not None
        app.live.state.apply(msg("Event: ContactStatus\nURI: sip:198.51.100.7:5060\n"
                                 "ContactStatus: Reachable\nAOR: backup\n"
                                 "EndpointName: backup\nRoundtripUsec: 90000"))
        app.refresh_visible()
        assert {str(c) for _, c in touched} <= {"rtt", "spark"}
        assert {str(r.value) if hasattr(r, "value") else r for r, _ in touched} == {"backup"}
        assert "90.0ms" in trunks.get_row("backup")[2].plain


async def test_new_rtcp_figures_touch_only_the_quality_cells(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_with_state()
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        channels = table(app, "channels")
        [uid] = channels.keys
        before = [c.plain for c in channels.get_row(uid)]
        touched: list[tuple[str, str]] = []
        original = LiveTable.update_cell

        def spy(self: LiveTable, key: str, column: str, value: Any) -> None:
            touched.append((key, column))
            original(self, key, column, value)

        monkeypatch.setattr(LiveTable, "update_cell", spy)
        assert app.live is not None
        app.live.state.apply(msg(f"Event: RTCPSent\nChannel: PJSIP/carrier-0000000a\n"
                                 f"Uniqueid: {uid}\nReportCount: 1\n"
                                 "Report0FractionLost: 64\nReport0CumulativeLost: 90\n"
                                 "Report0HighestSequence: 9000\n"
                                 "Report0SequenceNumberCycles: 0\nReport0IAJitter: 400"))
        app.wall_clock = lambda: NOW + 1  # the figures show at the next second's refresh
        app.refresh_visible()
        await pilot.pause()
        after = [c.plain for c in channels.get_row(uid)]
        assert after[3].startswith("25/")  # 64/256 lost
        assert after[4] == "50"  # 400 samples at 8000/s
        assert after[2] != before[2]
        assert {column for _key, column in touched} <= {"mos", "loss", "jitter", "duration"}
        assert {column for _key, column in touched} >= {"mos", "loss", "jitter"}
        assert after[:2] == before[:2]
        assert after[5:8] == before[5:8]


async def test_enter_opens_details_and_escape_returns() -> None:
    app = app_with_state()
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("down", "down", "enter")
        assert isinstance(app.screen, TrunkDetailScreen)
        assert app.screen.trunk == "carrier"
        text = visible_text(app)
        assert "203.0.113.10/32" in text
        assert "sip:203.0.113.10:5060" in text
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("tab", "enter")
        assert isinstance(app.screen, ChannelDetailScreen)
        assert "[red]x[/b]" in visible_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_problems_are_shown() -> None:
    app = frozen(DashboardApp(StaticLive(populated_state(), problems=[
        "AMI user 'tc' lacks read=security: unknown senders cannot be shown"])))
    async with app.run_test(size=(160, 40)) as pilot:
        await ready(app, pilot)
        assert "lacks read=security" in visible_text(app)


def test_snapshot_dashboard(snap_compare: Any) -> None:
    async def settle(pilot: Any) -> None:
        await ready(pilot.app, pilot)

    assert snap_compare(app_with_state(), run_before=settle, terminal_size=(140, 34))


def test_snapshot_trunk_detail(snap_compare: Any) -> None:
    async def open_detail(pilot: Any) -> None:
        await ready(pilot.app, pilot)
        await pilot.press("down", "down", "enter")
        pilot.app.refresh_visible()
        await pilot.pause()

    assert snap_compare(app_with_state(), run_before=open_detail, terminal_size=(120, 34))


def test_snapshot_channel_detail(snap_compare: Any) -> None:
    async def open_detail(pilot: Any) -> None:
        await ready(pilot.app, pilot)
        await pilot.press("tab", "enter")
        pilot.app.refresh_visible()
        await pilot.pause()

    assert snap_compare(app_with_state(), run_before=open_detail, terminal_size=(100, 28))
