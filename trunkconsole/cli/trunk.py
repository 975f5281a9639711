"""`trunkconsole trunk add NAME --provider-ip ...`: a new IP-authenticated trunk, reviewed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trunkconsole.changes.changeset import ChangeSet


def register(subparsers: Any) -> None:
    from trunkconsole.cli.support import add_apply_arguments

    trunk = subparsers.add_parser("trunk", help="create an IP-authenticated trunk")
    sub = trunk.add_subparsers(dest="trunk_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="aor + endpoint + identify + DID routes + outbound route",
                         description="Create a whole IP-authenticated trunk as one reviewed "
                         "diff over pjsip.conf and extensions.conf, verified after reload.")
    add.add_argument("name", help="trunk (endpoint) name")
    add.add_argument("--provider-ip", action="append", required=True, default=[],
                     help="every signaling address of the provider (repeatable); the first "
                     "is the one the PBX sends to and qualifies")
    add.add_argument("--did", action="append", default=[], help="an inbound number (repeatable)")
    add.add_argument("--route-to", default="", help="dialplan context the DIDs go to")
    add.add_argument("--codecs", default="ulaw,alaw", help="allow list (default ulaw,alaw)")
    add.add_argument("--from-user", default="", help="caller ID / account the provider expects")
    add.add_argument("--from-domain", default="", help="domain the provider expects in From")
    add.add_argument("--transport", default="", help="PJSIP transport (default: first UDP)")
    add.add_argument("--qualify", type=int, default=60, help="qualify frequency in seconds")
    add.add_argument("--force", action="store_true", help="accept very large address ranges")
    add_apply_arguments(add)
    add.set_defaults(handler=_add)


def _add(args: argparse.Namespace) -> int:
    from trunkconsole.changes.trunk import TrunkSpec, plan_trunk_add
    from trunkconsole.cli.apply import run_change
    from trunkconsole.cli.support import ami_target, settings_from_args

    settings = settings_from_args(args)

    def plan() -> ChangeSet:
        from trunkconsole.pjsip.addresses import parse_provider_address

        spec = TrunkSpec(
            name=args.name,
            provider_ips=[parse_provider_address(a, force=args.force)
                          for a in args.provider_ip],
            dids=args.did, route_to=args.route_to,
            codecs=[c.strip() for c in args.codecs.split(",") if c.strip()],
            from_user=args.from_user, from_domain=args.from_domain,
            qualify_frequency=args.qualify, transport=args.transport,
        )
        return plan_trunk_add(Path(settings.asterisk_dir), spec)

    return run_change(args, plan, target=lambda: None if args.dry_run else ami_target(args),
                      readonly=settings.readonly)
