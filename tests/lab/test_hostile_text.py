"""Terminal control sequences in a caller ID, through the real path (issue 11).

sipp's uac_hostile.xml sends a From display name with ESC/BEL as RFC 3261 quoted-pairs and
a From user with %1B, %C2%9B (C1 CSI) and %E2%80%AE (RLO). Asterisk 22 passes them raw
into AMI (CallerIDName, CallerIDNum, InvalidAccountID's AccountID). Nothing of it may reach
a terminal raw: not `status`, not `logger show`, not the console in a real pty.
"""

from __future__ import annotations

import asyncio
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

from tests.lab.helpers import ROOT, AmiLogins, ami_logins, run_cli
from trunkconsole.ami.oneshot import ami_session
from trunkconsole.changes.sip_logger import SipLogger
from trunkconsole.cli.logger import message_json, message_text
from trunkconsole.lab.carrier import (
    HOSTILE_CALLER_NAME,
    HOSTILE_FROM_USER,
    CallSpec,
    quoted_pairs,
)
from trunkconsole.lab.lab import Lab
from trunkconsole.settings import AmiTarget, Secret
from trunkconsole.visible import echo, visible

UNKNOWN_SOURCE = "203.0.113.13"
# What the attacker wants a terminal to obey; Textual's own output never holds these.
RAW = (b"\x1b]0;tc-pwned", b"\x1b]52;c;", b"1555\x1b[2J", "\x9b".encode(), "\u202e".encode())
# pjsip keeps the quoted-pair backslashes; Asterisk C-escapes the name (ast_escape_c:
# "\" -> "\\", BEL -> "\a") and keeps the ESC raw.
AMI_NAME = quoted_pairs(HOSTILE_CALLER_NAME).replace("\\", "\\\\").replace("\x07", "\\a")


def raw_hits(output: bytes) -> list[bytes]:
    return [marker for marker in RAW if marker in output]


def refused_call_after_login(lab: Lab, logins: AmiLogins) -> threading.Thread:
    """The hostile caller ID from an unknown address (Asterisk answers 401), once the CLI
    or console under test has logged in to AMI: unknown senders are learned from security
    events, so only while someone listens."""
    def call() -> None:
        logins.wait()
        report = lab.call(CallSpec(did="15551230001", source=UNKNOWN_SOURCE, duration=1,
                                   hostile=True))
        assert report.rejected == {"401": 1}

    thread = threading.Thread(target=call)
    thread.start()
    return thread


@pytest.fixture
def hostile_call(lab: Lab) -> Iterator[Lab]:
    """A held call with the hostile caller ID from the carrier."""
    lab.call_in_background(CallSpec(did="15551230001", duration=40, hostile=True))
    try:
        with lab.ami() as ami:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                channels = ami.action({"Action": "CoreShowChannels"})
                if any(m.get("calleridnum") == [HOSTILE_FROM_USER] for m in channels):
                    break
                time.sleep(0.2)
            else:
                pytest.fail("the hostile call did not come up")
            # The ground truth: Asterisk really passes the controls into AMI.
            for channel in channels:
                if channel.get("calleridnum") == [HOSTILE_FROM_USER]:
                    assert channel["calleridname"] == [AMI_NAME]
        yield lab
    finally:
        lab.stop_background_calls()


def test_status_shows_controls_visibly_and_json_keeps_the_value(hostile_call: Lab) -> None:
    lab = hostile_call
    with ami_logins(lab) as logins:
        caller = refused_call_after_login(lab, logins)
        text = run_cli(lab, "status", "--config-dir", str(lab.config_dir), "--listen", "6")
        caller.join()
    assert text.returncode in (0, 1, 2), text.stderr
    out = (text.stdout + text.stderr).encode()
    assert raw_hits(out) == []
    assert visible(HOSTILE_FROM_USER) in text.stdout  # the call, with its From user
    assert UNKNOWN_SOURCE in text.stdout  # and the refused sender

    with ami_logins(lab) as logins:
        caller = refused_call_after_login(lab, logins)
        data = run_cli(lab, "status", "--json", "--config-dir", str(lab.config_dir),
                       "--listen", "6")
        caller.join()
    assert raw_hits(data.stdout.encode()) == []
    assert data.stdout.isascii() or all(ord(c) > 0x9f for c in data.stdout if ord(c) > 0x7f)
    parsed = json.loads(data.stdout)
    names = {c["caller_name"] for c in parsed["channels"]}
    assert AMI_NAME in names  # JSON keeps the exact value, escaped as JSON
    senders = {s["address"]: s for s in parsed["unknown_senders"]}
    assert HOSTILE_FROM_USER in senders[UNKNOWN_SOURCE]["accounts"]


async def test_logger_show_prints_the_sip_message_visibly(
        in_pbx_netns: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The carrier's INVITE as pjsip's history holds it, printed the way `logger show`
    prints it. (A private state file: the CLI's /run/trunkconsole/sip-logger-127.0.0.1_5038
    .json is the same path for every lab on this machine.)"""
    lab = in_pbx_netns
    target = AmiTarget(secret=Secret(lab.secret()), secret_source="lab")
    async with ami_session(target) as ami:
        logger = SipLogger(ami, tmp_path / "logger.json")
        await logger.on(["203.0.113.10/32"], ["INVITE"], seconds=60)
        try:
            report = await asyncio.to_thread(
                lab.call, CallSpec(did="15551230001", duration=0.5, hostile=True))
            assert report.answered == 1
            messages = []
            for _ in range(25):
                messages += await logger.poll()
                if any(m.received and m.method == "INVITE" for m in messages):
                    break
                await asyncio.sleep(0.2)
        finally:
            await logger.off()
    invite = next(m for m in messages if m.received and m.method == "INVITE")
    # Measured on 22.10: `pjsip show history entry` (CLI output over AMI) strips from the
    # first ESC to the next "m" (colour-code stripping), so the ESC itself does not come
    # through here; whatever does must still print visibly.
    assert invite.first_line.startswith("INVITE sip:15551230001@")
    for message in messages:
        echo(message_text(message))
        echo(message_json(message))
    out = capsys.readouterr().out
    assert raw_hits(out.encode()) == []
    assert "\x1b" not in out
    assert "\r" not in out
    assert "INVITE sip:15551230001@" in out
    assert any(json.loads(line)["text"] == invite.text
               for line in out.splitlines() if line.startswith("{"))


def _console_output(lab: Lab, until: tuple[bytes, ...], seconds: float = 60) -> bytes:
    """Run the console in a real pty (160x40) in the PBX namespace; what it wrote until
    every one of `until` was written and one more second passed (or `seconds` passed)."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    proc = subprocess.Popen(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir)],
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True)
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(marker in output for marker in until):
                deadline = min(deadline, time.monotonic() + 1.0)
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return output


def test_console_in_a_pty_writes_no_raw_control_sequence(hostile_call: Lab) -> None:
    with ami_logins(hostile_call) as logins:
        caller = refused_call_after_login(hostile_call, logins)
        output = _console_output(hostile_call, until=(
            b"Unknown sender", UNKNOWN_SOURCE.encode(), b"1555\\x1b[2J"))
        caller.join()
    assert b"Unknown sender" in output  # the dashboard was drawn
    assert UNKNOWN_SOURCE.encode() in output
    assert raw_hits(output) == []
    # The values did reach the screen, as visible escapes.
    assert b"1555\\x1b[2J" in output
