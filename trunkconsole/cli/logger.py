"""`trunkconsole logger on|off|show`: the pjsip logger for one provider, time-boxed."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trunkconsole.visible import echo, visible_json

if TYPE_CHECKING:
    from trunkconsole.calls.sip_history import SipMessage


def register(subparsers: Any) -> None:
    logger = subparsers.add_parser(
        "logger", help="SIP logger for one provider, switched off by itself",
        description="Switch the pjsip logger on for a provider's addresses for a while, and "
        "show that provider's SIP messages (from PJSIP's history buffer, over AMI).")
    sub = logger.add_subparsers(dest="logger_command", metavar="ACTION", required=True)
    on = sub.add_parser("on", help="logger on for a trunk's or host's addresses")
    on.add_argument("--trunk", action="append", default=[],
                    help="endpoint whose identify matches and contacts to log")
    # Not --host: that is the AMI host wherever it is typed.
    on.add_argument("--address", action="append", default=[], dest="addresses",
                    help="provider IP or CIDR to log (repeatable)")
    on.add_argument("--method", action="append", default=[], help="SIP method (repeatable)")
    on.add_argument("--for", dest="seconds", type=float, default=300.0,
                    help="time box in seconds (default 300)")
    off = sub.add_parser("off", help="logger and history off now")
    for parser in (on, off):
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object, as the change commands do (also "
                            "on failure)")
        parser.set_defaults(change_command=True)
    on.set_defaults(handler=_on)
    off.set_defaults(handler=_off)
    show = sub.add_parser("show", help="print the logged provider's SIP messages")
    show.add_argument("--follow", action="store_true", help="keep printing until the time box ends")
    show.add_argument("--json", action="store_true")
    show.add_argument("--ladder", action="store_true",
                      help="calls grouped by Call-ID, as a provider <-> PBX ladder")
    show.add_argument("--call", metavar="CALL-ID", action="append", default=[],
                      help="with --ladder: only this call (repeatable)")
    show.add_argument("--search", metavar="NUMBER",
                      help="with --ladder: only calls carrying this number (any header)")
    show.add_argument("--pcap", type=Path, metavar="FILE",
                      help="with --ladder: also write the calls shown as a pcap (Wireshark)")
    show.set_defaults(handler=_show)
    guard = sub.add_parser("guard", help=argparse.SUPPRESS)
    guard.set_defaults(handler=lambda _a: _guard())


def _guard() -> int:
    from trunkconsole.changes.logger_guard import run_guard

    return run_guard(sys.stdin.read())


def _on(args: argparse.Namespace) -> int:
    from trunkconsole.cli.support import ami_target, settings_from_args
    from trunkconsole.errors import OperatorError

    if settings_from_args(args).readonly:
        raise OperatorError("read-only mode: refusing to switch the SIP logger on")
    target = ami_target(args)

    async def run() -> str:
        from trunkconsole.ami.oneshot import ami_session
        from trunkconsole.changes.logger_on import switch_logger_on

        async with ami_session(target) as ami:
            _logger, state = await switch_logger_on(
                ami, target, trunks=args.trunk, hosts=args.addresses, methods=args.method,
                seconds=args.seconds)
            return (f"SIP logger on for {', '.join(state.hosts)}"
                    + (f" ({', '.join(state.methods)})" if state.methods else "")
                    + f" until {time.strftime('%H:%M:%S', time.localtime(state.until))}; "
                    "switched off by itself then")

    return _report(args, "SIP logger on", asyncio.run(run()), changed=True)


def _report(args: argparse.Namespace, change: str, detail: str, *, changed: bool) -> int:
    """The text line, or (--json) the change commands' outcome object."""
    if not args.json:
        echo(detail)
        return 0
    from trunkconsole.changes.outcome import ChangeOutcome

    outcome = ChangeOutcome.runtime(change, detail, changed=changed)
    echo(outcome.dumps(), end="")
    return outcome.exit_code()


def _off(args: argparse.Namespace) -> int:
    from trunkconsole.cli.support import ami_target

    target = ami_target(args)

    async def run() -> bool:
        from trunkconsole.ami.oneshot import ami_session
        from trunkconsole.changes.sip_logger import SipLogger, state_file_for

        async with ami_session(target) as ami:
            return await SipLogger(ami, state_file_for(target.address)).off()

    had = asyncio.run(run())
    return _report(args, "SIP logger off",
                   "SIP logger off" + ("" if had else " (it was not on from trunkconsole)"),
                   changed=had)


def message_text(message: SipMessage) -> str:
    """One SIP message for `logger show` (echo makes the carrier's text visible)."""
    arrow = "<==" if message.received else "==>"
    return f"--- {arrow} {message.address} at {message.timestamp}\n{message.text}\n"


def message_json(message: SipMessage) -> str:
    """One SIP message as a JSON line for `logger show --json`."""
    return visible_json({"number": message.number, "time": message.timestamp,
                         "received": message.received, "address": message.address,
                         "method": message.method, "text": message.text}, indent=None)


def _show(args: argparse.Namespace) -> int:
    from trunkconsole.cli.support import ami_target
    from trunkconsole.errors import OperatorError

    if not args.ladder and (args.call or args.search or args.pcap):
        raise OperatorError("--call, --search and --pcap go with --ladder")
    if args.ladder and args.follow:
        raise OperatorError("--ladder shows the calls so far: leave out --follow")
    target = ami_target(args)

    async def run() -> int:
        from trunkconsole.ami.oneshot import ami_session
        from trunkconsole.changes.sip_logger import SipLogger, state_file_for

        async with ami_session(target) as ami:
            logger = SipLogger(ami, state_file_for(target.address))
            state = logger.state()
            if state is None:
                echo("the SIP logger is not on (trunkconsole logger on --trunk NAME)",
                     file=sys.stderr)
                return 1
            logger.last_seen = state.baseline
            if args.ladder:
                from trunkconsole.cli.ladder import show_ladder

                return show_ladder(await logger.poll(limit=None), args)
            while True:
                for message in await logger.poll():
                    echo(message_json(message) if args.json else message_text(message))
                    sys.stdout.flush()
                current = logger.state()
                if not args.follow or current is None or current.expired():
                    return 0
                await asyncio.sleep(1.0)

    return asyncio.run(run())
