"""Never stale: the Network screen re-reads the rules when they change (nft monitor), with
no key pressed: a rule inserted while it is open shows within seconds."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.screen import Screen

from tests.lab.live_helpers import eventually
from tests.tui.dashboard_app import StaticLive, populated_state
from trunkconsole.lab.lab import Lab
from trunkconsole.net.feed import SETTLE
from trunkconsole.net.report import NetworkReport
from trunkconsole.net.watch import RulesetWatcher
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.screens.diagnoses import DiagnosesScreen
from trunkconsole.tui.screens.network import NetworkScreen, live_report

TABLE = "tc_lab_never_stale"


async def test_network_screen_follows_a_rule_inserted_while_open(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns
    watcher = RulesetWatcher()

    class WatchedApp(TrunkConsoleApp):
        MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
            **TrunkConsoleApp.MODES, "network": lambda: NetworkScreen(live_report, watcher)}

        def on_ready(self) -> None:
            self.switch_mode("network")

    app = WatchedApp(Settings(ami=AmiTarget(), asterisk_dir=lab.config_dir), connect=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await eventually(lambda: isinstance(app.screen, NetworkScreen)
                             and app.screen.report is not None, what="the first report")
            screen = app.screen
            assert isinstance(screen, NetworkScreen)
            first = screen.report
            assert first is not None
            row = next(r for r in first.rows if r.address.address == "203.0.113.10")
            assert all(v.decision.value == "accept" for v in row.sip.values())
            subprocess.run(["nft", "-f", "-"], check=True, text=True, input=(
                f"table inet {TABLE} {{ chain input {{ type filter hook input priority 0; "
                "policy accept; ip saddr 203.0.113.10 udp dport 5060 drop; }\n}\n"))

            def blocked() -> bool:
                app.refresh_visible()
                report = screen.report
                return report is not first and report is not None and any(
                    v.decision.value == "drop" for r in report.rows
                    if r.address.address == "203.0.113.10" for v in r.sip.values())

            await eventually(blocked, timeout=10, what="the new rule on the screen")
            await pilot.pause()
    finally:
        subprocess.run(["nft", "delete", "table", "inet", TABLE], check=False)
        watcher.stop()


async def test_diagnoses_evidence_follows_a_rule_inserted_while_open(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns

    class DiagnosesApp(TrunkConsoleApp):
        def on_ready(self) -> None:
            self.switch_mode("diagnoses")

    app = DiagnosesApp(Settings(ami=AmiTarget(), asterisk_dir=lab.config_dir), connect=False)
    table = TABLE + "_d"
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            def read() -> NetworkReport | None:
                screen = app.screen
                return screen.evidence.network if isinstance(screen, DiagnosesScreen) \
                    else None

            await eventually(lambda: read() is not None, what="the first firewall read")
            first = read()
            subprocess.run(["nft", "-f", "-"], check=True, text=True, input=(
                f"table inet {table} {{ chain input {{ type filter hook input priority 0; "
                "policy accept; ip saddr 203.0.113.10 udp dport 5060 drop; }\n}\n"))

            def blocked() -> bool:
                app.refresh_visible()
                report = read()
                return report is not first and report is not None and any(
                    v.decision.value == "drop" for r in report.rows
                    if r.address.address == "203.0.113.10" for v in r.sip.values())

            await eventually(blocked, timeout=15, what="the new rule in the evidence")
            await pilot.pause()
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], check=False)


def nft_monitors() -> set[int]:
    """Our own `nft monitor ruleset` children (other engineers' and tests' are not ours)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and cmdline == b"nft\0monitor\0ruleset\0":
            found.add(int(entry.name))
    return found


async def test_the_console_watches_and_reads_the_rules_once_for_every_screen(
        in_pbx_netns: Lab) -> None:
    """Dashboard (its bans), Network and Diagnoses share the app's feed: one `nft monitor`
    for the console, the rules read once per change whichever screen asks."""
    lab = in_pbx_netns
    before = nft_monitors()
    app = TrunkConsoleApp(Settings(ami=AmiTarget(), asterisk_dir=lab.config_dir), connect=False)
    app.live = StaticLive(populated_state())  # trunks on the dashboard: its bans are read
    feed = app.firewall
    table = TABLE + "_o"
    try:
        feed.start()
        await asyncio.sleep(SETTLE + 0.5)  # nft monitor subscribed: its silence vouches
        async with app.run_test(size=(120, 40)) as pilot:
            dashboard = app.screen
            assert isinstance(dashboard, DashboardScreen)
            await eventually(lambda: dashboard.ban_watch is not None
                             and dashboard.ban_watch.started_at is not None
                             and not dashboard.ban_watch._reading, 15, "the dashboard's bans")
            assert feed.reads == 1
            await pilot.press("f4")
            network = app.screen
            assert isinstance(network, NetworkScreen)
            await eventually(lambda: network.report is not None, 15, "the network report")
            await pilot.press("f6")
            diagnoses = app.screen
            assert isinstance(diagnoses, DiagnosesScreen)
            await eventually(lambda: diagnoses.evidence.network is not None, 15,
                             "the diagnoses' firewall read")
            assert feed.reads == 1, "the rules were read again with nothing changed"
            first = diagnoses.evidence.network
            subprocess.run(["nft", "-f", "-"], check=True, text=True, input=(
                f"table inet {table} {{ chain input {{ type filter hook input priority 0; "
                "policy accept; ip saddr 203.0.113.10 udp dport 5060 drop; }\n}\n"))
            await eventually(lambda: diagnoses.evidence.network is not first, 15,
                             "the change read by the visible screen")
            assert feed.reads == 2
            shown = network.report
            await pilot.press("f4")
            await eventually(lambda: network.report is not shown, 15,
                             "the Network screen caught up")
            report = network.report
            assert report is not None
            assert any(v.decision.value == "drop" for r in report.rows
                       if r.address.address == "203.0.113.10" for v in r.sip.values())
            assert feed.reads == 2, "one read per change, whichever screen asks"
            assert len(nft_monitors() - before) == 1
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], check=False)
    await asyncio.sleep(0.5)
    assert not nft_monitors() - before, "the console's nft monitor outlived it"
