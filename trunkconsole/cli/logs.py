"""`trunkconsole logs show|enable`: what Asterisk's log files say, and turning them on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from trunkconsole.visible import echo, visible_json


def add_log_dir_argument(parser: argparse.ArgumentParser) -> None:
    """--log-dir, for every command that reads Asterisk's logs."""
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="Asterisk's log directory (default: astlogdir of asterisk.conf)")


def register(subparsers: Any) -> None:
    from trunkconsole.cli.support import add_apply_arguments, add_since_argument

    logs = subparsers.add_parser("logs", help="Asterisk's own log files: read or switch on")
    sub = logs.add_subparsers(dest="logs_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="refused requests, reachability changes, ... from the "
                          "log files logger.conf names")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_since_argument(show, "1h")
    add_log_dir_argument(show)
    show.set_defaults(handler=_show)
    enable = sub.add_parser("enable", help="add the logger.conf lines `check` needs, reviewed",
                            description="Add `security.log => security` (and a NOTICE file "
                            "when there is none) to logger.conf [logfiles], as a reviewed diff, "
                            "then `logger reload`.")
    add_apply_arguments(enable)
    enable.set_defaults(handler=_enable)


def _show(args: argparse.Namespace) -> int:
    from trunkconsole.cli.config import config_dir
    from trunkconsole.diagnose.text import clock
    from trunkconsole.logs.record import read_logs

    record = read_logs(config_dir(args), args.since, log_dir=args.log_dir)
    if args.json:
        echo(visible_json({"since": record.since, "files": record.files, "gaps": record.gaps,
                           "channels": [c.to_json() for c in record.setup.channels],
                           "events": [e.to_json() for e in record.events]}))
        return 0
    for event in record.events:
        echo(f"{clock(event.at)} {event.kind:15} {event.text}")
    for gap in record.gaps:
        echo(f"note: {gap}")
    echo(f"{len(record.events)} lines from {', '.join(record.files) or 'no file'}")
    return 0


def _enable(args: argparse.Namespace) -> int:
    from trunkconsole.changes.logger_conf import plan_logging
    from trunkconsole.cli.apply import run_change
    from trunkconsole.cli.config import config_dir
    from trunkconsole.cli.support import ami_target, settings_from_args

    return run_change(args, lambda: plan_logging(config_dir(args)),
                      target=lambda: None if args.dry_run else ami_target(args),
                      readonly=settings_from_args(args).readonly)
