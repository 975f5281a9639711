"""Never stale: the Network screen re-reads the rules when they change (nft monitor), with
no key pressed: a rule inserted while it is open shows within seconds."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any, ClassVar

from textual.screen import Screen

from tests.lab.live_helpers import eventually
from trunkconsole.lab.lab import Lab
from trunkconsole.net.report import NetworkReport
from trunkconsole.net.watch import RulesetWatcher
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
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
