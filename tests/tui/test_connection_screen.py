"""The console's first screen: which AMI, in what state, and what the PBX says."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from trunkconsole.ami.connection import State, Status
from trunkconsole.ami.server_info import ServerInfo
from trunkconsole.lab.lab import Lab
from trunkconsole.settings import AmiTarget, Secret, Settings
from trunkconsole.tui.app import TrunkConsoleApp

from .screen import settle, visible_text


def screen_text(app: TrunkConsoleApp) -> str:
    return visible_text(app)


async def wait_for_state(app: TrunkConsoleApp, pilot: Any, state: State,
                         timeout: float = 10) -> None:
    """Wait for the connection state, then show the connection screen (F2)."""
    deadline = time.monotonic() + timeout
    while app.ami_status.state is not state:
        assert time.monotonic() < deadline, f"still {app.ami_status}"
        await pilot.pause(0.1)
    await pilot.press("f2")
    await pilot.pause(0.5)  # one refresh tick


async def test_connects_to_the_lab_and_shows_version(in_pbx_netns: Lab) -> None:
    settings = Settings(ami=AmiTarget(secret=Secret(in_pbx_netns.secret()),
                                      secret_source="lab"),
                        asterisk_dir=in_pbx_netns.config_dir)
    app = TrunkConsoleApp(settings)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for_state(app, pilot, State.CONNECTED)
        assert app.server_info is not None
        assert app.server_info.asterisk_version.startswith("22.")
        text = screen_text(app)
        assert "connected" in text
        assert app.server_info.asterisk_version in text
        await pilot.press("q")
    assert app.connection is not None
    assert app.connection.status.state is State.CLOSED


async def test_wrong_secret_is_a_final_clear_failure(in_pbx_netns: Lab) -> None:
    settings = Settings(ami=AmiTarget(secret=Secret("not-the-secret"), secret_source="test"))
    app = TrunkConsoleApp(settings)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for_state(app, pilot, State.FAILED)
        text = screen_text(app)
        assert "authentication failed for user trunkconsole at 127.0.0.1:5038" in text
        assert "not-the-secret" not in text
        await pilot.pause(2.0)
        assert app.ami_status.state is State.FAILED  # no silent retry loop


async def test_refused_port_says_reconnecting_with_reason(in_pbx_netns: Lab) -> None:
    settings = Settings(ami=AmiTarget(port=5999, secret=Secret("x")))
    app = TrunkConsoleApp(settings)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for_state(app, pilot, State.RECONNECTING)
        assert "nothing listens on 127.0.0.1:5999" in screen_text(app)


def frozen_app() -> TrunkConsoleApp:
    settings = Settings(ami=AmiTarget(secret=Secret("s"), secret_source="file /etc/tc.secret"),
                        asterisk_dir=Path("/etc/asterisk"))
    app = TrunkConsoleApp(settings, connect=False)
    app.ami_status = Status(State.CONNECTED)
    app.server_info = ServerInfo("22.10.1", "11.0.0", "", 3723.0, 100.0)
    app.clock = lambda: 100.0
    app.wall_clock = lambda: 1795666500.0  # the uptime ticks on its second
    return app


async def on_connection_screen(pilot: Any) -> None:
    await pilot.press("f2")
    await settle(pilot)


def test_snapshot_connected(snap_compare: Any) -> None:
    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=on_connection_screen)


def test_snapshot_failed_wide(snap_compare: Any) -> None:
    app = frozen_app()
    app.ami_status = Status(State.FAILED, "authentication failed for user trunkconsole at "
                            "127.0.0.1:5038")
    app.server_info = None
    assert snap_compare(app, terminal_size=(160, 50), run_before=on_connection_screen)
