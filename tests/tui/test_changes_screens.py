"""Guided changes in the console: the identify dialog, the review screen, the SIP logger."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.ami.connection import State
from trunkconsole.changes.changeset import ChangeSet
from trunkconsole.changes.files import snapshot
from trunkconsole.lab.lab import Lab
from trunkconsole.resources import sample_configs_dir
from trunkconsole.settings import AmiTarget, Secret, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.dialogs.review import ReviewScreen

from .screen import put_fixed, settle, visible_text


async def wait_until(pilot: Any, predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRUNKCONSOLE_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


async def test_add_ip_from_dialog_to_applied(in_pbx_netns: Lab, lab_config: Lab,
                                             state_dir: Path) -> None:
    lab = in_pbx_netns
    settings = Settings(ami=AmiTarget(secret=Secret(lab.secret())), asterisk_dir=lab.config_dir)
    app = TrunkConsoleApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ami_status.state is State.CONNECTED)
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#identify-address").focus()
        await pilot.press(*"203.0.113.17", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert "+match = 203.0.113.17" in visible_text(app)
        await pilot.press("a")
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await wait_until(pilot, lambda: review.result is not None)
        assert review.result is not None
        assert review.result.applied, review.result.summary()
        await pilot.pause(0.3)
        assert "applied and verified" in visible_text(app)
    assert b"match = 203.0.113.17" in (lab.config_dir / "pjsip.conf").read_bytes()
    assert (state_dir / "audit.log").exists()


async def test_dialog_refuses_junk_without_touching_files(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("pjsip.conf", "extensions.conf"):
        (etc / name).write_bytes((sample_configs_dir() / "lab" / name).read_bytes())
    before = (etc / "pjsip.conf").read_bytes()
    app = TrunkConsoleApp(Settings(ami=AmiTarget(), asterisk_dir=etc), connect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#identify-address").focus()
        await pilot.press(*"10.0.0.1 x", "enter")
        await pilot.pause()
        text = visible_text(app)
        assert "is not a provider address" in text
    assert (etc / "pjsip.conf").read_bytes() == before


def review_app(tmp_path: Path) -> TrunkConsoleApp:
    del tmp_path  # a fixed path: the diff shows it, and the snapshot must not change
    fixed = Path("/tmp/trunkconsole-snapshot-review")
    conf = fixed / "pjsip.conf"
    put_fixed(conf, b"[carrier]\ntype = identify\nendpoint = carrier\nmatch = 203.0.113.10\n"
                    b"\n[carrier-auth]\ntype = auth\npassword = hunter2\n")
    changeset = ChangeSet("add 203.0.113.12 to the identify of trunk carrier")
    before = snapshot(conf)
    changeset.add(conf, before.content.replace(b"match = 203.0.113.10\n",
                                               b"match = 203.0.113.10\nmatch = 203.0.113.12\n"),
                  before)
    changeset.notes.append("203.0.113.12 also matches trunk other (identify other)")

    class ReviewApp(TrunkConsoleApp):
        def on_ready(self) -> None:
            self.push_screen(ReviewScreen(changeset))

    return ReviewApp(Settings(ami=AmiTarget(), asterisk_dir=fixed), connect=False)


def test_review_never_shows_secrets(tmp_path: Path, snap_compare: Any) -> None:
    app = review_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


async def test_review_masks_password_in_context(tmp_path: Path) -> None:
    app = review_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = visible_text(app)
    assert "+match = 203.0.113.12" in text
    assert "also matches trunk other" in text
    assert "hunter2" not in text


def test_logger_screen_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    app = TrunkConsoleApp(Settings(ami=AmiTarget(), asterisk_dir=tmp_path), connect=False)
    async def run_before(pilot: Any) -> None:
        await pilot.press("f5")
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=(120, 30))


async def test_unknown_sender_opens_add_ip_prefilled(tmp_path: Path) -> None:
    """Dashboard, unknown-senders panel, Enter: the trunk it most likely belongs to is
    proposed and the add-IP flow opens with the address filled in."""
    from textual.widgets import Input, Select

    from trunkconsole.tui.dialogs.identify_add import IdentifyAddDialog
    from trunkconsole.tui.screens.dashboard import DashboardScreen

    from .dashboard_app import DashboardApp, StaticLive, frozen, populated_state

    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("pjsip.conf", "extensions.conf"):
        (etc / name).write_bytes((sample_configs_dir() / "lab" / name).read_bytes())
    app = frozen(DashboardApp(StaticLive(populated_state()),
                              settings=Settings(ami=AmiTarget(), asterisk_dir=etc)))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        app.refresh_visible()
        await pilot.pause()
        app.screen.query_one("#senders").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, IdentifyAddDialog))
        dialog = app.screen
        assert dialog.query_one("#identify-trunk", Select).value == "carrier"
        assert dialog.query_one("#identify-address", Input).value == "203.0.113.11"
        assert "same /24 as its match 203.0.113.10" in visible_text(app)


async def test_logger_stops_when_console_quits_elsewhere(in_pbx_netns: Lab,
                                                         lab_ami: Any) -> None:
    """Logger on from the logger screen, go to the dashboard, quit: no logger left."""
    from textual.widgets import Select

    from trunkconsole.changes.sip_logger import state_file_for
    from trunkconsole.tui.screens.sip_logger import SipLoggerScreen

    lab = in_pbx_netns
    settings = Settings(ami=AmiTarget(secret=Secret(lab.secret())), asterisk_dir=lab.config_dir)
    state_file = state_file_for(settings.ami.address)
    app = TrunkConsoleApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ami_status.state is State.CONNECTED)
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, SipLoggerScreen))
        app.screen.query_one("#logger-trunk", Select).value = "carrier"
        await pilot.press("ctrl+o")
        await wait_until(pilot, state_file.exists)
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("q")
    assert not state_file.exists()
    assert [line for line in lab_ami.command("pjsip show history") if line[:1].isdigit()] == []


async def test_review_of_a_freepbx_change_says_the_gui_will_not_show_it(tmp_path: Path) -> None:
    import shutil

    from trunkconsole.changes.option import plan_option_set

    etc = tmp_path / "etc"
    shutil.copytree(sample_configs_dir() / "freepbx", etc)
    changeset = plan_option_set(etc, "endpoint", "telco-ip", "context", "from-telco")

    class ReviewApp(TrunkConsoleApp):
        def on_ready(self) -> None:
            self.push_screen(ReviewScreen(changeset))

    app = ReviewApp(Settings(ami=AmiTarget(), asterisk_dir=etc), connect=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await settle(pilot)
        # the modal's borders cut wrapped lines: read the words only
        text = " ".join(visible_text(app).replace("█", " ").split())
    assert "+[telco-ip](+type=endpoint)" in text
    assert "pjsip.endpoint_custom_post.conf" in text
    assert "so its GUI will not show it" in text
