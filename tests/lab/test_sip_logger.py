"""The SIP logger against the lab: on for the carrier, its messages shown, off by itself."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trunkconsole.ami.oneshot import ami_session
from trunkconsole.ami.provider_addresses import trunk_hosts
from trunkconsole.changes.logger_guard import start_guard
from trunkconsole.changes.sip_logger import SipLogger
from trunkconsole.errors import OperatorError
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.settings import AmiTarget, Secret


def target(lab: Lab) -> AmiTarget:
    return AmiTarget(secret=Secret(lab.secret()), secret_source="lab")


async def place_call(lab: Lab, did: str = "15551230002") -> None:
    report = await asyncio.to_thread(lab.call, CallSpec(did=did, duration=0.3))
    assert report.answered == 1, report.summary()


def history_lines(lab_ami: AmiProbe) -> list[str]:
    return [line for line in lab_ami.command("pjsip show history") if line[:1].isdigit()]


async def test_logger_shows_carrier_messages_then_switches_off(
        in_pbx_netns: Lab, lab_ami: AmiProbe, tmp_path: Path) -> None:
    lab = in_pbx_netns
    async with ami_session(target(lab)) as ami:
        hosts = await trunk_hosts(ami, "carrier")
        assert hosts == ["203.0.113.10/32"]
        logger = SipLogger(ami, tmp_path / "logger.json")
        state = await logger.on(hosts, [], seconds=4)
        guard = start_guard(target(lab), logger.state_file, state.session, None)
        await place_call(lab)
        messages = []
        for _ in range(20):
            messages += await logger.poll()
            if any(m.first_line.startswith("BYE") for m in messages):
                break
            await asyncio.sleep(0.2)
    invite = next(m for m in messages if m.is_request and m.method == "INVITE" and m.received)
    assert invite.first_line.startswith("INVITE sip:15551230002@203.0.113.1")
    assert invite.host == "203.0.113.10"
    assert "Call-ID:" in invite.text
    assert any(m.first_line == "SIP/2.0 200 OK" and not m.received for m in messages)
    # The guard switches everything off when the time box ends...
    deadline = time.monotonic() + 15
    while logger.state_file.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert not logger.state_file.exists()
    await asyncio.to_thread(_wait_gone, guard)
    # ...and a call after it leaves no trace.
    await place_call(lab)
    assert history_lines(lab_ami) == []


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except OSError:
            return
        time.sleep(0.1)
    raise AssertionError(f"guard {pid} still running")


async def test_console_crash_switches_logger_off(
        in_pbx_netns: Lab, lab_ami: AmiProbe, tmp_path: Path) -> None:
    """A real crash: the process the guard follows is SIGKILLed."""
    lab = in_pbx_netns
    console = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    async with ami_session(target(lab)) as ami:
        logger = SipLogger(ami, tmp_path / "logger.json")
        state = await logger.on(["203.0.113.10"], ["INVITE"], seconds=300)
        start_guard(target(lab), logger.state_file, state.session, console.pid)
        await place_call(lab)
        assert history_lines(lab_ami), "history should record while the logger is on"
        console.kill()
        console.wait()
        deadline = time.monotonic() + 15
        while logger.state_file.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    assert not logger.state_file.exists()
    await place_call(lab)
    assert history_lines(lab_ami) == []


@pytest.mark.parametrize(("hosts", "methods", "seconds", "message"), [
    (["203.0.113.10\r\nAction: Command"], [], 10, "not an IP"),
    (["provider.example"], [], 10, "not an IP"),
    (["203.0.113.10"], ["EVIL\nX"], 10, "unknown SIP method"),
    (["203.0.113.10"], [], 0, "time box"),
    ([], [], 10, "which provider"),
])
async def test_bad_input_changes_nothing(in_pbx_netns: Lab, lab_ami: AmiProbe, tmp_path: Path,
                                         hosts: list[str], methods: list[str], seconds: float,
                                         message: str) -> None:
    async with ami_session(target(in_pbx_netns)) as ami:
        logger = SipLogger(ami, tmp_path / "logger.json")
        with pytest.raises(OperatorError, match=message):
            await logger.on(hosts, methods, seconds)
        assert not logger.state_file.exists()
    assert lab_ami.command("pjsip show history") == lab_ami.command("pjsip show history")
    with pytest.raises(OperatorError, match="not known"):
        async with ami_session(target(in_pbx_netns)) as ami:
            await trunk_hosts(ami, "no-such-trunk")


async def test_logger_survives_reloads_we_trigger(in_pbx_netns: Lab, lab_config: Lab,
                                                  tmp_path: Path) -> None:
    from trunkconsole.changes.apply import Applier
    from trunkconsole.changes.identify import plan_identify_add
    from trunkconsole.changes.sip_logger import reasserter, state_file_for
    from trunkconsole.pjsip.addresses import parse_provider_address

    lab = in_pbx_netns
    tgt = target(lab)
    async with ami_session(tgt) as ami:
        logger = SipLogger(ami, state_file_for(tgt.address))
        await logger.on(["203.0.113.10"], [], seconds=60)
        try:
            plan = plan_identify_add(lab.config_dir, "carrier",
                                     parse_provider_address("203.0.113.18"))
            result = await Applier(ami, tmp_path, after_reload=reasserter(tgt.address)).apply(
                plan.changeset)
            assert result.applied
            assert any(p.detail == "SIP logger put back after the reload"
                       for p in result.progress)
            await place_call(lab)
            messages = []
            for _ in range(20):
                messages += await logger.poll()
                if any(m.method == "BYE" for m in messages):
                    break
                await asyncio.sleep(0.2)
            assert any(m.is_request and m.method == "INVITE" and m.received for m in messages)
        finally:
            await logger.off()
