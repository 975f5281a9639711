"""The ladder and its pcap from the real lab: `logger on`, real calls, `logger show --ladder`."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import run_cli


@pytest.fixture
def logger_on(lab: Lab) -> Iterator[Lab]:
    out = run_cli(lab, "logger", "on", "--trunk", "carrier", "--for", "120")
    assert out.returncode == 0, out.stderr
    try:
        yield lab
    finally:
        run_cli(lab, "logger", "off")


def ladder(lab: Lab, *args: str) -> list[dict[str, Any]]:
    out = run_cli(lab, "logger", "show", "--ladder", "--json", *args)
    assert out.returncode in (0, 1), out.stderr
    return list(json.loads(out.stdout or "[]"))


def test_ladder_of_real_calls_with_sdp_and_pcap(logger_on: Lab, tmp_path: Path) -> None:
    lab = logger_on
    assert lab.call(CallSpec(did="15551230002", duration=1, media=True)).answered == 1
    assert lab.call(CallSpec(did="15559990000", duration=0.5)).rejected == {"404": 1}
    calls: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # Whole calls only: the BYE of a call from an earlier test may come in too.
        calls = [c for c in ladder(lab) if c["called"] in ("15551230002", "15559990000")
                 and c["messages"][0]["label"] == "INVITE (SDP)"]
        if len(calls) == 2 and len(calls[0]["messages"]) >= 6:
            break
        time.sleep(0.5)
    answered, rejected = calls
    assert answered["direction"] == "inbound"
    assert answered["outcome"] == "200 OK"
    assert str(answered["provider"]).startswith("203.0.113.10:")
    assert answered["pbx"] == "203.0.113.1:5060"
    labels = [m["label"] for m in answered["messages"]]
    assert labels[:3] == ["INVITE (SDP)", "100 Trying", "200 OK (SDP)"]
    assert "BYE" in labels
    sdp = [m["sdp"] for m in answered["messages"] if m["sdp"]]
    assert sdp[0].startswith("203.0.113.10:")
    assert "PCMA" in sdp[0]
    assert sdp[1].startswith("203.0.113.1:1")
    assert sdp[1].endswith("PCMA sendrecv")
    assert rejected["outcome"] == "404 Not Found"
    assert {"header": "Request-URI", "number": "15559990000"} in rejected["did_headers"]

    # Search by number, one call by Call-ID, and the text ladder.
    assert [c["called"] for c in ladder(lab, "--search", "1555999")] == ["15559990000"]
    text = run_cli(lab, "logger", "show", "--ladder", "--call", str(answered["call_id"]))
    assert text.returncode == 0, text.stderr
    assert "|-------- INVITE (SDP) --------->|" in text.stdout
    assert "|<-------- 200 OK (SDP) ---------|" in text.stdout
    missing = run_cli(lab, "logger", "show", "--ladder", "--call", "no-such-call")
    assert missing.returncode != 0
    assert "no such call" in missing.stderr

    pcap = tmp_path / "calls.pcap"
    out = run_cli(lab, "logger", "show", "--ladder", "--call", str(answered["call_id"]),
                  "--pcap", str(pcap))
    assert out.returncode == 0, out.stderr
    if shutil.which("tshark") is None:
        pytest.fail("tshark (setup.sh installs it) is needed to check the pcap")
    rows = subprocess.run(
        ["tshark", "-r", str(pcap), "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
         "-e", "udp.dstport", "-e", "sip.Call-ID", "-e", "sdp.media.port"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(rows) == len(answered["messages"])
    first = rows[0].split("\t")
    assert first[:3] == ["203.0.113.10", "203.0.113.1", "5060"]
    assert first[3] == answered["call_id"]
    assert first[4].isdigit()  # the SDP's media port, dissected


def test_outbound_retransmission_is_marked(logger_on: Lab) -> None:
    """The carrier is restarted right before the call: the first INVITE finds no one
    listening yet and pjsip retransmits it after T1 (500 ms)."""
    lab = logger_on
    lab.set_carrier("stop")
    lab.originate("15550001234", hold=1)
    time.sleep(0.7)
    lab.set_carrier("answer")
    calls: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        calls = [c for c in ladder(lab) if c["called"] == "15550001234"]
        if calls and calls[0]["outcome"] == "200 OK":
            break
        time.sleep(0.5)
    assert calls
    assert calls[0]["direction"] == "outbound"
    invites = [m for m in calls[0]["messages"]
               if m["label"] == "INVITE (SDP)"]
    assert len(invites) >= 2
    assert [m["retransmission"] for m in invites] == [False] + [True] * (len(invites) - 1)
