"""CLI twins: `trunkconsole config show` and `trunkconsole check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from trunkconsole.visible import echo, visible_json

DEFAULT_CONFIG_DIR = Path("/etc/asterisk")


def register(subparsers: Any) -> None:
    """Add `config show` and `check`."""
    config = subparsers.add_parser("config", help="the Asterisk configuration as Asterisk reads it")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_sub.add_parser("show", help="resolved PJSIP objects with the origin of "
                                 "every value")
    _common(show)
    show.add_argument("--type", dest="object_type", help="only objects of this type")
    show.add_argument("--show-secrets", action="store_true",
                      help="print passwords, and values read from files outside the config "
                      "directory, in clear")
    show.set_defaults(handler=config_show)

    from trunkconsole.cli.support import add_apply_arguments

    set_ = config_sub.add_parser("set", help="set one option on one PJSIP object, reviewed",
                                 description="Any config edit as a reviewed diff with backup, "
                                 "reload, verification and rollback.")
    set_.add_argument("object_type", metavar="TYPE", help="endpoint, aor, identify, ...")
    set_.add_argument("name", help="the object's name (omit with --trunk-by-contact)")
    set_.add_argument("option", help="option name, e.g. from_user")
    set_.add_argument("value", nargs="?", help="new value")
    set_.add_argument("--trunk-by-contact", metavar="HOST",
                      help="the object of the trunk whose aor contact or identify match is "
                      "HOST (then: config set TYPE --trunk-by-contact HOST OPTION VALUE)")
    set_.add_argument("--force", action="store_true",
                      help="accept a match/permit range larger than /16 (IPv4) or /48 (IPv6)")
    add_apply_arguments(set_)
    set_.set_defaults(handler=config_set)

    check = subparsers.add_parser(
        "check", help="all findings; exit 0 fine, 1 warnings, 2 critical, 3 could not check")
    _common(check)
    check.add_argument("--listen", type=float, default=0.0, metavar="SECONDS",
                       help="watch live events this long first (unknown senders, hangups)")
    check.add_argument("--no-live", action="store_true",
                       help="do not connect to AMI (config and network only)")
    check.add_argument("--no-network", action="store_true",
                       help="do not read the firewall and interfaces of this host")
    check.add_argument("--no-logs", action="store_true",
                       help="do not read Asterisk's log files (security, messages)")
    from trunkconsole.cli.logs import add_log_dir_argument
    from trunkconsole.cli.support import add_since_argument

    add_since_argument(check, "1h")
    add_log_dir_argument(check)
    from trunkconsole.cli.journal import add_journal_argument

    add_journal_argument(check)
    check.add_argument("--no-journal", action="store_true",
                       help="do not read the journal of trunkconsole watch")
    check.set_defaults(handler=check_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def config_dir(args: argparse.Namespace) -> Path:
    """--config-dir (before or after the subcommand), else config.yaml's asterisk_dir, else
    /etc/asterisk: the same directory every command uses."""
    from trunkconsole.settings import configured_asterisk_dir

    return configured_asterisk_dir(getattr(args, "config_dir", None))


def config_show(args: argparse.Namespace) -> int:
    """Print the resolved PJSIP objects."""
    from trunkconsole.conf.tree import IssueLevel
    from trunkconsole.masking import object_json, shown_value
    from trunkconsole.pjsip.system import load_asterisk

    directory = config_dir(args)
    if not directory.is_dir():
        echo(f"trunkconsole: {directory} is not a directory", file=sys.stderr)
        return 3
    from trunkconsole.pjsip import freepbx

    system = load_asterisk(directory)
    for loaded in system.loaded.values():  # what cut a load short (bounds, broken syntax)
        for issue in loaded.issues:
            if issue.level == IssueLevel.FATAL or issue.code == "unreadable":
                where = f"{issue.file}:{issue.line}" if issue.line else issue.file
                echo(f"trunkconsole: {where}: {issue.message}", file=sys.stderr)
    objects = [obj for obj in system.pjsip.objects
               if not args.object_type or obj.type == args.object_type]
    custom = freepbx.custom_values(list(system.documents.by_path.values()))

    def shown(name: str, value: str, file: str) -> str:
        return value if args.show_secrets else shown_value(name, value, file)

    if args.json:
        data = {
            "config_dir": str(directory),
            "objects": [object_json(obj, custom, shown) for obj in objects],
            "freepbx": custom is not None,
            "rtp": system.rtp.to_json(),
            "contexts": sorted(system.dialplan.contexts),
            "manager_users": [user.to_json() for user in system.manager.users.values()],
            "files": {name: {"found": conf.found, "valid": conf.valid, "files": conf.files}
                      for name, conf in system.loaded.items()},
        }
        echo(visible_json(data))
        return 0
    for obj in objects:
        state = "" if obj.loaded else "  (REJECTED: " + "; ".join(obj.rejected) + ")"
        origin = f"wizard {obj.wizard}, " if obj.wizard else ""
        echo(f"{obj.type} {obj.id}  ({origin}{obj.file}:{obj.line}){state}")
        for option in obj.options:
            if option.name.lower() == "type":
                continue
            value = shown(option.name, option.value, option.file)
            mark = f" ({freepbx.CUSTOM_MARK})" if custom and option.file in custom else ""
            echo(f"    {option.name} = {value}    ; {obj.describe(option)}{mark}")
        echo()
    rtp = system.rtp
    echo(f"rtp range {rtp.start}-{rtp.end}" + (" (default)" if rtp.defaulted else ""))
    return 0


def config_set(args: argparse.Namespace) -> int:
    """`config set TYPE NAME OPTION VALUE` (unchanged, exit 0, when it already is)."""
    from trunkconsole.changes.option import plan_option_set
    from trunkconsole.cli.apply import run_change
    from trunkconsole.cli.support import ami_target, settings_from_args
    from trunkconsole.masking import is_secret_option

    def plan() -> Any:
        name, option, value = _object_option_value(args)
        return plan_option_set(config_dir(args), args.object_type, name, option, value,
                               force=args.force)

    return run_change(
        args, plan,
        target=lambda: None if args.dry_run else ami_target(args),
        readonly=settings_from_args(args).readonly,
        secrets=[args.value] if is_secret_option(args.option) else [])


def _object_option_value(args: argparse.Namespace) -> tuple[str, str, str]:
    """NAME OPTION VALUE, or OPTION VALUE with the name found by --trunk-by-contact."""
    from trunkconsole.errors import OperatorError

    if args.trunk_by_contact is None:
        if args.value is None:
            raise OperatorError("config set needs TYPE NAME OPTION VALUE")
        return args.name, args.option, args.value
    if args.value is not None:
        raise OperatorError("with --trunk-by-contact, give TYPE OPTION VALUE (no NAME)")
    from trunkconsole.pjsip.trunk_lookup import trunk_by_contact, trunk_object

    trunk = trunk_by_contact(config_dir(args), args.trunk_by_contact)
    return trunk_object(config_dir(args), trunk, args.object_type), args.name, args.option


def check_command(args: argparse.Namespace) -> int:
    """Print every finding; the exit status says how bad it is."""
    from trunkconsole.cli.journal import journal_path
    from trunkconsole.cli.support import ami_target
    from trunkconsole.findings import Severity
    from trunkconsole.pjsip.check import CheckContext, CheckOptions, run_checks

    options = CheckOptions(
        since=args.since, listen=args.listen, live=not args.no_live,
        network=not args.no_network, logs=not args.no_logs, log_dir=args.log_dir,
        journal=None if args.no_journal else journal_path(args),
        journal_named=args.journal is not None)
    result = run_checks(CheckContext(config_dir=config_dir(args), options=options,
                                     ami_target=lambda: ami_target(args)))
    if args.json:
        echo(visible_json({"status": result.status, "unavailable": result.unavailable,
                           "findings": [finding.to_json() for finding in result.findings]}))
        return result.status
    ordered = sorted(result.findings, key=lambda f: -f.severity)
    for finding in ordered:
        echo(f"{finding.severity.name:8} {finding.code}: {finding.title}")
        for evidence in finding.evidence:
            where = evidence.location()
            echo(f"         {where + ': ' if where else ''}{evidence.text}")
        if finding.fix:
            echo(f"         fix: {finding.fix}")
    counts = {sev: sum(1 for f in result.findings if f.severity == sev) for sev in Severity}
    echo(f"{counts[Severity.CRITICAL]} critical, {counts[Severity.WARNING]} warnings, "
         f"{counts[Severity.INFO]} notes")
    return result.status
