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
from collections.abc import Callable, Sequence
from pathlib import Path

from trunkconsole import __version__
from trunkconsole.errors import OperatorError
from trunkconsole.visible import echo, make_logging_visible

# Modules that add subcommands: each defines register(subparsers) and imports its
# heavy dependencies only inside the handler.
COMMAND_MODULES: tuple[str, ...] = (
    "trunkconsole.lab.commands",
    "trunkconsole.ami.commands",
    "trunkconsole.pjsip.commands",
    "trunkconsole.changes.logger_commands",
    "trunkconsole.changes.identify_commands",
    "trunkconsole.changes.trunk_commands",
    "trunkconsole.changes.unban_commands",
    "trunkconsole.net.commands",
    "trunkconsole.diagnose.commands",
    "trunkconsole.logs.commands",
    "trunkconsole.journal.commands",
    "trunkconsole.bundle.commands",
    "trunkconsole.calls.commands",
)

Handler = Callable[[argparse.Namespace], int]


def add_ami_arguments(parser: argparse.ArgumentParser) -> None:
    """AMI target flags, shared by the TUI and every command that talks to Asterisk."""
    group = parser.add_argument_group("AMI target (default: config.yaml, else 127.0.0.1:5038)")
    group.add_argument("--host", help="AMI host")
    group.add_argument("--port", type=int, help="AMI port")
    group.add_argument("--username", help="AMI user (manager.conf section)")
    group.add_argument(
        "--secret-file",
        type=Path,
        help="file holding the AMI secret (or set $TRUNKCONSOLE_AMI_SECRET)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        help="Asterisk configuration directory (default /etc/asterisk)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="trunkconsole",
        allow_abbrev=False,  # `--secret X` must not pass as an abbreviated --secret-file
        description="See and fix SIP trunks on this Asterisk PBX. "
        "With no subcommand, opens the console.",
    )
    parser.add_argument("--version", action="version", version=f"trunkconsole {__version__}")
    add_ami_arguments(parser)
    parser.add_argument("--readonly", action="store_true", default=None,
                        help="refuse every write (config, reload, logger)")
    parser.add_argument("--no-mouse", dest="mouse", action="store_false", default=None,
                        help="leave the mouse to the terminal (native text selection)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
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
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", run_tui)
    try:
        code = handler(args)
    except OperatorError as exc:
        echo(f"trunkconsole: {exc.render()}", file=sys.stderr)
        code = getattr(exc, "exit_code", 3)
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
    sys.exit(code)
