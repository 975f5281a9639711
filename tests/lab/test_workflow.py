"""`trunkconsole troubleshoot`: the walk-a-call workflow against the lab's scenarios."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import ROOT


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def troubleshoot(lab: Lab, wait: float, call: CallSpec) -> subprocess.CompletedProcess[str]:
    """Run the workflow and place one call once it listens (its "waiting" line printed).

    Waiting for the line, not a fixed time: on a loaded machine the logger can take longer
    to come on than a guess, and a call placed before it is never seen.
    """
    command = ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
               "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
               "troubleshoot", "carrier", "--wait", str(wait)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    lines: list[str] = []
    thread: threading.Thread | None = None
    try:
        for line in process.stdout:
            lines.append(line)
            if thread is None and line.startswith("... waiting up to"):
                thread = threading.Thread(target=lab.call, args=(call,))
                thread.start()
        stderr = process.stderr.read() if process.stderr is not None else ""
        returncode = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if thread is not None:
            thread.join()
    return subprocess.CompletedProcess(command, returncode, "".join(lines), stderr)


def test_unknown_source_is_named_with_its_trunk(scenario_lab: Lab) -> None:
    lab = scenario_lab
    lab.set_carrier("answer", scenarios.NEW_CARRIER_ADDRESS)
    out = troubleshoot(lab, 20, CallSpec(did="15551230001",
                                         source=scenarios.NEW_CARRIER_ADDRESS))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "INVITE from 203.0.113.12" in out.stdout
    assert "Asterisk answered 401 Unauthorized" in out.stdout
    assert "no identify matches 203.0.113.12" in out.stdout
    assert "fix: trunkconsole identify add carrier 203.0.113.12" in out.stdout


def test_blocked_rtp_is_named_with_its_rule(scenario_lab: Lab) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "rtp-blocked", log=lambda _m: None)
    lab.stop_background_calls()  # only the workflow's own call
    out = troubleshoot(lab, 20, CallSpec(did="15551230002", duration=8, media=True))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "203.0.113.10 is trunk carrier" in out.stdout
    assert "0 RTP packets received" in out.stdout
    assert f"dropped by inet {scenarios.NFT_TABLE} input #2" in out.stdout


def test_healthy_call_walks_clean(scenario_lab: Lab) -> None:
    out = troubleshoot(scenario_lab, 20, CallSpec(did="15551230002", duration=8, media=True))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "audio from the provider is arriving" in out.stdout
    assert "tcpdump -ni any -w /tmp/carrier.pcap host 203.0.113.10" in out.stdout


def test_unrouted_did_is_named(scenario_lab: Lab) -> None:
    """Asterisk answers 404 without a channel or an AMI event: only the trace shows it."""
    out = troubleshoot(scenario_lab, 20, CallSpec(did="15559999999"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Asterisk answered 404 Not Found" in out.stdout
    assert "is not in the dialplan context of carrier" in out.stdout
