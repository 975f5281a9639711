"""The screen contract: only the visible screen works; a fix goes through with Enter, Enter.

The AMI here is a counting double (the real one is in tests/lab): what is counted is
whether the console *asks* (config parses, AMI commands), not what Asterisk answers.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any, cast

import pytest

from tests.tui.dashboard_app import StaticLive, populated_state
from trunkconsole.ami.connection import AmiConnection
from trunkconsole.findings import AddProviderAddress, Finding, SetOption, Severity
from trunkconsole.journal import history as history_core
from trunkconsole.pjsip import system
from trunkconsole.resources import sample_configs_dir
from trunkconsole.settings import AmiTarget, Secret, Settings
from trunkconsole.tui.app import REFRESH_HZ, TrunkConsoleApp
from trunkconsole.tui.dialogs.identify_add import IdentifyAddDialog
from trunkconsole.tui.dialogs.review import ReviewScreen
from trunkconsole.tui.screens import dashboard, history
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.screens.diagnoses import DiagnosesScreen
from trunkconsole.tui.screens.history import HistoryScreen

from .screen import visible_text

DIAGNOSES_PERIOD = DiagnosesScreen.REFRESH_TICKS / REFRESH_HZ


class CountingAmi:
    """Stands in for a logged-in AmiConnection; counts the commands it is asked."""

    connected = True

    def __init__(self) -> None:
        self.commands: list[str] = []

    async def command(self, text: str, timeout: float = 10.0) -> list[str]:
        del timeout
        self.commands.append(text)
        return []


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("pjsip.conf", "extensions.conf", "rtp.conf"):
        source = sample_configs_dir() / "lab" / name
        if source.exists():
            shutil.copy(source, etc / name)
    return etc


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every config parse the console starts (load_asterisk, the one entry point)."""
    seen: list[Path] = []
    real = system.load_asterisk

    def counting(directory: Path, *args: Any, **kwargs: Any) -> Any:
        seen.append(directory)
        return real(directory, *args, **kwargs)

    monkeypatch.setattr(system, "load_asterisk", counting)
    return seen


def console(config_dir: Path, *, readonly: bool = False) -> tuple[TrunkConsoleApp, CountingAmi]:
    app = TrunkConsoleApp(Settings(ami=AmiTarget(secret=Secret("s")), asterisk_dir=config_dir,
                                   readonly=readonly), connect=False)
    app.live = StaticLive(populated_state())
    ami = CountingAmi()
    app.connection = cast(AmiConnection, ami)
    return app, ami


async def quiet(pilot: Any, app: Any, commands: list[Any],
                parses: list[Path]) -> tuple[int, int]:
    """The counts once work started while the screen was still shown has finished: on a
    loaded machine a refresh begun just before the switch can land just after it."""
    counts = (-1, -1)
    for _ in range(20):
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        now = (len(commands), len(parses))
        if now == counts:
            return now
        counts = now
    return counts


async def test_hidden_and_covered_screens_do_no_periodic_work(
        config_dir: Path, parses: list[Path]) -> None:
    app, ami = console(config_dir)
    # The dashboard asks channelstats (its own, visible work) while a call with RTCP figures
    # lacks its codec: give them codecs, so here only a hidden screen could ask AMI.
    assert app.live is not None
    for call in app.live.state.quality.calls.values():
        call.codec = "ulaw"
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f6")
        await pilot.pause(DIAGNOSES_PERIOD * 2 + 0.3)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, DiagnosesScreen)
        assert ami.commands, "the visible Diagnoses screen asks AMI"
        assert parses, "the visible Diagnoses screen reads the config"
        await pilot.press("f5")  # the logger screen reads the trunk list once
        await pilot.pause(0.5)
        await pilot.press("f1")
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, DashboardScreen)
        commands, parsed = await quiet(pilot, app, ami.commands, parses)
        await pilot.pause(DIAGNOSES_PERIOD * 2 + 0.5)  # two Diagnoses periods, hidden
        await app.workers.wait_for_complete()
        assert (len(ami.commands), len(parses)) == (commands, parsed), ami.commands[commands:]
        # Under a modal (the help screen) the Diagnoses screen does nothing either.
        await pilot.press("f6")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        commands, parsed = await quiet(pilot, app, ami.commands, parses)
        await pilot.pause(DIAGNOSES_PERIOD * 2 + 0.5)
        assert (len(ami.commands), len(parses)) == (commands, parsed)
        await pilot.press("escape")  # shown again: it catches up at once
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        assert len(ami.commands) > commands


CHANNELSTATS = "pjsip show channelstats"


