"""Switch the SIP logger on for trunks or hosts: the one path of `logger on`, the console's
SIP logger screen and the walk-a-call workflow.

The logger is Asterisk runtime state that outlives us: a guard process (logger_guard)
switches it off when the time box ends or when the process that asked for it dies, so
a crash never leaves `pjsip set logger` on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from trunkconsole.ami.provider_addresses import trunk_hosts
from trunkconsole.changes.changeset import AmiActions
from trunkconsole.changes.logger_guard import start_guard
from trunkconsole.changes.sip_logger import LoggerState, SipLogger, state_file_for
from trunkconsole.settings import AmiTarget


async def switch_logger_on(ami: AmiActions, target: AmiTarget, *, trunks: Iterable[str] = (),
                           hosts: Iterable[str] = (), methods: Iterable[str] = (),
                           seconds: float, state_file: Path | None = None,
                           follow_pid: int | None = None) -> tuple[SipLogger, LoggerState]:
    """Logger on for the trunks' addresses (identify matches, contacts) and the hosts, for
    `seconds`, guarded; follow_pid: switch off as soon as that process is gone."""
    wanted = list(hosts)
    for trunk in trunks:
        wanted += await trunk_hosts(ami, trunk)
    logger = SipLogger(ami, state_file or state_file_for(target.address))
    state = await logger.on(wanted, list(methods), seconds)
    state.guard_pid = start_guard(target, logger.state_file, state.session, follow_pid)
    logger.save(state)
    return logger, state
