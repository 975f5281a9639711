"""`trunkconsole identify add|remove TRUNK ADDRESS`: a provider's address, reviewed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    from trunkconsole.changes.cli_apply import add_apply_arguments

    identify = subparsers.add_parser(
        "identify", help="add or remove a provider address in a trunk's identify",
        description="Edit a trunk's identify matches as a reviewed diff: backup, reload, "
        "verification against live Asterisk, rollback when it does not take.")
    sub = identify.add_subparsers(dest="identify_command", metavar="ACTION", required=True)
    for name, helptext in (("add", "add a provider IP, network or hostname"),
                           ("remove", "remove one match entry")):
        action = sub.add_parser(name, help=helptext)
        action.add_argument("trunk", help="the trunk's endpoint name")
        action.add_argument("address", help="IP, CIDR, IP/mask or hostname (optional :port)")
        action.add_argument("--force", action="store_true",
                            help="accept a range larger than /16 (IPv4) or /48 (IPv6)")
        action.add_argument("--config-dir", type=Path, dest="sub_config_dir",
                            help="Asterisk config directory (default /etc/asterisk)")
        add_apply_arguments(action)
        action.set_defaults(handler=_run, identify_action=name)


def _run(args: argparse.Namespace) -> int:
    from trunkconsole.changes.addresses import parse_provider_address
    from trunkconsole.changes.cli_apply import review_and_apply
    from trunkconsole.changes.identify import plan_identify_remove
    from trunkconsole.cli_support import ami_target, settings_from_args

    settings = settings_from_args(args)
    config_dir = args.sub_config_dir or settings.asterisk_dir
    if args.identify_action == "add":
        from trunkconsole.changes.identify_review import plan_identify_add_reviewed

        plan = plan_identify_add_reviewed(Path(config_dir), args.trunk, args.address,
                                          force=args.force)
    else:
        address = parse_provider_address(args.address, force=args.force)
        plan = plan_identify_remove(Path(config_dir), args.trunk, address)
    target = None if args.dry_run else ami_target(args)
    return review_and_apply(plan.changeset, args, target, settings.readonly)
