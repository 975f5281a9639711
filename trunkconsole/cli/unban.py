"""`trunkconsole unban ADDRESS`: lift a provider's ban, reviewed (fail2ban), or say how
(CrowdSec, FreePBX)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    from trunkconsole.cli.support import add_apply_arguments

    unban = subparsers.add_parser(
        "unban", help="lift a fail2ban ban for good: ignoreip in jail.local, reload, unban",
        description="Stop fail2ban banning a provider address: add it to the jail's ignoreip "
        "in jail.local (a reviewed diff with backup and audit), fail2ban-client reload, "
        "unban, verify with fail2ban and the kernel, roll back if the reload fails. For "
        "CrowdSec and FreePBX bans it prints the commands to run.")
    unban.add_argument("address", help="the banned IP address")
    unban.add_argument("--jail", help="the fail2ban jail (default: the one banning it)")
    unban.add_argument("--fail2ban-dir", type=Path,
                       help="fail2ban's configuration directory (default: the running "
                       "server's, else /etc/fail2ban)")
    unban.add_argument("--no-ignore", dest="ignore", action="store_false",
                       help="only unban now; leave jail.local as it is (it may be banned again)")
    add_apply_arguments(unban)
    unban.set_defaults(handler=_run)


def _other_bans(address: str) -> list[str]:
    """CrowdSec / FreePBX bans of address, as fix lines (fail2ban is handled by the plan)."""
    from trunkconsole.errors import OperatorError
    from trunkconsole.net.bans import gather_bans
    from trunkconsole.net.collect import capture

    try:
        raw = capture()
        index = gather_bans(raw.ruleset(), raw.document)
    except OperatorError:
        return []
    return [f"{ban.describe()}: {ban.fix()}" for ban in index.lookup(address)
            if ban.tool != "fail2ban"]


def _run(args: argparse.Namespace) -> int:
    from trunkconsole.changes.changeset import ChangeSet
    from trunkconsole.changes.unban import plan_unban
    from trunkconsole.cli.apply import run_change
    from trunkconsole.cli.support import settings_from_args
    from trunkconsole.errors import OperatorError
    from trunkconsole.visible import echo

    settings = settings_from_args(args)
    others = [] if getattr(args, "json", False) else _other_bans(args.address)
    for line in others:
        echo(f"also banned by {line}")

    def plan() -> ChangeSet:
        return plan_unban(args.address, args.jail, config_dir=args.fail2ban_dir,
                          ignore=args.ignore).changeset

    try:
        return run_change(args, plan, target=lambda: None, readonly=settings.readonly)
    except OperatorError:
        if others and args.jail is None:
            return 1  # not a fail2ban ban: the commands above lift it
        raise
