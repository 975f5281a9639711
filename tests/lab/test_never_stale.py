"""Never stale, on the real lab: what the console says follows what Asterisk says.

- After `identify add carrier 203.0.113.12` (applied, verified, a call from .12 answered)
  the unknown sender and the provider-IP-changed diagnosis leave the dashboard, the
  Diagnoses screen, `status --json` and `check` within one refresh.
- rtp-blocked: the Diagnoses screen, shown before the rule was inserted, names the rule
  without a key press (the firewall is read again for a finding newer than the last read);
  after `lab scenario reset` the finding clears.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.lab.live_helpers import eventually, lab_target
from tests.tui.screen import visible_text
from trunkconsole.ami.live import LiveSession
from trunkconsole.findings import Finding
from trunkconsole.lab import scenarios
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.settings import Settings
from trunkconsole.tui.app import REFRESH_HZ, TrunkConsoleApp
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.screens.diagnoses import DiagnosesScreen
from trunkconsole.tui.widgets.live_table import LiveTable

from .helpers import ROOT, ami_logins, run_cli

NEW_IP = scenarios.NEW_CARRIER_ADDRESS
RULE = f"inet {scenarios.NFT_TABLE} input #2"
ONE_TICK = 1 / REFRESH_HZ


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def console(lab: Lab) -> TrunkConsoleApp:
    """The real console on the lab PBX (it connects and resyncs by itself)."""
    return TrunkConsoleApp(Settings(ami=lab_target(lab), asterisk_dir=lab.config_dir))


async def cli_in_background(lab: Lab, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
        "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL, cwd=ROOT)


async def json_of(process: asyncio.subprocess.Process) -> dict[str, Any]:
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode in (0, 1, 2), err.decode()
    data: dict[str, Any] = json.loads(out)
    return data


def synced(app: TrunkConsoleApp) -> bool:
    return isinstance(app.live, LiveSession) and app.live.syncs > 0


def sender_keys(app: TrunkConsoleApp) -> list[str]:
    return list(app.screen.query_one("#senders", LiveTable).keys)


async def test_identify_fix_leaves_dashboard_status_and_check(
        scenario_lab: Lab, in_pbx_netns: Lab, tmp_path: Path) -> None:
    lab = scenario_lab
    await asyncio.to_thread(scenarios.apply, lab, "provider-ip-changed", log=lambda _m: None)
    app = console(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        await eventually(lambda: synced(app), 15, "a resync")
        await eventually(lambda: isinstance(app.screen, DashboardScreen)
                         and NEW_IP in sender_keys(app), 20, "the unknown sender on screen")
        await pilot.press("f6")
        await eventually(lambda: "provider-ip-changed" in codes(app, NEW_IP), 15,
                         "the diagnosis")
        # The CLI twins listen across the fix, as a Nagios check running at that moment:
        # their 22 s start once they have logged in and listed (not counted from here).
        with ami_logins(lab) as logins:
            status = await cli_in_background(lab, "status", "--json", "--listen", "22",
                                             "--config-dir", str(lab.config_dir))
            check = await cli_in_background(lab, "check", "--json", "--no-network",
                                            "--listen", "22")
            await asyncio.to_thread(logins.wait, 2)
        await asyncio.sleep(6)  # the carrier's calls from .12 keep being refused meanwhile
        fixed = await asyncio.to_thread(run_cli, lab, "identify", "add", "carrier", NEW_IP,
                                        "--yes", state=tmp_path)
        assert "applied and verified" in fixed.stdout, fixed.stdout + fixed.stderr
        answered = await asyncio.to_thread(lab.call, CallSpec(did="15551230001",
                                                              source=NEW_IP))
        assert answered.answered == 1, answered.summary()
        assert app.live is not None
        state = app.live.state
        # Asterisk's reload made the session list the carrier's identify again.
        took = await eventually(lambda: NEW_IP not in state.senders.by_address, 10,
                                "the sender resolved in the model")
        resolved = state.senders.resolved[NEW_IP]
        assert (resolved.endpoint, resolved.identify) == ("carrier", "carrier")
        assert took < 10
        await eventually(lambda: "provider-ip-changed" not in codes(app, NEW_IP), 2.5,
                         "the diagnosis gone from the Diagnoses screen")
        await pilot.press("f1")
        await pilot.pause(ONE_TICK + 0.1)
        assert NEW_IP not in sender_keys(app)  # within one tick of the dashboard
        assert f"{NEW_IP} matched by identify carrier of trunk carrier" in visible_text(app)
        status_data = await json_of(status)
        check_data = await json_of(check)
    assert NEW_IP not in [s["address"] for s in status_data["unknown_senders"]]
    assert [(r["address"], r["endpoint"]) for r in status_data["resolved_senders"]] == [
        (NEW_IP, "carrier")]  # it was seen as unknown during the listen, then resolved
    for data in (status_data, check_data):
        found = [f["code"] for f in data["findings"]
                 if NEW_IP in (f.get("subject"), f.get("details", {}).get("address"))]
        assert "provider-ip-changed" not in found, found
        assert not [f for f in data["findings"]
                    if f.get("subject") == NEW_IP], data["findings"]


def diagnoses(app: TrunkConsoleApp) -> DiagnosesScreen:
    screen = app.screen
    assert isinstance(screen, DiagnosesScreen), screen
    return screen


def shown_findings(app: TrunkConsoleApp) -> list[Finding]:
    screen = app.screen
    return screen.findings if isinstance(screen, DiagnosesScreen) else []


def rtp_finding(app: TrunkConsoleApp) -> Finding:
    found = [f for f in shown_findings(app) if f.code == "rtp-not-arriving"]
    return found[0]


def codes(app: TrunkConsoleApp, address: str | None = None) -> list[str]:
    """Codes on the Diagnoses screen; with address, only findings about that sender (the
    lab's logs also hold senders of earlier tests, e.g. 203.0.113.13, within --since)."""
    return [f.code for f in shown_findings(app)
            if address is None or address in (f.subject, str(f.details.get("address", "")))]


async def test_rtp_blocked_names_the_rule_without_a_key_press(
        scenario_lab: Lab, in_pbx_netns: Lab) -> None:
    lab = scenario_lab
    app = console(lab)
    async with app.run_test(size=(160, 45)) as pilot:
        await eventually(lambda: synced(app), 15, "a resync")
        await pilot.press("f6")  # the firewall is read now, before the rule exists
        await eventually(lambda: diagnoses(app).evidence.network_read_at > 0,
                         10, "the first firewall read")
        first_read = diagnoses(app).evidence.network_read_at
        await asyncio.to_thread(scenarios.apply, lab, "rtp-blocked", log=lambda _m: None)
        await eventually(lambda: "rtp-not-arriving" in codes(app), 20, "no audio diagnosed")
        await eventually(lambda: rtp_finding(app).details["rule"] == RULE, 10,
                         "the rule in the evidence")
        finding = rtp_finding(app)
        # Other findings may come first (the logs remember earlier tests' unknown senders):
        # highlight this one as a cursor would, and its detail names the rule.
        app.screen.query_one("#diag-table", DataTable).move_cursor(
            row=diagnoses(app).findings.index(finding))
        await pilot.pause()
        assert RULE in visible_text(app)
        assert diagnoses(app).evidence.network_read_at > first_read
        assert diagnoses(app).evidence.network_read_at >= finding.raised_at
        assert finding.raised_at > first_read  # raised after the first read: read again
        await asyncio.to_thread(scenarios.apply, lab, "reset", log=lambda _m: None)
        await eventually(lambda: "rtp-not-arriving" not in codes(app), 10,
                         "the finding cleared after reset")
        await pilot.pause(0.3)
        assert RULE not in visible_text(app)
