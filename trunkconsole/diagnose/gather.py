"""Gather Evidence: config from files, live state over AMI, RTP counters, the firewall."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget

if TYPE_CHECKING:
    from trunkconsole.ami.live import LiveSession
    from trunkconsole.net.feed import RulesetFeed


def network_evidence(ev: Evidence, config_dir: Path, feed: RulesetFeed | None = None) -> None:
    """The firewall report and a compiled engine, or a gap saying why not. feed: the
    console's (rules read once per change; the time they are known to hold at is the
    read's time), else the rules are read now."""
    from trunkconsole.net.bans import gather_bans
    from trunkconsole.net.collect import FirewallUnreadable, capture
    from trunkconsole.net.engine import Engine
    from trunkconsole.net.helper import helper_state
    from trunkconsole.net.host import read_host
    from trunkconsole.net.pjsip_inputs import from_system, load_inputs
    from trunkconsole.net.report import attach_bans, build_report

    ev.network_read_at = time.time()  # before reading: a change during the read is newer
    try:
        inputs = from_system(ev.config) if ev.config is not None else load_inputs(config_dir)
    except OperatorError as exc:
        ev.gaps.append(f"network: {exc.what}")
        return
    sources = [s for p in inputs.providers if (s := p.probe_address()) is not None]
    host = read_host(sources)
    try:
        if feed is not None:
            raw, ev.network_read_at = feed.current()
        else:
            raw = capture()
        ruleset = raw.ruleset()
    except (FirewallUnreadable, OperatorError) as exc:
        ev.gaps.append(f"firewall: {exc.what}")
        ev.network = build_report(inputs, None, host, None, firewall_error=exc.render())
        ev.bans = gather_bans(None)
        return
    ev.bans = gather_bans(ruleset, raw.document)
    ev.engine = Engine(ruleset, local_addresses=sorted(host.local()))
    ev.network = build_report(inputs, ruleset, host, helper_state(ruleset), engine=ev.engine)
    attach_bans(ev.network, ev.bans)


async def live_evidence(ev: Evidence, target: AmiTarget, *, listen: float = 0.0,
                        timeout: float = 10.0) -> None:
    """Resync the live state over AMI, listen a while, read the RTP counters."""
    from trunkconsole.ami.live import LiveSession

    session = LiveSession(target)
    session.start()
    try:
        if not await _synced_or_failed(session, timeout):
            ev.gaps.append(f"live: {session.status.reason or 'AMI did not answer in time'}")
            return
        if listen > 0:
            await asyncio.sleep(listen)
        try:
            ev.rtp = parse_channelstats(
                await session.connection.command("pjsip show channelstats"))
            session.state.quality.set_codecs({n: s.codec for n, s in ev.rtp.items()})
        except OperatorError as exc:
            ev.gaps.append(f"RTP counters: {exc.what}")
        ev.state = session.state
        ev.gaps.extend(session.problems)
    finally:
        await session.close()


async def _synced_or_failed(session: LiveSession, timeout: float) -> bool:
    """Like wait_synced, but a one-shot check gives up at the first failed attempt."""
    from trunkconsole.ami.connection import State

    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if session.syncs:
            return True
        status = session.status
        if status.state in (State.FAILED, State.CLOSED) or (
                status.state is State.RECONNECTING and status.reason):
            return False
        await asyncio.sleep(0.02)
    return bool(session.syncs)


def config_evidence(ev: Evidence, config_dir: Path) -> None:
    from trunkconsole.pjsip.system import load_asterisk

    if not config_dir.is_dir():
        ev.gaps.append(f"config: {config_dir} is not a directory")
        return
    ev.config = load_asterisk(config_dir)


def log_evidence(ev: Evidence, config_dir: Path, since: float,
                 log_dir: Path | None = None) -> None:
    """Asterisk's log files over the last `since` seconds (security, messages)."""
    from trunkconsole.logs.record import read_logs

    if not config_dir.is_dir():
        return
    try:
        ev.log = read_logs(config_dir, since, log_dir=log_dir, now=ev.now)
    except OSError as exc:
        ev.gaps.append(f"logs: {exc}")
        return
    ev.gaps.extend(f"logs: {gap}" for gap in ev.log.gaps)
