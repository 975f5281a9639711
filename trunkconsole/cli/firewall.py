"""CLI twins: `trunkconsole firewall verdict` and `trunkconsole firewall report`."""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from trunkconsole.errors import OperatorError
from trunkconsole.visible import echo

_IFNAME = re.compile(r"^[A-Za-z0-9_.:@+-]{1,15}\Z")


def _clean(text: str, what: str) -> str:
    if "\r" in text or "\n" in text or "\x00" in text:
        raise argparse.ArgumentTypeError(f"{what} must not contain CR, LF or NUL")
    return text.strip()


def ip_address(text: str) -> str:
    """--src/--dst: one IPv4 or IPv6 address (no network, no port)."""
    text = _clean(text, "the address")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IP address (e.g. 198.51.100.7 or 2001:db8::7)") from None


def port_range(text: str) -> tuple[int, int]:
    """--dport: PORT or LOW-HIGH, 1-65535."""
    text = _clean(text, "the port")
    found = re.fullmatch(r"(\d{1,5})(?:[-:](\d{1,5}))?", text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port or range (5060, 10000-20000)")
    lo = int(found.group(1))
    hi = int(found.group(2) or lo)
    if not 1 <= lo <= hi <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: ports are 1-65535, low before high")
    return lo, hi


def interface(text: str) -> str:
    text = _clean(text, "the interface")
    if not _IFNAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an interface name")
    return text


def register(subparsers: Any) -> None:
    """Add `firewall verdict` and `firewall report`."""
    firewall = subparsers.add_parser(
        "firewall", help="would the local firewall let a provider's SIP and RTP in?")
    sub = firewall.add_subparsers(dest="firewall_command", metavar="ACTION", required=True)
    verdict = sub.add_parser("verdict", help="accept, drop or depends for one packet or range")
    verdict.add_argument("--src", type=ip_address, required=True, help="source address")
    verdict.add_argument("--dport", type=port_range, required=True,
                         help="destination port or range, e.g. 5060 or 10000-20000")
    verdict.add_argument("--proto", choices=("udp", "tcp"), default="udp")
    verdict.add_argument("--dst", type=ip_address, help="destination (a local address)")
    verdict.add_argument("--sport", type=lambda t: port_range(t)[0], help="source port")
    verdict.add_argument("--iif", type=interface, help="input interface")
    verdict.add_argument("--state", choices=("new", "established"), default="new")
    _sources(verdict)
    verdict.set_defaults(handler=verdict_command)
    report = sub.add_parser("report", help="every provider: SIP per transport, RTP range, "
                            "host cross-checks")
    _sources(report)
    report.add_argument("--netns", type=interface, help="read rules and host facts from "
                        "this network namespace (`ip netns` name)")
    report.set_defaults(handler=report_command)
    from trunkconsole.cli.trace import register as register_trace

    register_trace(sub)


def _sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ruleset", type=Path, help="`nft -j list ruleset` output to use "
                        "instead of this host's rules")
    parser.add_argument("--iptables-save", type=Path, action="append", default=[],
                        dest="iptables_save", help="iptables-save / ip6tables-save / "
                        "iptables-legacy-save output (repeatable)")
    parser.add_argument("--ipset-save", type=Path, action="append", default=[],
                        dest="ipset_save", help="`ipset save` output: decides "
                        "`-m set --match-set` rules (repeatable)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _ruleset(args: argparse.Namespace, netns: str | None = None) -> Any:
    from trunkconsole.net.collect import load_files, read_ruleset

    if args.ruleset is not None or args.iptables_save or args.ipset_save:
        return load_files(args.ruleset, list(args.iptables_save), list(args.ipset_save))
    return read_ruleset(netns)


def verdict_command(args: argparse.Namespace) -> int:
    """Print the verdict; exit 0 accept, 1 depends, 2 drop."""
    from trunkconsole.net.engine import Engine
    from trunkconsole.net.packet import Probe
    from trunkconsole.net.verdict import Decision

    lo, hi = args.dport
    if args.dst is not None and ipaddress.ip_address(args.dst).version != \
            ipaddress.ip_address(args.src).version:
        raise OperatorError("--src and --dst are different IP versions",
                            evidence=f"{args.src} -> {args.dst}")
    probe = Probe(args.src, lo, hi, proto=args.proto, dst=args.dst, sport=args.sport,
                  iif=args.iif, state=args.state)
    engine = Engine(_ruleset(args))
    result = engine.evaluate_range(probe)
    if args.json:
        echo(json.dumps(result.to_json(), indent=2))
    else:
        import shutil
        import sys

        from trunkconsole.net.text import WIDTH, render_verdict

        width = max(60, shutil.get_terminal_size((WIDTH, 24)).columns) \
            if sys.stdout.isatty() else WIDTH  # on a terminal: its width, never a wrap
        echo(render_verdict(result, engine.ruleset.notes, width))
    return {Decision.ACCEPT: 0, Decision.DEPENDS: 1, Decision.DROP: 2}[result.decision]


def report_command(args: argparse.Namespace) -> int:
    """Print the provider report; exit like `trunkconsole check`."""
    from trunkconsole.cli.config import config_dir as configured_dir
    from trunkconsole.findings import exit_status
    from trunkconsole.net.gather import gather_report

    config_dir = configured_dir(args)
    files = (args.ruleset, list(args.iptables_save) + list(args.ipset_save)) if (
        args.ruleset is not None or args.iptables_save or args.ipset_save) else None
    report = gather_report(config_dir, files=files, netns=args.netns)
    if args.json:
        echo(json.dumps(report.to_json(), indent=2))
    else:
        from trunkconsole.net.text import render_report

        echo(render_report(report))
    return exit_status(report.findings)
