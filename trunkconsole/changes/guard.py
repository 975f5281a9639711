"""Dead-man guards: small detached processes that undo a temporary change by themselves.

A guard outlives the command that made the change (so a time box ends even when the
command is gone) and follows a pid (so a console or CLI that exits, crashes or is
SIGKILLed leaves nothing behind). Its instructions come on stdin as JSON, never on argv
or in the environment (they may hold the AMI secret: /proc/PID/cmdline and environ are
readable for the process's life). It watches a state file: the change is still ours
while the file names our session; whoever ends the change early removes or replaces it.
Used by the SIP logger (changes/logger_guard.py) and firewall traces (changes/trace.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from trunkconsole.settings import SECRET_ENV

CHECK_SECONDS = 0.5


def spawn(command: list[str], payload: dict[str, Any]) -> int:
    """Start `trunkconsole COMMAND...` detached (own session), payload on stdin; its pid."""
    env = {key: value for key, value in os.environ.items() if key != SECRET_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trunkconsole", *command],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(payload).encode())
    proc.stdin.close()
    return proc.pid


def alive(pid: int) -> bool:
    """True while pid runs; a zombie is dead (a SIGKILLed console whose parent has not
    reaped it yet, e.g. under a container's init, still answers kill(pid, 0))."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def current(state_file: Path, session: str) -> dict[str, Any] | None:
    """The state file's content while it still names our session."""
    try:
        data: dict[str, Any] = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("session") == session else None


def wait_for_end(state_file: Path, session: str, follow_pid: int | None) -> bool:
    """Block until the time box (`until` in the state file) passes or follow_pid dies:
    True, undo now. False: someone else ended or replaced the change."""
    while True:
        state = current(state_file, session)
        if state is None:
            return False
        if time.time() >= float(state["until"]) or (follow_pid and not alive(follow_pid)):
            return True
        time.sleep(CHECK_SECONDS)
