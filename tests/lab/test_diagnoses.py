"""Each lab scenario: `check` names the cause, and the suggested fix makes calls work again."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.ami_probe import AmiProbe, first
from trunkconsole.lab.carrier import ASSIGNED_CALLER_ID, CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import qualify_now, run_cli, rx_counts


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def check(lab: Lab, listen: float = 0) -> dict[str, Any]:
    out = run_cli(lab, "check", "--json", "--listen", str(listen))
    assert out.returncode in (0, 1, 2), out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def finding(result: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in result["findings"] if f["code"] == code]
    assert found, f"no {code} in {[f['code'] for f in result['findings']]}"
    return found[0]


def test_provider_ip_changed(scenario_lab: Lab, tmp_path: Path) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "provider-ip-changed", log=lambda _m: None)
    result = check(lab, listen=7)
    assert result["status"] == 2
    diagnosis = finding(result, "provider-ip-changed")
    assert diagnosis["details"]["trunk"] == "carrier"
    assert diagnosis["details"]["address"] == scenarios.NEW_CARRIER_ADDRESS
    assert "identify add carrier 203.0.113.12" in diagnosis["fix"]
    # The fix, as the operator would run it, then the next call.
    fixed = run_cli(lab, "identify", "add", "carrier", scenarios.NEW_CARRIER_ADDRESS,
                         "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    report = lab.call(CallSpec(did="15551230001", source=scenarios.NEW_CARRIER_ADDRESS))
    assert report.answered == 1, report.summary()


def test_rtp_blocked(scenario_lab: Lab, lab_ami: AmiProbe) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "rtp-blocked", log=lambda _m: None)
    time.sleep(4)
    result = check(lab)
    diagnosis = finding(result, "rtp-not-arriving")
    assert diagnosis["details"]["rule"] == f"inet {scenarios.NFT_TABLE} input #2"
    blocked = finding(result, "network-rtp-blocked")
    fix = blocked["fix"].split("#", 1)[0].strip()
    assert fix.startswith("nft insert rule inet trunkconsole_lab_scenario input")
    # The suggested rule, applied as printed, then a new call with media.
    subprocess.run(["ip", "netns", "exec", lab.pbx_ns, *fix.split()], check=True)
    lab_ami.command("channel request hangup all")
    lab.call_in_background(CallSpec(did="15551230002", duration=6, media=True))
    time.sleep(3)
    assert rx_counts(lab_ami)[-1] > 50


def test_callerid_rejected(scenario_lab: Lab, lab_ami: AmiProbe, tmp_path: Path) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "callerid-rejected", log=lambda _m: None)
    result = check(lab, listen=7)
    diagnosis = finding(result, "callerid-rejected")
    assert diagnosis["details"]["trunk"] == "carrier"
    assert diagnosis["details"]["caller_id"] == "15551239999"
    assert "config set endpoint carrier from_user" in diagnosis["fix"]
    lab.stop_background_calls()
    fixed = run_cli(lab, "config", "set", "endpoint", "carrier", "from_user",
                         ASSIGNED_CALLER_ID, "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "applied and verified" in fixed.stdout
    lab.originate("15550001111")
    answered = lab_ami.wait_event(lambda e: first(e, "event") == "Newstate"
                                  and first(e, "channel").startswith("PJSIP/carrier-")
                                  and first(e, "channelstatedesc") == "Up", timeout=10)
    assert first(answered, "channelstatedesc") == "Up"


def test_trunk_down(scenario_lab: Lab, lab_ami: AmiProbe) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "trunk-down", log=lambda _m: None)
    qualify_now(lab)
    lab_ami.wait_event(lambda e: first(e, "event") == "ContactStatus"
                       and first(e, "contactstatus") == "Unreachable", timeout=25)
    diagnosis = finding(check(lab), "trunk-unreachable")
    assert diagnosis["details"]["trunk"] == "carrier"
    lab.set_carrier("answer")  # the carrier is back
    qualify_now(lab)
    lab_ami.wait_event(lambda e: first(e, "event") == "ContactStatus"
                       and first(e, "contactstatus") == "Reachable", timeout=25)
    assert lab.call(CallSpec(did="15551230001")).answered == 1
