"""One flag, one meaning, against the real PBX: --config-dir after the subcommand is where
the config is edited AND where the AMI credentials come from; --port anywhere is the port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trunkconsole.lab.lab import Lab

from .helpers import ROOT

NEW_IP = "203.0.113.14"


def _run(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCONSOLE_AMI_SECRET"}
    return subprocess.run(["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m",
                           "trunkconsole", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


def test_identify_add_takes_credentials_from_its_config_dir(lab_config: Lab,
                                                           tmp_path: Path) -> None:
    lab = lab_config
    out = _run(lab, "identify", "add", "carrier", NEW_IP, "--yes", "--config-dir",
               str(lab.config_dir), "--state-dir", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "applied and verified" in out.stdout
    assert NEW_IP.encode() in (lab.config_dir / "pjsip.conf").read_bytes()


def test_status_port_before_and_after(lab: Lab) -> None:
    for argv in (["--port", "5038", "status", "--config-dir", str(lab.config_dir)],
                 ["--config-dir", str(lab.config_dir), "status", "--port", "5038"]):
        out = _run(lab, *argv, "--timeout", "10")
        assert out.returncode in (0, 1, 2), out.stderr
        assert "TRUNK" in out.stdout
    wrong = _run(lab, "--port", "5039", "status", "--config-dir", str(lab.config_dir),
                 "--timeout", "3")
    assert wrong.returncode == 3
    assert "127.0.0.1:5039" in wrong.stderr
