"""`trunkconsole status [--json] [--listen SECONDS]`: one snapshot of the live model."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

from trunkconsole.findings import EXIT_UNKNOWN, exit_status
from trunkconsole.visible import echo, visible_json


def register(subparsers: Any) -> None:
    """Add the `status` command."""
    status = subparsers.add_parser(
        "status", help="trunks, contacts, calls and unknown senders, live from AMI",
        description="Connect to AMI, take one full snapshot of the PBX (the same model the "
        "console shows) and print it. --listen keeps listening to collect events such as "
        "unknown senders. Exit status: 0 fine, 1 warnings, 2 critical, 3 not connected.")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--listen", type=float, default=0.0, metavar="SECONDS",
                        help="keep listening this long after the snapshot")
    status.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="give up connecting after this long (default 10)")
    status.set_defaults(handler=_status)


async def collect(target: Any, listen: float, timeout: float) -> tuple[Any, str]:
    """Connect, resync, listen; the session (closed) and a failure reason or ''."""
    from trunkconsole.ami.live import LiveSession

    session = LiveSession(target)
    session.start()
    try:
        if not await session.wait_synced(timeout):
            return session, session.status.reason or "AMI did not answer in time"
        if listen > 0:
            await asyncio.sleep(listen)
        if session.state.quality.calls:  # MOS and jitter units depend on the codec
            from trunkconsole.diagnose.rtpstats import parse_channelstats
            from trunkconsole.errors import OperatorError

            with contextlib.suppress(OperatorError, TimeoutError):
                stats = parse_channelstats(
                    await session.connection.command("pjsip show channelstats"))
                session.state.quality.set_codecs({n: s.codec for n, s in stats.items()})
        return session, ""
    finally:
        await session.close()


def _status(args: argparse.Namespace) -> int:
    from trunkconsole.cli.support import ami_target_and_gaps, settings_from_args
    from trunkconsole.diagnose.engine import diagnose
    from trunkconsole.diagnose.evidence import Evidence
    from trunkconsole.diagnose.gather import config_evidence
    from trunkconsole.model.snapshot import snapshot

    target, gaps = ami_target_and_gaps(args)
    session, failure = asyncio.run(collect(target, args.listen, args.timeout))
    session.problems = gaps + session.problems  # from manager.conf, then as observed
    now = time.time()
    if failure:
        if args.json:
            echo(json.dumps({"connected": False, "ami": target.address, "error": failure}))
        else:
            echo(f"trunkconsole: AMI {target.address}: {failure}", file=sys.stderr)
        return EXIT_UNKNOWN
    evidence = Evidence(state=session.state, now=now)
    config_evidence(evidence, settings_from_args(args).asterisk_dir)
    findings = diagnose(evidence)
    if args.json:
        data = snapshot(session.state, now)
        data["connected"] = True
        data["ami"] = target.address
        info = session.server_info
        data["asterisk_version"] = info.asterisk_version if info else ""
        data["problems"] = session.problems
        data["findings"] = [f.to_json() for f in findings]
        echo(visible_json(data))
    else:
        _print_text(session, findings, now)
    return exit_status(findings)


def _print_text(session: Any, findings: list[Any], now: float) -> None:
    from trunkconsole.model.views import trunk_summaries

    state = session.state
    echo(f"{'TRUNK':20} {'STATUS':12} {'RTT':>8} {'CALLS':>5} {'1H':>4}  MATCHES")
    for t in trunk_summaries(state, now):
        rtt = f"{t.rtt_ms:.1f}ms" if t.rtt_ms is not None else "-"
        echo(f"{t.name:20} {t.status:12} {rtt:>8} {t.calls_now:>5} {t.calls_last_hour:>4}  "
             f"{','.join(t.matches) or '-'}")
    phones = len(state.endpoints) - len(state.trunks())
    echo(f"\n{len(state.channels)} channel(s), {phones} other endpoint(s)")
    for channel in sorted(state.channels.values(), key=lambda c: c.order):
        quality = state.quality.calls.get(channel.uniqueid)
        mos = quality.mos() if quality is not None else None
        echo(f"  {channel.name:28} {channel.state:8} {channel.caller_num!r:>18} "
             f"-> {channel.did or channel.exten}  {channel.duration(now):.0f}s"
             + (f"  MOS {mos:.1f}, loss in/out {quality.rx_loss}/{quality.tx_loss}%"
                if quality is not None and mos is not None else ""))
    senders = sorted(state.senders.by_address.values(), key=lambda s: -s.last_seen)
    if senders:
        echo("\nunknown senders:")
        for s in senders:
            seen = time.strftime("%H:%M:%S", time.localtime(s.last_seen))
            echo(f"  {s.address:16} {s.count:>5} req  last {seen}  From {s.account!r}")
    for r in state.senders.resolved.values():
        at = time.strftime("%H:%M:%S", time.localtime(r.at))
        echo(f"resolved: {r.address} at {at}, {r.describe()}")
    for problem in session.problems:
        echo(f"\nwarning: {problem}")
    for finding in findings:
        echo(f"{finding.severity.name.lower()}: {finding.title}")
