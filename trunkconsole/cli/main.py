"""Command-line entry: `trunkconsole [SUBCOMMAND]`.

Every TUI action has a CLI twin here, calling the same core function. Subcommands live in
their own modules (`register(subparsers)`), and this module imports none of Textual, AMI
or nftables code up front, so `trunkconsole --version` and scripted twins start fast
(bench/startup.py measures it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trunkconsole import __version__
from trunkconsole.errors import OperatorError
from trunkconsole.visible import echo, make_logging_visible, visible_lines

# Modules that add subcommands: each defines register(subparsers) and imports its
# heavy dependencies only inside the handler.
COMMAND_MODULES: tuple[str, ...] = (
    "trunkconsole.cli.lab",
    "trunkconsole.cli.status",
    "trunkconsole.cli.config",
    "trunkconsole.cli.logger",
    "trunkconsole.cli.identify",
    "trunkconsole.cli.trunk",
    "trunkconsole.cli.unban",
    "trunkconsole.cli.firewall",
    "trunkconsole.cli.troubleshoot",
    "trunkconsole.cli.logs",
    "trunkconsole.cli.journal",
    "trunkconsole.cli.bundle",
    "trunkconsole.cli.calls",
)

Handler = Callable[[argparse.Namespace], int]

if TYPE_CHECKING:
    from _typeshed import SupportsWrite


def port_number(text: str) -> int:
    """--port: 1-65535."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def add_common_arguments(parser: argparse.ArgumentParser, *, suppress: bool = True) -> None:
    """The flags that mean the same before or after any subcommand: AMI target, Asterisk
    config directory, read-only.

    Every subcommand gets them with SUPPRESS defaults: argparse copies a subparser's
    defaults over the top-level namespace (`trunkconsole --port 9 status` lost its port to
    status's own default None), and an absent SUPPRESS flag copies nothing. A subcommand
    may declare one itself only with the same dest and a SUPPRESS default; anything else
    is a second meaning for the flag and stops the parser from being built.
    """
    default = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group(
        "AMI target and configuration (the same before or after the subcommand; default: "
        "config.yaml, else 127.0.0.1:5038 and /etc/asterisk)")
    flags: list[tuple[str, dict[str, Any]]] = [
        ("--host", {"help": "AMI host"}),
        ("--port", {"type": port_number, "help": "AMI port"}),
        ("--username", {"help": "AMI user (manager.conf section)"}),
        ("--secret-file", {"type": Path, "help": "file holding the AMI secret (or set "
                                                 "$TRUNKCONSOLE_AMI_SECRET)"}),
        ("--config-dir", {"type": Path, "help": "Asterisk configuration directory (default "
                          "/etc/asterisk); without a secret, AMI credentials come from its "
                          "manager.conf"}),
        ("--readonly", {"action": "store_true",
                        "help": "refuse every write (config, reload, logger)"}),
    ]
    for flag, options in flags:
        dest = flag.lstrip("-").replace("-", "_")
        existing = parser._option_string_actions.get(flag)
        if existing is not None:
            if existing.dest != dest or existing.default is not argparse.SUPPRESS:
                raise ValueError(f"{parser.prog}: {flag} must be the common flag (dest "
                                 f"{dest}, default SUPPRESS), not a meaning of its own")
            continue
        group.add_argument(flag, default=default, **options)


# Kept for callers that want the AMI flags on a parser of their own.
add_ami_arguments = add_common_arguments


def leaf_parsers(parser: argparse.ArgumentParser,
                 path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...],
                                                         argparse.ArgumentParser]]:
    """Every runnable subcommand: (path of names, its parser)."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []
    subactions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subactions:
        return [(path, parser)]
    seen: set[int] = set()
    for action in subactions:
        for name, sub in action.choices.items():
            if id(sub) not in seen:
                seen.add(id(sub))
                found += leaf_parsers(sub, (*path, name))
    return found


class VisibleParser(argparse.ArgumentParser):
    """argparse quotes a bad value with repr() in most errors but not in "unrecognized
    arguments: ...": a typed (or pasted) ESC sequence reached the terminal raw. Every
    message it prints (usage, help, errors) goes through visible_lines; subcommands'
    parsers are of the same class (add_subparsers' parser_class)."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            (file or sys.stderr).write(visible_lines(message))


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every subcommand registered."""
    parser = VisibleParser(
        prog="trunkconsole",
        allow_abbrev=False,  # `--secret X` must not pass as an abbreviated --secret-file
        description="See and fix SIP trunks on this Asterisk PBX. "
        "With no subcommand, opens the console.",
    )
    parser.add_argument("--version", action="version", version=f"trunkconsole {__version__}")
    add_common_arguments(parser, suppress=False)
    parser.add_argument("--no-mouse", dest="mouse", action="store_false", default=None,
                        help="leave the mouse to the terminal (native text selection)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    for _path, leaf in leaf_parsers(parser):
        add_common_arguments(leaf)
    return parser


def run_tui(args: argparse.Namespace) -> int:
    """Open the console (imports Textual only now)."""
    from trunkconsole.settings import resolve_settings

    settings = resolve_settings(
        host=args.host,
        port=args.port,
        username=args.username,
        secret_file=args.secret_file,
        asterisk_dir=args.config_dir,
        readonly=args.readonly,
        mouse=args.mouse,
    )
    from trunkconsole.tui.app import run_app

    return run_app(settings)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    make_logging_visible()
    parser = build_parser()
    from trunkconsole.cli.change_errors import change_usage_errors, refused_outcome

    change_usage_errors(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", run_tui)
    try:
        code = handler(args)
    except OperatorError as exc:
        echo(f"trunkconsole: {exc.render()}", file=sys.stderr)
        outcome = refused_outcome(args, exc)  # a change command's --json object
        code = getattr(exc, "exit_code", 3) if outcome is None else outcome
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `trunkconsole ... | head`: the reader left, as with any tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    except (MemoryError, RecursionError) as exc:
        # The parsers bound their input; this is the last line, never a traceback.
        what = "memory" if isinstance(exc, MemoryError) else "stack (input nested too deep)"
        echo(f"trunkconsole: ran out of {what} while reading the input; nothing was changed",
             file=sys.stderr)
        code = 3
    except OSError as exc:  # a path or socket the input named that no check foresaw
        where = f" {exc.filename}" if exc.filename else ""
        echo(f"trunkconsole: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        refused_outcome(args, OperatorError(f"cannot use{where}: {exc.strerror or exc}"))
        code = 3
    except Exception as exc:  # the last line: a bug, said in one line, never a traceback
        echo(f"trunkconsole: internal error: {type(exc).__name__}: {str(exc)[:500]}\n"
             "  fix: this is a bug in trunkconsole; TRUNKCONSOLE_DEBUG=1 prints the traceback "
             "to report", file=sys.stderr)
        if os.environ.get("TRUNKCONSOLE_DEBUG"):
            echo(traceback.format_exc(), file=sys.stderr)
        refused_outcome(args, OperatorError(
            f"internal error: {type(exc).__name__}: {str(exc)[:500]}"))
        code = 70
    sys.exit(code)
