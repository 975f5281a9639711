"""`lab scenario private-sdp`: the carrier's SDP advertises 192.168.1.20 while its SIP comes
from 203.0.113.10; the workflow and the ladder name it with what rtp_symmetric does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.lab import Lab

from .helpers import ROOT, run_cli


@pytest.fixture
def nat_lab(lab_config: Lab) -> Iterator[Lab]:
    scenarios.apply(lab_config, "private-sdp", log=lambda _m: None)
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def test_private_sdp_named_in_workflow_and_ladder(nat_lab: Lab) -> None:
    lab = nat_lab
    out = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
         "troubleshoot", "carrier", "--wait", "20"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert ("NAT: the provider's SDP says to send RTP to 192.168.1.20:") in out.stdout, \
        out.stdout + out.stderr
    assert "its SIP comes from 203.0.113.10" in out.stdout
    assert "rtp_symmetric=yes" in out.stdout

    on = run_cli(lab, "logger", "on", "--trunk", "carrier", "--for", "60")
    assert on.returncode == 0, on.stderr
    try:
        calls: list[dict[str, object]] = []
        deadline = time.monotonic() + 20
        while not calls and time.monotonic() < deadline:
            time.sleep(1)
            shown = run_cli(lab, "logger", "show", "--ladder", "--json")
            calls = [c for c in json.loads(shown.stdout or "[]") if c["nat"]]
        assert calls, "no call with a NAT finding in the ladder"
        nat = calls[0]["nat"]
        assert isinstance(nat, list)
        assert [n["code"] for n in nat] == ["provider-private-sdp"]
    finally:
        run_cli(lab, "logger", "off")
