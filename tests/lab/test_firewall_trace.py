"""`firewall trace`: real packets from the carrier traced by the kernel to the rule that
dropped or accepted them, beside the static verdict; the trace table never outlives the
command, SIGKILL included."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from fcntl import ioctl
from pathlib import Path

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

from .helpers import ROOT, run_cli

NEW = scenarios.NEW_CARRIER_ADDRESS
ACCEPT_TABLE = "tc_lab_trace_test"


def tables(lab: Lab) -> list[str]:
    out = subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "list", "tables"],
                         capture_output=True, text=True, check=True).stdout
    return out.split("\n")


def trace_tables(lab: Lab) -> list[str]:
    return [t for t in tables(lab) if "trunkconsole_trace_" in t]


@pytest.fixture
def banned_lab(lab_config: Lab) -> Iterator[Lab]:
    scenarios.apply(lab_config, "provider-banned", log=lambda _m: None)
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def test_a_banned_carrier_packet_is_traced_to_the_fail2ban_rule(banned_lab: Lab,
                                                               tmp_path: Path) -> None:
    lab = banned_lab  # the carrier at .12 calls every 5 s; fail2ban drops it
    out = run_cli(lab, "firewall", "trace", "--src", NEW, "--proto", "udp", "--dport", "5060",
                  "--for", "30", "--json", state=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    result = json.loads(out.stdout)
    packet = result["packets"][0]
    assert packet["packet"].startswith(f"udp {NEW}:")
    assert packet["packet"].endswith("-> 203.0.113.1:5060 on eth0")
    assert packet["kernel"].startswith("dropped by inet f2b-table f2b-chain #")
    assert "@addr-set-asterisk-udp reject" in packet["kernel"]
    assert packet["static"].startswith("dropped by inet f2b-table f2b-chain #")
    assert packet["agrees"] is True
    assert trace_tables(lab) == []
    audit = (tmp_path / "audit.log").read_text()
    assert "meta nftrace set 1" in audit
    assert '"result": "removed"' in audit


def test_an_accepted_carrier_packet_and_the_text_output(lab_config: Lab,
                                                        tmp_path: Path) -> None:
    lab = lab_config
    rules = (f"table inet {ACCEPT_TABLE} {{ chain input {{ type filter hook input priority "
             "0; policy drop; ct state established,related accept; iifname \"lo\" accept; "
             "ip saddr 203.0.113.10 udp dport 5060 accept; }\n}\n")
    subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "-f", "-"], input=rules,
                   text=True, check=True)
    try:
        caller = lab.call_in_background(CallSpec(did="15551230001", count=6, rate=1))
        out = run_cli(lab, "firewall", "trace", "--src", "203.0.113.10", "--for", "30",
                      state=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        lines = out.stdout.splitlines()
        kernel = next(line for line in lines if line.strip().startswith("kernel:"))
        static = next(line for line in lines if line.strip().startswith("static:"))
        assert f"accepted by inet {ACCEPT_TABLE} input #" in kernel
        # A new flow meets the address rule; a packet of a flow Asterisk's qualify or an
        # earlier call opened meets the conntrack rule: the static verdict agrees with both.
        assert "ip saddr 203.0.113.10 udp dport 5060 accept" in kernel or \
            "ct state established,related accept" in kernel
        assert "(agrees" in static
        assert lines[-1].startswith("trace table trunkconsole_trace_")
        assert lines[-1].endswith(" removed")
        os.kill(caller, signal.SIGTERM)
    finally:
        subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "delete", "table", "inet",
                        ACCEPT_TABLE], check=False)
    assert trace_tables(lab) == []


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def test_the_table_goes_when_the_command_is_killed(lab: Lab, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", "firewall",
         "trace", "--src", "203.0.113.19", "--for", "120", "--state-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not trace_tables(lab) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert trace_tables(lab), "the trace table never appeared"
    deadline = time.monotonic() + 10
    monitors: list[int] = []
    while not monitors and time.monotonic() < deadline:
        monitors = [c for c in _children(proc.pid)
                    if b"monitor" in Path(f"/proc/{c}/cmdline").read_bytes()]
        time.sleep(0.1)
    assert monitors, "no nft monitor child"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while trace_tables(lab) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert trace_tables(lab) == []
    time.sleep(0.5)
    for pid in monitors:  # the nft monitor child died with it (PR_SET_PDEATHSIG)
        assert not Path(f"/proc/{pid}").exists() or "Z" in \
            Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    audit = tmp_path / "audit.log"
    deadline = time.monotonic() + 10  # the guard writes once it looked again (1 s later)
    while "removed by the guard" not in audit.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "removed by the guard" in audit.read_text()


STALLING_NFT = """#!/bin/sh
# The real nft, held back before `nft -f` (the trace table's creation) as a loaded machine's
# scheduler can hold it: it stops itself until the test lets it go on (SIGCONT). Only the
# timing is staged; the table is written by the real nft.
case " $* " in *" -f "*) kill -STOP $$ ;; esac
exec {nft} "$@"
"""


def _process(pid: int) -> tuple[str, str] | None:
    """(state, cmdline) of a live process, None when gone or a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, IndexError):
        return None
    return None if state in ("Z", "X") else (state, cmdline)


