"""`trunkconsole watch` (the journal and metrics service) and `trunkconsole history`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from trunkconsole.journal.location import JOURNAL_NAME, journal_file
from trunkconsole.visible import echo, visible_json


def add_journal_argument(parser: argparse.ArgumentParser) -> None:
    """--journal, the same for watch, history, check and bundle."""
    parser.add_argument("--journal", type=Path, default=None,
                        help=f"the journal file (default STATE_DIR/{JOURNAL_NAME}, "
                        "STATE_DIR /var/lib/trunkconsole or $TRUNKCONSOLE_STATE_DIR)")


def journal_path(args: argparse.Namespace) -> Path:
    """--journal, else the default under --state-dir."""
    return journal_file(getattr(args, "journal", None), getattr(args, "state_dir", None))


def register(subparsers: Any) -> None:
    from trunkconsole.cli.support import add_since_argument

    watch = subparsers.add_parser(
        "watch", help="keep one AMI session, write the journal, serve Prometheus metrics",
        description="A small service (see sample-configs/systemd): records contact status "
        "and RTT, registrations, calls and hangup causes, unknown senders, findings raised "
        "and cleared and applied changes into an SQLite journal, and serves metrics.")
    add_journal_argument(watch)
    watch.add_argument("--state-dir", type=Path,
                       help="where the audit log is (default /var/lib/trunkconsole)")
    watch.add_argument("--metrics", default="127.0.0.1:9595", metavar="ADDR:PORT",
                       help="serve /metrics here (default 127.0.0.1:9595; expose it only "
                       "through your own network policy)")
    watch.add_argument("--no-metrics", action="store_true", help="no metrics HTTP server")
    watch.add_argument("--textfile", type=Path, metavar="FILE.prom",
                       help="write node_exporter textfile output instead of serving HTTP")
    watch.add_argument("--retention-days", type=float, default=30.0,
                       help="keep journal rows this many days (default 30)")
    watch.add_argument("--max-size-mb", type=float, default=200.0,
                       help="keep the journal under this size (default 200)")
    watch.add_argument("--no-network", action="store_true",
                       help="do not read the firewall (verdict metrics stay empty)")
    watch.set_defaults(handler=_watch)

    history = subparsers.add_parser(
        "history", help="what happened: outages, refused senders, changes, calls (journal)")
    add_journal_argument(history)
    history.add_argument("--state-dir", type=Path, help=argparse.SUPPRESS)
    history.add_argument("--trunk", help="only this trunk")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    add_since_argument(history, "24h")
    history.set_defaults(handler=_history)


def _watch(args: argparse.Namespace) -> int:
    from trunkconsole.cli.config import config_dir
    from trunkconsole.cli.support import ami_target
    from trunkconsole.errors import OperatorError
    from trunkconsole.journal.watch import Watch, WatchOptions
    from trunkconsole.journal.writer import Retention
    from trunkconsole.metrics.exporter import parse_address
    from trunkconsole.private import state_dir

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.textfile is not None and not args.textfile.name.endswith(".prom"):
        raise OperatorError(f"{args.textfile}: node_exporter reads only files ending in .prom")
    try:
        address = None if args.no_metrics or args.textfile else parse_address(args.metrics)
    except ValueError as exc:
        raise OperatorError(str(exc), fix="e.g. --metrics 127.0.0.1:9595") from exc
    if args.retention_days <= 0 or args.max_size_mb <= 0:
        raise OperatorError("--retention-days and --max-size-mb must be positive")
    options = WatchOptions(
        journal=journal_path(args), config_dir=config_dir(args),
        state_dir=state_dir(args.state_dir),
        retention=Retention(max_age=args.retention_days * 86400,
                            max_bytes=int(args.max_size_mb * 1024 * 1024)),
        metrics_address=address, textfile=args.textfile, network=not args.no_network)
    try:
        watch = Watch(ami_target(args), options)
    except OSError as exc:
        raise OperatorError(f"cannot open the journal {options.journal}",
                            evidence=str(exc)) from exc
    try:
        asyncio.run(watch.run())
    except (OSError, __import__("sqlite3").Error) as exc:
        raise OperatorError(f"cannot write the journal {options.journal}",
                            evidence=str(exc), fix="check the directory exists and is "
                            "writable by this user, or pass --journal") from exc
    return 0


def _history(args: argparse.Namespace) -> int:
    from trunkconsole.journal.history import build_history, render_text

    history = build_history(journal_path(args), args.since, trunk=args.trunk)
    if args.json:
        echo(visible_json(history.to_json()))
        return 0
    echo(render_text(history), end="")
    return 0
