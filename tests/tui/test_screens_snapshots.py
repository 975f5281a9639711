"""Every screen of the console in the dark and the light theme, at 80x24 and 160x50.

Deterministic data is injected (fixed clocks, fixed findings, fixed SIP messages): a
snapshot must not depend on the lab or the time of day.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen

from trunkconsole.ami.connection import State, Status
from trunkconsole.ami.server_info import ServerInfo
from trunkconsole.calls.sip_history import SipMessage
from trunkconsole.changes.changeset import ChangeSet
from trunkconsole.changes.files import snapshot
from trunkconsole.diagnose.workflow import Step, StepState
from trunkconsole.findings import AddProviderAddress, Evidence, Finding, Severity
from trunkconsole.resources import sample_configs_dir
from trunkconsole.settings import AmiTarget, Secret, Settings
from trunkconsole.tui.app import TrunkConsoleApp

from ..unit.history_fixture import load_history
from .screen import put_fixed, settle

THEMES = ("trunk-dark", "trunk-light")
SIZES = ((80, 24), (160, 50))
FIXED = Path("/tmp/trunkconsole-snapshot")
# The lab's configs at a fixed path: screens show the config directory, and a snapshot
# taken in another checkout must not differ.
LAB = FIXED / "etc"


@pytest.fixture(autouse=True)
def lab_configs() -> None:
    for conf in (sample_configs_dir() / "lab").glob("*.conf"):
        put_fixed(LAB / conf.name, conf.read_bytes())


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def make_app(theme: str, screen: Callable[[], Screen[Any]] | None = None,
             mode: str | None = None) -> TrunkConsoleApp:
    settings = Settings(ami=AmiTarget(secret=Secret("s"), secret_source="file /etc/tc.secret"),
                        asterisk_dir=LAB, theme=theme)

    class SnapshotApp(TrunkConsoleApp):
        def on_ready(self) -> None:
            if mode is not None:
                self.switch_mode(mode)
            if screen is not None:
                self.push_screen(screen())

    app = SnapshotApp(settings, connect=False)
    app.ami_status = Status(State.CONNECTED)
    app.server_info = ServerInfo("22.10.1", "11.0.0", "", 3723.0, 100.0)
    app.clock = lambda: 100.0
    app.wall_clock = lambda: 1795666500.0  # the uptime ticks on its second
    return app


def messages() -> list[SipMessage]:
    invite = ("INVITE sip:15551230001@203.0.113.1:5060 SIP/2.0\nVia: SIP/2.0/UDP "
              "203.0.113.12:5060\nFrom: \"[red]Caller[/b]\" <sip:15557770000@203.0.113.12>"
              "\nCall-ID: 1-42@203.0.113.12\nCSeq: 1 INVITE\nContent-Length: 0")
    return [
        SipMessage(1, 1795660000, True, "203.0.113.12:5060", invite.splitlines()[0], invite),
        SipMessage(2, 1795660000, False, "203.0.113.12:5060", "SIP/2.0 401 Unauthorized",
                   "SIP/2.0 401 Unauthorized\nCall-ID: 1-42@203.0.113.12\nCSeq: 1 INVITE"),
    ]


def findings() -> list[Finding]:
    return [
        Finding("provider-ip-changed", Severity.CRITICAL,
                "the provider of trunk carrier now sends from 203.0.113.12: Asterisk refuses "
                "those calls (no identify matches)", "carrier",
                (Evidence("4 requests from 203.0.113.12 refused with 401 since 04:35:51"),
                 Evidence("why trunk carrier: same /24 as its match 203.0.113.10"),
                 Evidence("trunk carrier's contact sip:203.0.113.10:5060 is Unreachable")),
                "add 203.0.113.12 to trunk carrier: trunkconsole identify add carrier "
                "203.0.113.12", "live",
                {"trunk": "carrier", "address": "203.0.113.12"},
                proposal=AddProviderAddress(trunk="carrier", address="203.0.113.12"),
                short="provider IP changed"),
        Finding("rtp-not-arriving", Severity.CRITICAL,
                "no audio from the provider on PJSIP/carrier-00000005", "carrier",
                (Evidence("firewall, RTP from 203.0.113.10: 10000-10099 dropped by inet "
                          "lab input #2"),), "let RTP in", "live",
                short="no audio from provider"),
        Finding("unknown-sender", Severity.WARNING, "192.0.2.99 sends SIP that no identify "
                "matches", "192.0.2.99", (), "block it", "live",
                proposal=AddProviderAddress(address="192.0.2.99"), short="unknown sender"),
    ]


def steps() -> list[Step]:
    return [
        Step("SIP logger on for trunk carrier", StepState.OK,
             ["trunk carrier is 203.0.113.10/32; watching INVITEs from any address"]),
        Step("waiting up to 60 s for an inbound INVITE: call a DID now", StepState.OK,
             ["INVITE from 203.0.113.12:5061 to sip:15551230001@203.0.113.1:5060",
              "Asterisk answered 401 Unauthorized"]),
        Step("which identify matches the source", StepState.PROBLEM,
             ["no identify matches 203.0.113.12", "most likely trunk carrier: same /24"],
             "trunkconsole identify add carrier 203.0.113.12",
             AddProviderAddress(trunk="carrier", address="203.0.113.12")),
    ]


def review() -> Screen[Any]:
    from trunkconsole.tui.dialogs.review import ReviewScreen

    conf = FIXED / "pjsip.conf"
    put_fixed(conf, b"[carrier]\ntype = identify\nendpoint = carrier\nmatch = 203.0.113.10\n")
    changeset = ChangeSet("add 203.0.113.12 to the identify of trunk carrier")
    before = snapshot(conf)
    changeset.add(conf, before.content + b"match = 203.0.113.12\n", before)
    return ReviewScreen(changeset)


def screens() -> dict[str, tuple[str | None, Callable[[], Screen[Any]] | None]]:
    from trunkconsole.tui.dialogs.identify_add import IdentifyAddDialog
    from trunkconsole.tui.dialogs.trunk_add import TrunkAddDialog
    from trunkconsole.tui.screens.diagnoses import DiagnosesScreen
    from trunkconsole.tui.screens.sip_logger import SipLoggerScreen
    from trunkconsole.tui.screens.workflow import WorkflowScreen

    return {
        "connection": ("connection", None),
        "config": ("config", None),
        "logger": (None, lambda: SipLoggerScreen(messages())),
        "ladder": (None, lambda: SipLoggerScreen(load_history("lab-calls.json"))),
        "diagnoses": (None, lambda: DiagnosesScreen(findings())),
        "workflow": (None, lambda: WorkflowScreen("carrier", steps())),
        "help": ("connection", None),
        "review": (None, review),
        "identify": (None, lambda: IdentifyAddDialog(
            ["carrier"], AddProviderAddress(
                trunk="carrier", address="203.0.113.12",
                why="the provider of trunk carrier now sends from 203.0.113.12"))),
        "trunk": (None, lambda: TrunkAddDialog(["inbound-provider", "outbound"])),
    }


CASES = list(screens())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", CASES)
def test_screen(snap_compare: Any, name: str, theme: str, size: tuple[int, int]) -> None:
    mode, screen = screens()[name]
    app = make_app(theme, screen, mode)
    async def run_before(pilot: Any) -> None:
        if name == "help":
            await pilot.press("question_mark")
        if name == "ladder":  # the calls view, the 403 call with its retransmission
            await settle(pilot)
            await pilot.press("l")  # the calls table has the focus before the keys move it
            await settle(pilot)
            for _ in range(3):
                await pilot.press("down")
                await pilot.pause(0.05)
            # the ladder is drawn once the cursor rests (80 ms): on a busy machine that
            # timer can fire after the screen already looked settled
            from trunkconsole.tui.widgets.call_ladder import CallLadder

            for _ in range(100):
                if not any(w.ladder_pending for w in app.screen.query(CallLadder)):
                    break
                await pilot.pause(0.05)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


DASHBOARD_KEYS = {"dashboard": [], "trunk-detail": ["down", "down", "enter"],
                  "channel-detail": ["tab", "enter"]}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("name", list(DASHBOARD_KEYS))
def test_dashboard_screen(snap_compare: Any, name: str, theme: str,
                          size: tuple[int, int]) -> None:
    from trunkconsole.tui.screens.dashboard import DashboardScreen

    from .dashboard_app import DashboardApp, StaticLive, frozen, populated_state

    settings = Settings(ami=AmiTarget(secret=Secret("s")), asterisk_dir=LAB, theme=theme)
    app = frozen(DashboardApp(StaticLive(populated_state()), settings=settings))

    async def run_before(pilot: Any) -> None:
        for _ in range(50):
            if isinstance(app.screen, DashboardScreen):
                break
            await pilot.pause(0.02)
        app.refresh_visible()
        await pilot.pause()
        if DASHBOARD_KEYS[name]:
            await pilot.press(*DASHBOARD_KEYS[name])
            app.refresh_visible()
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
