"""`trunkconsole identify add|remove TRUNK ADDRESS`: a provider's address, reviewed.

Idempotent for configuration tools: an address already there (add) or already gone
(remove) is "unchanged", exit 0. `--from-file` takes a provider's whole list as one
transaction; `--trunk-by-contact HOST` names the trunk by its provider's host, so one
playbook fits PBXs whose section names differ.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from trunkconsole.errors import OperatorError


def register(subparsers: Any) -> None:
    from trunkconsole.cli.support import add_apply_arguments

    identify = subparsers.add_parser(
        "identify", help="add or remove a provider address in a trunk's identify",
        description="Edit a trunk's identify matches as a reviewed diff: backup, reload, "
        "verification against live Asterisk, rollback when it does not take. Exit 0 "
        "also when nothing needed to change ('unchanged').")
    sub = identify.add_subparsers(dest="identify_command", metavar="ACTION", required=True)
    for name, helptext in (("add", "add provider IPs, networks or hostnames"),
                           ("remove", "remove match entries")):
        action = sub.add_parser(name, help=helptext)
        action.add_argument("trunk", nargs="?",
                            help="the trunk's endpoint name (omit with --trunk-by-contact)")
        action.add_argument("address", nargs="?",
                            help="IP, CIDR, IP/mask or hostname (optional :port)")
        action.add_argument("--from-file", metavar="FILE",
                            help="addresses one a line ('#' comments; '-' is stdin), all "
                            "in one transaction; a bad line changes nothing")
        action.add_argument("--trunk-by-contact", metavar="HOST",
                            help="the trunk whose aor contact or identify match is HOST")
        if name == "add":
            action.add_argument("--covered-ok", action="store_true",
                                help="count an address inside a network already matched "
                                "as present (default: write the exact address)")
        action.add_argument("--force", action="store_true",
                            help="accept a range larger than /16 (IPv4) or /48 (IPv6)")
        add_apply_arguments(action)
        action.set_defaults(handler=_run, identify_action=name)


def _trunk_and_addresses(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """(trunk, address texts) from the positionals; with --trunk-by-contact every
    positional is an address."""
    given = [v for v in (args.trunk, args.address) if v is not None]
    if args.trunk_by_contact is not None:
        return None, given
    if not given:
        raise OperatorError("name the trunk", fix="identify add TRUNK ADDRESS, or "
                            "--trunk-by-contact HOST")
    return given[0], given[1:]


def _run(args: argparse.Namespace) -> int:
    from trunkconsole.changes.identify import plan_identify_remove
    from trunkconsole.changes.identify_review import plan_identify_add_reviewed
    from trunkconsole.cli.apply import run_change
    from trunkconsole.cli.support import ami_target, settings_from_args

    settings = settings_from_args(args)
    config_dir = Path(settings.asterisk_dir)

    def plan() -> Any:
        from trunkconsole.pjsip.address_file import read_address_file
        from trunkconsole.pjsip.addresses import parse_provider_address

        trunk, texts = _trunk_and_addresses(args)
        if len(texts) > 1:
            raise OperatorError(f"with --trunk-by-contact, give one address, not "
                                f"{' and '.join(texts)}", fix="use --from-file for a list")
        addresses = [parse_provider_address(t, force=args.force) for t in texts]
        if args.from_file is not None:
            addresses += read_address_file(args.from_file, force=args.force)
        if not addresses:
            raise OperatorError("no address given", fix="give ADDRESS or --from-file FILE")
        if trunk is None:
            from trunkconsole.pjsip.trunk_lookup import trunk_by_contact

            trunk = trunk_by_contact(config_dir, args.trunk_by_contact)
        if args.identify_action == "remove":
            return plan_identify_remove(config_dir, trunk, addresses).changeset
        return plan_identify_add_reviewed(config_dir, trunk, addresses,
                                          covered_ok=args.covered_ok).changeset

    return run_change(args, plan, target=lambda: None if args.dry_run else ami_target(args),
                      readonly=settings.readonly)
