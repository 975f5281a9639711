"""`trunkconsole firewall trace`: the kernel's own answer for real packets from a source,
beside the static verdict; the temporary trace table is always removed."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add `firewall trace` (and its hidden guard) to the firewall command group."""
    from trunkconsole.cli.firewall import ip_address

    trace = sub.add_parser(
        "trace", help="trace real packets from a source through the kernel's rules",
        description="Add a temporary nftables table that marks packets from SRC for "
        "tracing (meta nftrace set 1, prerouting, priority -350), read `nft monitor trace` "
        "until packets arrive or the time box ends, and show the rule that decided each "
        "one beside the static verdict. The table is removed on exit, and by a guard "
        "process if this command dies. Needs nftables and root.")
    trace.add_argument("--src", type=ip_address, required=True, help="source address")
    trace.add_argument("--proto", choices=("udp", "tcp"), help="only this protocol")
    trace.add_argument("--dport", type=int, help="only this destination port (with --proto;"
                       " default udp)")
    trace.add_argument("--for", dest="seconds", type=float, default=60.0,
                       help="time box in seconds (default 60)")
    trace.add_argument("--count", type=int, default=1,
                       help="stop after this many packets (default 1)")
    trace.add_argument("--state-dir", type=Path,
                       help="audit log (default /var/lib/trunkconsole)")
    trace.add_argument("--json", action="store_true", help="machine-readable output")
    trace.set_defaults(handler=_trace)
    guard = sub.add_parser("trace-guard", help=argparse.SUPPRESS)
    guard.set_defaults(handler=lambda _a: _guard())


def _guard() -> int:
    from trunkconsole.changes.trace import run_trace_guard

    return run_trace_guard(sys.stdin.read())


def _trace(args: argparse.Namespace) -> int:
    from trunkconsole.changes.trace import TraceNeedsNftables, TraceSpec, trace_packets
    from trunkconsole.cli.support import settings_from_args
    from trunkconsole.errors import OperatorError
    from trunkconsole.private import state_dir
    from trunkconsole.visible import echo, visible_json

    if args.dport is not None and args.proto is None:
        args.proto = "udp"
    if args.count < 1:
        raise OperatorError("--count must be 1 or more")
    spec = TraceSpec(args.src, args.proto, args.dport, args.seconds)
    settings = settings_from_args(args)

    def started(table: Any) -> None:
        if not args.json:
            echo(f"tracing {spec.rule().removesuffix(' meta nftrace set 1')} for up to "
                 f"{spec.seconds:.0f} s ({table.describe()}; removed afterwards)", flush=True)

    try:
        run = trace_packets(spec, state_dir(args.state_dir), readonly=bool(settings.readonly),
                            count=args.count, started=started)
    except TraceNeedsNftables as exc:
        echo(exc.what)
        echo(f"static verdict: {exc.static}")
        return 1
    results = run.packets
    if args.json:
        echo(visible_json({"source": args.src, "table": run.table, "removed": True,
                           "packets": results}))
    else:
        for item in results:
            echo(f"{time.strftime('%H:%M:%S', time.localtime(item['seen_at']))} "
                 f"{item['packet']}")
            echo(f"  kernel: {item['kernel']}")
            echo(f"  static: {item['static']}"
                 + ("   (agrees)" if item["agrees"] else "   (differs)"))
            echo(f"  path:   {' -> '.join(item['path']) or 'no rule met it'}")
        if not results:
            echo(f"no packet from {args.src} arrived in {spec.seconds:.0f} s; static "
                 f"verdict: {run.static}")
        echo(f"trace table {run.table} removed")
    if not results:
        return 1
    return 2 if any(r["dropped"] for r in results) else 0
