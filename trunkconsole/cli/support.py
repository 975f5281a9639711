"""Helpers shared by the CLI twins: one way to find the AMI target from the flags."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from trunkconsole.settings import AmiTarget, Settings, resolve_settings
from trunkconsole.timewindow import parse_since


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Flags, then environment, then config.yaml."""
    return resolve_settings(
        host=getattr(args, "host", None), port=getattr(args, "port", None),
        username=getattr(args, "username", None),
        secret_file=getattr(args, "secret_file", None),
        asterisk_dir=getattr(args, "config_dir", None),
        readonly=getattr(args, "readonly", None),
    )


def ami_target_and_gaps(args: argparse.Namespace) -> tuple[AmiTarget, list[str]]:
    """Flags/env/config.yaml first; without a secret, the user from manager.conf (the one
    named by --username, else the first whose classes suffice); and its known gaps."""
    settings = settings_from_args(args)
    if settings.ami.secret:
        return settings.ami, []
    from trunkconsole.ami.credentials import discover, user_target

    username = getattr(args, "username", None)
    if username:
        target, gaps = user_target(Path(settings.asterisk_dir), username)
    else:
        target, gaps = discover(Path(settings.asterisk_dir), prefer="trunkconsole"), []
    # --host/--port typed by the operator win over manager.conf's bindaddr and port.
    host, port = getattr(args, "host", None), getattr(args, "port", None)
    return replace(target, host=host or target.host,
                   port=port if port is not None else target.port), gaps


def ami_target(args: argparse.Namespace) -> AmiTarget:
    """The AMI target (see ami_target_and_gaps)."""
    return ami_target_and_gaps(args)[0]


def since_type(text: str) -> float:
    """argparse type for --since."""
    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_since_argument(parser: argparse.ArgumentParser, default: str) -> None:
    """--since DURATION, the same flag for check, history and bundle."""
    parser.add_argument("--since", type=since_type, default=parse_since(default),
                        metavar="DURATION",
                        help=f"how far back to look: 90s, 30m, 1h, 24h, 7d (default {default})")


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every change command shares."""
    parser.add_argument("--dry-run", action="store_true",
                        help="check mode: show the diff and whether it would change, "
                        "change nothing (exit 0)")
    parser.add_argument("--yes", action="store_true", help="apply without asking")
    parser.add_argument("--confirm-within", type=float, metavar="SECONDS",
                        help="dead-man apply: roll back unless confirmed within SECONDS")
    parser.add_argument("--state-dir", type=Path,
                        help="backups and audit log (default /var/lib/trunkconsole)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object, also on failure and for a usage "
                        "error (ok, changed, dry_run, change, diff, steps, backup, "
                        "rolled_back, verified, findings, error); exit 0 applied, unchanged "
                        "or dry run, 1 not applied (rolled back), 2 not as it was, 3 "
                        "refused (nothing written)")
    parser.set_defaults(change_command=True)
