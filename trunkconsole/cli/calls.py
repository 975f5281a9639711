"""`trunkconsole preflight TRUNK --to NUMBER [--caller-id NUM]`: an outbound test call
through the trunk, stopped before answer (CANCEL on the first 180/183)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from trunkconsole.visible import echo, visible_json


def register(subparsers: Any) -> None:
    preflight = subparsers.add_parser(
        "preflight", help="an outbound call through a trunk, cancelled before answer",
        description="Place one outbound call through TRUNK (AMI Originate) and hang it up at "
        "the first provisional answer (180/183), so nothing is billed; print the provider's "
        "answer (403 and its Reason, 404, 484, 503 ... or 'ringing: accepted') and the "
        "From / P-Asserted-Identity / Remote-Party-ID Asterisk sent (from the PJSIP history). "
        "Exit status: 0 accepted, 2 rejected, 3 could not run.")
    preflight.add_argument("trunk", help="the trunk's endpoint name")
    preflight.add_argument("--to", dest="number", required=True, metavar="NUMBER",
                           help="number to call through the trunk")
    preflight.add_argument("--caller-id", default="", metavar="NUM",
                           help="caller ID number (default: what a real call through the "
                           "trunk sends: its from_user, the outbound route's "
                           "Set(CALLERID(num)=...), its callerid)")
    preflight.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS")
    preflight.add_argument("--json", action="store_true")
    preflight.set_defaults(handler=_preflight)

    from trunkconsole.cli.support import add_apply_arguments

    did = subparsers.add_parser("did", help="where the provider puts the DID")
    sub = did.add_subparsers(dest="did_command", metavar="ACTION", required=True)
    route = sub.add_parser(
        "route", help="route a pilot number on the DID another header carries",
        description="Add the pilot number (what the provider puts in the Request-URI) to "
        "the trunk's context, reading the real DID from P-Called-Party-ID, To or Diversion "
        "(PJSIP_HEADER): a reviewed diff to extensions.conf, dialplan reload, verified.")
    route.add_argument("trunk", help="the trunk's endpoint name")
    route.add_argument("--pilot", required=True, metavar="NUMBER",
                       help="the number in the Request-URI")
    route.add_argument("--header", default="P-Called-Party-ID",
                       help="header with the DID: P-Called-Party-ID (default), To, Diversion")
    add_apply_arguments(route)
    route.set_defaults(handler=_did_route)


def _preflight(args: argparse.Namespace) -> int:
    from pathlib import Path

    from trunkconsole.cli.support import ami_target, settings_from_args
    from trunkconsole.errors import OperatorError

    settings = settings_from_args(args)
    if settings.readonly:
        raise OperatorError("read-only mode: refusing to place a pre-flight call")
    target = ami_target(args)

    async def run() -> Any:
        from trunkconsole.ami.oneshot import ami_session
        from trunkconsole.calls.preflight import run_preflight
        from trunkconsole.changes.sip_logger import state_file_for

        async with ami_session(target) as ami:
            return await run_preflight(ami, args.trunk, args.number, args.caller_id,
                                       state_file_for(f"preflight-{target.address}"),
                                       timeout=args.timeout,
                                       config_dir=Path(settings.asterisk_dir),
                                       target=target)

    result = asyncio.run(run())
    if args.json:
        echo(visible_json(result.to_json()))
    else:
        echo("\n".join(result.lines()))
    if result.call is None:
        return 3
    return 0 if result.ok else 2


def _did_route(args: argparse.Namespace) -> int:
    from pathlib import Path

    from trunkconsole.changes.did_route import plan_did_route
    from trunkconsole.cli.apply import run_change
    from trunkconsole.cli.support import ami_target, settings_from_args

    settings = settings_from_args(args)
    return run_change(
        args, lambda: plan_did_route(Path(settings.asterisk_dir), args.trunk, args.pilot,
                                     args.header),
        target=lambda: None if args.dry_run else ami_target(args),
        readonly=settings.readonly)
