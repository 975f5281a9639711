"""The logger's dead-man: a small detached process that switches the logger off.

It outlives the CLI command that started the logger (so `logger on --for 300` ends by
itself), and it follows the console's pid (so a console that exits or crashes leaves no
logger running). It gets the AMI secret on stdin, never on argv or in the environment
(TRUNKCONSOLE_AMI_SECRET is removed from the environment it inherits).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trunkconsole.settings import SECRET_ENV, AmiTarget, Secret

CHECK_SECONDS = 0.5


def start_guard(target: AmiTarget, state_file: Path, session: str,
                follow_pid: int | None) -> int:
    """Start the guard process; returns its pid."""
    # The secret goes through the pipe only: not in the environment either, where
    # /proc/PID/environ would keep it for the guard's whole life.
    env = {key: value for key, value in os.environ.items() if key != SECRET_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trunkconsole", "logger", "guard"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({
        "host": target.host, "port": target.port, "username": target.username,
        "secret": target.secret.reveal(), "state_file": str(state_file),
        "session": session, "follow_pid": follow_pid,
    }).encode())
    proc.stdin.close()
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _current(state_file: Path, session: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("session") == session else None


def run_guard(stdin_text: str) -> int:
    """Wait for the time box or the console's end, then switch the logger off."""
    config = json.loads(stdin_text)
    state_file = Path(config["state_file"])
    follow = config.get("follow_pid")
    while True:
        state = _current(state_file, config["session"])
        if state is None:
            return 0  # switched off (or replaced) by someone else
        if time.time() >= float(state["until"]) or (follow and not _alive(int(follow))):
            break
        time.sleep(CHECK_SECONDS)
    target = AmiTarget(host=config["host"], port=int(config["port"]),
                       username=config["username"], secret=Secret(config["secret"]),
                       secret_source="guard")
    return asyncio.run(_switch_off(target, state_file))


async def _switch_off(target: AmiTarget, state_file: Path) -> int:
    from trunkconsole.ami.oneshot import ami_session
    from trunkconsole.changes.sip_logger import SipLogger

    for _attempt in range(10):  # Asterisk may be restarting: keep trying for a while
        try:
            async with ami_session(target, timeout=5) as ami:
                logger = SipLogger(ami, state_file)
                await logger.off()
                return 0
        except Exception:  # a guard must not die before it succeeded
            await asyncio.sleep(3)
    return 1
