"""The Diagnoses screen at start reads the last hour of Asterisk's own logs: with no AMI
session at all it names the moved provider from the security log, and where the security
log is off it says which logger.conf line would enable it.

The log lines are the lab Asterisk 22.10's own (tests/fixtures/asterisk-logs), moved in
time so that they fall in the screen's one-hour window.
"""

from __future__ import annotations

import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trunkconsole.resources import sample_configs_dir
from trunkconsole.settings import AmiTarget, Settings
from trunkconsole.tui.app import TrunkConsoleApp
from trunkconsole.tui.screens.diagnoses import DiagnosesScreen

from .screen import settle, visible_text

FIXTURE = (Path(__file__).resolve().parents[1] / "fixtures" / "asterisk-logs"
           / "22.10-security-F_T_3q.log")
LOCAL = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3})\]")
EVENT_TV = re.compile(r'(EventTV|SessionTV)="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)\+0000"')


def _moved(text: str, to: float) -> str:
    """The fixture's lines, shifted so that its first line was written at `to`."""
    first = LOCAL.match(text)
    assert first is not None
    shift = to - datetime.strptime(first.group(1), "%Y-%m-%d %H:%M:%S").timestamp()

    def local(m: re.Match[str]) -> str:
        at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S") + timedelta(seconds=shift)
        return f"[{at:%Y-%m-%d %H:%M:%S}.{m.group(2)}]"

    def utc(m: re.Match[str]) -> str:
        at = datetime.strptime(m.group(2), "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=UTC) + timedelta(seconds=shift)
        return f'{m.group(1)}="{at:%Y-%m-%dT%H:%M:%S}.{m.group(3)}+0000"'

    return "".join(EVENT_TV.sub(utc, LOCAL.sub(local, line))
                   for line in text.splitlines(keepends=True))


def _etc(tmp_path: Path, logger: str) -> Path:
    etc, log = tmp_path / "etc", tmp_path / "log"
    shutil.copytree(sample_configs_dir() / "lab", etc)
    log.mkdir()
    (etc / "asterisk.conf").write_text(f"[directories]\nastetcdir => {etc}\n"
                                       f"astlogdir => {log}\n")
    (etc / "logger.conf").write_text(logger)
    (log / "security.log").write_text(_moved(FIXTURE.read_text(), time.time() - 900))
    return etc


async def _diagnoses(etc: Path, size: tuple[int, int] = (100, 30)) -> str:
    app = TrunkConsoleApp(Settings(ami=AmiTarget(), asterisk_dir=etc), connect=False)
    async with app.run_test(size=size) as pilot:
        await app.push_screen(DiagnosesScreen())
        for _ in range(40):  # the logs are read in a worker at start
            await settle(pilot)
            text = visible_text(app)
            if "203.0.113.12" in text or "security.log" in text:
                break
            await pilot.pause(0.25)
        return visible_text(app)


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
async def test_diagnoses_names_the_moved_provider_from_the_security_log(
        tmp_path: Path, size: tuple[int, int]) -> None:
    etc = _etc(tmp_path, "[general]\ndateformat = %F %T.%3q\n\n[logfiles]\n"
                         "security.log => security\n")
    text = await _diagnoses(etc, size)
    assert "provider IP changed" in text, text
    assert "203.0.113.12" in text
    assert "res_security_log.c" in text  # the evidence: Asterisk's own line


async def test_diagnoses_says_which_line_enables_the_security_log(tmp_path: Path) -> None:
    etc = _etc(tmp_path, "[general]\ndateformat = %F %T.%3q\n\n[logfiles]\n"
                         "messages.log => notice,warning,error\n")
    text = await _diagnoses(etc)
    assert "security.log => security" in text, text
    assert "203.0.113.12" not in text  # the file is there, but logger.conf does not write it
