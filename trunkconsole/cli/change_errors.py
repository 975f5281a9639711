"""A change command's errors outside run_change, as the change commands report them.

Kept apart from cli/apply so that main imports nothing heavy up front (`trunkconsole
--version` stays fast): the outcome is imported only when there is an error to report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trunkconsole.errors import OperatorError


def refused_outcome(args: argparse.Namespace, error: OperatorError) -> int | None:
    """A change command's error raised before run_change (settings, flags): with --json,
    the outcome object still carries it. None when this is no change command with --json."""
    if not (getattr(args, "change_command", False) and getattr(args, "json", False)):
        return None
    from trunkconsole.changes.outcome import ChangeOutcome
    from trunkconsole.cli.apply import finish

    outcome = ChangeOutcome(dry_run=getattr(args, "dry_run", False))
    outcome.refused(error)
    return finish(outcome, args, say_error=False)  # main printed it already


def change_usage_errors(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """A change command that argparse refuses (unknown flag, bad value) exits 3 (refused,
    nothing written), not argparse's 2, which for a change command means "the PBX may not
    be as it was"; with --json it prints its outcome object too."""
    from trunkconsole.cli.main import leaf_parsers

    if not isinstance(parser, argparse.ArgumentParser):
        return  # a stand-in parser has no change command to guard
    words = list(argv)
    for path, leaf in leaf_parsers(parser):
        if not leaf.get_default("change_command") or not _names(words, path):
            continue

        def error(message: str, leaf: argparse.ArgumentParser = leaf) -> None:
            from trunkconsole.changes.outcome import ChangeOutcome
            from trunkconsole.errors import OperatorError
            from trunkconsole.visible import echo

            leaf.print_usage(sys.stderr)
            echo(f"{leaf.prog}: error: {message}", file=sys.stderr)
            outcome = ChangeOutcome(dry_run="--dry-run" in words and
                                    "--dry-run" in leaf._option_string_actions)
            outcome.refused(OperatorError(f"{leaf.prog}: {message}",
                                          fix=f"see {leaf.prog} --help"))
            if "--json" in words:
                echo(outcome.dumps(), end="")
            sys.exit(outcome.exit_code())

        for refusing in (parser, leaf):
            setattr(refusing, "error", error)  # noqa: B010 (an instance's own error())
        return


def _names(words: list[str], path: tuple[str, ...]) -> bool:
    """Do the words name this subcommand path (its names in a row)?"""
    return any(tuple(words[i:i + len(path)]) == path for i in range(len(words)))