async def test_history_and_the_codec_poll_work_only_while_shown(
        config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The History screen re-reads the journal, and the dashboard asks channelstats for a
    call without its codec, on the app's tick: each only while it is the visible screen
    (periods shortened to two ticks so the test waits seconds, not minutes; the journal
    looks changed at every look, as it does while `watch` writes it)."""
    monkeypatch.setenv("TRUNKCONSOLE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(HistoryScreen, "REFRESH_TICKS", 2)
    monkeypatch.setattr(dashboard, "CODEC_POLL_TICKS", 2)
    period = 2 / REFRESH_HZ
    reads: list[float] = []
    real = history_core.build_history

    def counting(path: Path, window: float, **kwargs: Any) -> Any:
        reads.append(window)
        return real(path, window, **kwargs)

    monkeypatch.setattr(history, "build_history", counting)
    stamps = itertools.count()
    monkeypatch.setattr(history, "_file_state", lambda _path: (float(next(stamps)), 1))
    app, ami = console(config_dir)
    assert app.live is not None
    assert any(not call.codec for call in app.live.state.quality.calls.values())

    def asked() -> int:
        return ami.commands.count(CHANNELSTATS)

    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(period * 3 + 0.3)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, DashboardScreen)
        assert asked() >= 2, "the visible dashboard polls the codecs"
        assert not reads
        await pilot.press("f8")
        await pilot.pause(period * 3 + 0.3)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, HistoryScreen)
        assert len(reads) >= 3, "the visible History screen re-reads the journal"
        assert "no journal at" in visible_text(app)
        await quiet(pilot, app, ami.commands, [])
        polled = asked()
        await pilot.pause(period * 3 + 0.3)  # three codec periods with the dashboard hidden
        await app.workers.wait_for_complete()
        assert asked() == polled, "the hidden dashboard asked AMI"
        await pilot.press("f1")
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        read = len(reads)
        await pilot.pause(period * 3 + 0.3)  # three History periods, hidden
        await app.workers.wait_for_complete()
        assert len(reads) == read, "the hidden History screen read the journal"
        assert asked() > polled, "shown again, the dashboard polls again"
        # Under a modal (the help screen) the History screen reads nothing either.
        await pilot.press("f8")
        await pilot.pause(0.3)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        read = len(reads)
        await pilot.pause(period * 3 + 0.3)
        await app.workers.wait_for_complete()
        assert len(reads) == read
        await pilot.press("escape")  # shown again: it catches up at once
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        assert len(reads) > read


def fixable() -> list[Finding]:
    return [Finding("provider-ip-changed", Severity.CRITICAL,
                    "the provider of trunk carrier now sends from 203.0.113.12: Asterisk "
                    "refuses those calls (no identify matches)", "carrier", domain="live",
                    short="provider IP changed",
                    proposal=AddProviderAddress(trunk="carrier", address="203.0.113.12"))]


class FixApp(TrunkConsoleApp):
    def on_ready(self) -> None:
        self.push_screen(DiagnosesScreen(fixable()))


async def test_a_fix_from_a_diagnosis_applies_with_enter_enter(config_dir: Path) -> None:
    """a opens the proposed change with the primary action focused; Enter reviews, Enter
    applies (refused here: read-only, so nothing is written and the refusal shows)."""
    before = (config_dir / "pjsip.conf").read_bytes()
    app = FixApp(Settings(ami=AmiTarget(secret=Secret("s")), asterisk_dir=config_dir,
                          readonly=True), connect=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        assert "provider IP changed" in visible_text(app)
        await pilot.press("a")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, IdentifyAddDialog)
        focused = app.screen.focused
        assert focused is not None
        assert focused.id == "identify-review"
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, ReviewScreen)
        assert "+match = 203.0.113.12" in visible_text(app)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert "read-only" in visible_text(app)
    assert (config_dir / "pjsip.conf").read_bytes() == before


async def test_workflow_trunk_is_chosen_from_a_diagnosis_or_when_alone(config_dir: Path) -> None:
    from textual.widgets import Select

    from trunkconsole.tui.screens.workflow import WorkflowScreen

    app = FixApp(Settings(ami=AmiTarget(secret=Secret("s")), asterisk_dir=config_dir),
                 connect=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("w")  # walk a call from the trunk's diagnosis
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert isinstance(app.screen, WorkflowScreen)
        assert app.screen.query_one("#wf-trunk", Select).value == "carrier"


class OptionFixApp(TrunkConsoleApp):
    def on_ready(self) -> None:
        self.push_screen(DiagnosesScreen([Finding(
            "codec-mismatch", Severity.CRITICAL, "no codec in common with the provider",
            "carrier", short="no common codec",
            proposal=SetOption(kind="endpoint", name="carrier", option="allow",
                               value="g729"))]))


async def test_a_typed_proposal_other_than_an_address_opens_its_review(
        config_dir: Path) -> None:
    """A SetOption proposal is planned in a worker by the CLI twin's planner and goes
    straight to the review (no form): Enter on the finding, and the diff shows."""
    before = (config_dir / "pjsip.conf").read_bytes()
    app = OptionFixApp(Settings(ami=AmiTarget(secret=Secret("s")), asterisk_dir=config_dir,
                                readonly=True), connect=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert isinstance(app.screen, ReviewScreen)
        assert "allow = g729" in visible_text(app)
    assert (config_dir / "pjsip.conf").read_bytes() == before


def test_every_mode_screen_is_a_live_screen() -> None:
    """The app's tick refreshes a LiveScreen, and only the visible one."""
    from trunkconsole.tui.app import SCREENS_BY_MODE, _screen_factory
    from trunkconsole.tui.screens.base import LiveScreen

    for mode, spec in SCREENS_BY_MODE.items():
        assert isinstance(_screen_factory(spec), LiveScreen), mode


async def test_the_only_trunk_is_chosen_and_the_first_empty_field_focused(
        config_dir: Path) -> None:
    """One trunk in pjsip.conf (the lab's carrier): `i` opens the identify form with it
    chosen and the address (the field left to fill) focused, not the Select; the workflow
    (F7) and the logger (F5) screens have it chosen too."""
    from textual.widgets import Input, Select

    app, _ami = console(config_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("i")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert isinstance(app.screen, IdentifyAddDialog)
        assert app.screen.query_one("#identify-trunk", Select).value == "carrier"
        assert isinstance(app.screen.focused, Input)
        assert app.screen.focused.id == "identify-address"
        await pilot.press("escape")
        for key, select in (("f7", "#wf-trunk"), ("f5", "#logger-trunk")):
            await pilot.press(key)
            await pilot.pause(0.3)
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
            assert app.screen.query_one(select, Select).value == "carrier", key