def test_the_table_never_appears_when_killed_while_nft_adds_it(lab: Lab,
                                                                tmp_path: Path) -> None:
    """The console dies while its `nft -f` is still adding the trace table: that nft dies
    with it (PR_SET_PDEATHSIG), and the guard looks again a second after removing."""
    wrapper = tmp_path / "bin"
    wrapper.mkdir()
    nft = subprocess.run(["sh", "-c", "command -v nft"], capture_output=True, text=True,
                         check=True).stdout.strip()
    (wrapper / "nft").write_text(STALLING_NFT.format(nft=nft))
    (wrapper / "nft").chmod(0o755)
    env = {**os.environ, "PATH": f"{wrapper}:{os.environ['PATH']}"}
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole", "firewall",
         "trace", "--src", "203.0.113.19", "--for", "120", "--state-dir", str(tmp_path)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stalled: list[int] = []
    deadline = time.monotonic() + 60
    while not stalled and time.monotonic() < deadline:
        stalled = [c for c in _children(proc.pid) if (found := _process(c)) is not None
                   and found[0] == "T" and " -f " in found[1] + " "]
        time.sleep(0.05)
    assert stalled, "the tracer never started nft -f"
    guards = [c for c in _children(proc.pid) if "trace-guard" in (_process(c) or ("", ""))[1]]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(_process(g) for g in guards) and time.monotonic() < deadline:
        time.sleep(0.1)  # the guard saw the tracer die, removed nothing, looked again
    for pid in stalled:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)  # a surviving nft would add the table now
    time.sleep(2)
    assert trace_tables(lab) == []
    assert [p for p in stalled if _process(p)] == []


def test_the_console_killed_mid_trace_leaves_no_table_and_no_nft(lab: Lab) -> None:
    """The console itself (Network screen, T on the carrier's row) in a real pty, SIGKILLed
    while its trace runs: the guard removes the table, the nft monitor dies with it."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir)],
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
        env={**os.environ, "TERM": "xterm-256color"})
    os.close(slave)
    screen = bytearray()
    done = threading.Event()

    def drain() -> None:  # a console that cannot write blocks
        while not done.is_set():
            if select.select([master], [], [], 0.1)[0]:
                try:
                    screen.extend(os.read(master, 65536))
                except OSError:
                    return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    monitors: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while b"Trunks" not in screen and time.monotonic() < deadline:
            time.sleep(0.2)
        os.write(master, b"\x1bOS")  # F4: the Network screen
        while b"Firewall read" not in screen and time.monotonic() < deadline:
            time.sleep(0.2)
        assert b"Firewall read" in screen, "the Network screen never showed its report"
        os.write(master, b"T")
        while not (trace_tables(lab) and monitors) and time.monotonic() < deadline:
            monitors = [c for c in _children(proc.pid) if (found := _process(c))
                        and "monitor trace" in found[1]]
            time.sleep(0.1)
        assert trace_tables(lab), "the trace table never appeared"
        assert monitors, "no nft monitor trace child"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        done.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)
        os.close(master)
    deadline = time.monotonic() + 15
    while trace_tables(lab) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert trace_tables(lab) == []
    time.sleep(0.5)
    assert [m for m in monitors if _process(m)] == []
