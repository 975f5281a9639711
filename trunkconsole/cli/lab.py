"""`trunkconsole lab up | down | status | call | carrier | console`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from trunkconsole.visible import echo


def register(subparsers: Any) -> None:
    """Add the `lab` command group."""
    lab = subparsers.add_parser(
        "lab", help="a real Asterisk 22 and a SIP carrier in network namespaces (root)",
        description="Run a real Asterisk PBX (Debian sid, chrooted) and a sipp carrier in "
        "network namespaces on this machine: for tests, demos and rehearsing failures.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--name", default="demo", help="lab name; two labs can coexist")
    common.add_argument("--cache-dir", type=Path,
                        help="root filesystem cache (default /var/cache/trunkconsole)")
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    up = sub.add_parser("up", parents=[common], help="build (once) and start the lab")
    up.add_argument("--rebuild", action="store_true", help="build a new root filesystem")
    up.add_argument("--carrier", choices=("answer", "reject"), default="answer",
                    help="how the carrier answers the PBX's outbound calls")
    up.set_defaults(handler=_up)

    prepare = sub.add_parser("prepare", parents=[common],
                             help="build and cache the root filesystem only")
    prepare.add_argument("--rebuild", action="store_true", help="build a new one")
    prepare.set_defaults(handler=_prepare)

    down = sub.add_parser("down", parents=[common],
                          help="stop everything and remove the namespaces")
    down.set_defaults(handler=_down)

    status = sub.add_parser("status", parents=[common], help="what runs")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)

    call = sub.add_parser("call", parents=[common],
                          help="inbound calls from the carrier to a DID")
    call.add_argument("did", nargs="?", default="15551230001")
    call.add_argument("--from", dest="source", default=None,
                      help="carrier source address (203.0.113.10-20; default: where the "
                      "carrier is now)")
    call.add_argument("--count", type=int, default=1)
    call.add_argument("--rate", type=float, default=1.0, help="calls per second")
    call.add_argument("--duration", type=float, default=2.0, help="seconds per call")
    call.add_argument("--caller-name", default="Carrier Test")
    call.add_argument("--from-user", default="15557770000")
    call.add_argument("--media", action="store_true",
                      help="the carrier sends RTP after the answer (about 8 s)")
    call.add_argument("--outbound", metavar="NUMBER",
                      help="instead: one outbound call from the PBX to NUMBER at the carrier")
    call.set_defaults(handler=_call)

    carrier = sub.add_parser("carrier", parents=[common],
                             help="answer (200) | reject (403) | callerid (403 unless "
                             "From is 15551230000) | stop")
    carrier.add_argument("mode", choices=("answer", "reject", "callerid", "stop"))
    carrier.set_defaults(handler=_carrier)

    scenario = sub.add_parser("scenario", parents=[common],
                              help="break the lab the way production breaks")
    scenario.add_argument("scenario", choices=("provider-ip-changed", "provider-banned",
                                               "rtp-blocked", "callerid-rejected",
                                               "trunk-down", "packet-loss", "did-in-header",
                                               "codec-mismatch", "private-sdp", "reset"))
    scenario.set_defaults(handler=_scenario)

    dialer = sub.add_parser("dialer", parents=[common], help=argparse.SUPPRESS)
    dialer.add_argument("number")
    dialer.add_argument("--every", type=float, default=5.0)
    dialer.add_argument("--for", dest="seconds", type=float, default=600.0)
    dialer.set_defaults(handler=_dialer)

    console = sub.add_parser("console", parents=[common],
                             help="open the console on this lab's PBX")
    console.set_defaults(handler=_console)


def _lab(args: argparse.Namespace) -> Any:
    from trunkconsole.lab.lab import Lab

    return Lab(args.name, args.cache_dir)


def _up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    _lab(args).up(rebuild=args.rebuild, uas_mode=args.carrier)
    echo(f"lab up in {time.monotonic() - started:.1f} s")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from trunkconsole.lab import rootfs
    from trunkconsole.lab.system import require_root

    require_root("trunkconsole lab prepare")
    path = rootfs.ensure_rootfs(rootfs.cache_dir(args.cache_dir), rebuild=args.rebuild)
    echo(f"lab root filesystem ready: {path} ({rootfs.asterisk_version(path)})")
    return 0


def _down(args: argparse.Namespace) -> int:
    _lab(args).down()
    return 0


def _status(args: argparse.Namespace) -> int:
    info = _lab(args).status()
    if args.json:
        echo(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            echo(f"{key:18} {value}")
    return 0 if info["asterisk"] else 1


def _call(args: argparse.Namespace) -> int:
    from trunkconsole.lab.carrier import CallSpec

    if args.outbound:
        _lab(args).originate(args.outbound)
        echo(f"outbound call to {args.outbound} queued through the trunk")
        return 0
    source = args.source or _lab(args).carrier_address()
    spec = CallSpec(did=args.did, source=source, count=args.count, rate=args.rate,
                    duration=args.duration, caller_name=args.caller_name,
                    from_user=args.from_user, media=args.media)
    report = _lab(args).call(spec)
    echo(f"calls from {spec.source} to {spec.did}: {report.summary()}")
    return 0 if report.answered == report.placed else 1


def _scenario(args: argparse.Namespace) -> int:
    from trunkconsole.lab import scenarios

    scenarios.apply(_lab(args), args.scenario)
    return 0


def _dialer(args: argparse.Namespace) -> int:
    """Originate an outbound call every few seconds (scenario traffic)."""
    from trunkconsole.errors import OperatorError

    lab = _lab(args)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OperatorError):  # Asterisk restarting: next round
            lab.originate(args.number, hold=2)
        time.sleep(args.every)
    return 0


def _carrier(args: argparse.Namespace) -> int:
    _lab(args).set_carrier(args.mode)
    echo(f"carrier: {args.mode}")
    return 0


def _console(args: argparse.Namespace) -> int:
    lab = _lab(args)
    if not lab.is_running():
        from trunkconsole.errors import OperatorError

        raise OperatorError(f"lab '{lab.name}' is not up", fix="trunkconsole lab up")
    argv = ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
            "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir)]
    os.execvp(argv[0], argv)
    return 0  # not reached
