"""The past without a daemon: a plain `check` reads Asterisk's own logs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.lab import Lab

from .helpers import ROOT, run_cli


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def _finding(result: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [f for f in result["findings"] if f["code"] == code]
    assert found, f"no {code} in {[f['code'] for f in result['findings']]}"
    return found[0]


def test_plain_check_names_the_moved_provider_from_the_logs(scenario_lab: Lab,
                                                           tmp_path: Path) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "provider-ip-changed", log=lambda _m: None)
    out = run_cli(lab, "check", "--json")  # no --listen: as a monitoring system runs it
    assert out.returncode >= 1, out.stderr
    result = json.loads(out.stdout)
    diagnosis = _finding(result, "provider-ip-changed")
    assert diagnosis["details"]["trunk"] == "carrier"
    assert diagnosis["details"]["address"] == scenarios.NEW_CARRIER_ADDRESS
    files = [e["file"] for e in diagnosis["evidence"] if e["file"]]
    assert any(f.endswith("security.log") for f in files), diagnosis["evidence"]
    # AMI refusing us changes nothing about what the logs say.
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-secret\n")
    refused = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(wrong), "--config-dir", str(lab.config_dir), "check", "--json"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert refused.returncode == 2, refused.stderr
    logs_only = json.loads(refused.stdout)
    assert _finding(logs_only, "provider-ip-changed")["details"]["address"] == \
        scenarios.NEW_CARRIER_ADDRESS
    assert _finding(logs_only, "check-unavailable")
    # `logs show` lists the same lines over its own window.
    window = run_cli(lab, "logs", "show", "--json", "--since", "10m")
    assert window.returncode == 0, window.stderr
    events = json.loads(window.stdout)["events"]
    assert any(scenarios.NEW_CARRIER_ADDRESS in e["text"] for e in events)


def test_logging_off_is_said_and_enabled_as_a_reviewed_change(lab_config: Lab,
                                                            lab_ami: AmiProbe,
                                                            tmp_path: Path) -> None:
    lab = lab_config
    conf = lab.config_dir / "logger.conf"
    conf.write_text("[general]\ndateformat = %F %T.%3q\n\n[logfiles]\n"
                    "messages.log => notice,warning,error,verbose(3)\n")
    lab_ami.action({"Action": "Reload", "Module": "logger"})
    assert not any("security.log" in line for line in lab_ami.command("logger show channels"))
    out = run_cli(lab, "check", "--json", "--no-network")
    result = json.loads(out.stdout)
    off = _finding(result, "asterisk-security-log-off")
    assert "security.log => security" in off["fix"]
    dry = run_cli(lab, "logs", "enable", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "+security.log => security" in dry.stdout
    assert "security" not in conf.read_text()
    applied = run_cli(lab, "logs", "enable", "--yes", state=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "security.log => security" in conf.read_text()
    channels = lab_ami.command("logger show channels")
    assert any("security.log" in line and "SECURITY" in line for line in channels), channels
    again = json.loads(run_cli(lab, "check", "--json", "--no-network").stdout)
    assert "asterisk-security-log-off" not in {f["code"] for f in again["findings"]}
