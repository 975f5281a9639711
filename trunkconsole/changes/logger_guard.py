"""The logger's dead-man: a small detached process that switches the logger off.

It outlives the CLI command that started the logger (so `logger on --for 300` ends by
itself), and it follows the console's pid (so a console that exits or crashes leaves no
logger running). It gets the AMI secret on stdin, never on argv or in the environment
(TRUNKCONSOLE_AMI_SECRET is removed from the environment it inherits).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from trunkconsole.changes import guard
from trunkconsole.settings import AmiTarget, Secret


def start_guard(target: AmiTarget, state_file: Path, session: str,
                follow_pid: int | None) -> int:
    """Start the guard process; returns its pid."""
    # The secret goes through the pipe only (changes/guard.py).
    return guard.spawn(["logger", "guard"], {
        "host": target.host, "port": target.port, "username": target.username,
        "secret": target.secret.reveal(), "state_file": str(state_file),
        "session": session, "follow_pid": follow_pid,
    })


def run_guard(stdin_text: str) -> int:
    """Wait for the time box or the console's end, then switch the logger off."""
    config = json.loads(stdin_text)
    state_file = Path(config["state_file"])
    follow = config.get("follow_pid")
    if not guard.wait_for_end(state_file, config["session"], int(follow) if follow else None):
        return 0  # switched off (or replaced) by someone else
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
