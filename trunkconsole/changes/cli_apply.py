"""Review and apply a ChangeSet from the command line: the CLI twin of the diff screen."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from trunkconsole.changes.apply import Applier, ApplyResult, Progress
from trunkconsole.changes.audit import state_dir
from trunkconsole.changes.changeset import ChangeSet
from trunkconsole.changes.sip_logger import reasserter
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget
from trunkconsole.visible import echo


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every change command shares."""
    parser.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    parser.add_argument("--yes", action="store_true", help="apply without asking")
    parser.add_argument("--confirm-within", type=float, metavar="SECONDS",
                        help="dead-man apply: roll back unless confirmed within SECONDS")
    parser.add_argument("--state-dir", type=Path,
                        help="backups and audit log (default /var/lib/trunkconsole)")


def _ask(prompt: str) -> bool:
    echo(prompt, end=" ", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _print_progress(progress: Progress) -> None:
    mark = "ok " if progress.ok else "FAIL"
    echo(f"  [{mark}] {progress.step.value:9} {progress.detail}")


def review_and_apply(changeset: ChangeSet, args: argparse.Namespace, target: AmiTarget | None,
                     readonly: bool) -> int:
    """Print warnings and the diff; apply when asked to. Exit status 0 applied, 1 not."""
    for note in changeset.notes:
        echo(f"warning: {note}")
    echo(changeset.diff(), end="")
    if args.dry_run:
        echo("(dry run: nothing changed)")
        return 0
    if readonly:
        raise OperatorError("read-only mode: refusing to change anything")
    if not args.yes:
        if not sys.stdin.isatty():
            raise OperatorError("not applied: no terminal to confirm on",
                                fix="review the diff above, then run again with --yes")
        if not _ask("Apply this change? [y/N]"):
            echo("not applied")
            return 1
    result = asyncio.run(_apply(changeset, args, target, readonly))
    echo(result.summary())
    if result.backup_dir:
        echo(f"backup: {result.backup_dir}")
    return 0 if result.applied else 1


async def _apply(changeset: ChangeSet, args: argparse.Namespace, target: AmiTarget | None,
                 readonly: bool) -> ApplyResult:
    from trunkconsole.ami.oneshot import ami_session

    async def confirm() -> bool:
        return await asyncio.to_thread(
            _ask, f"Keep this change? [y/N] (rolled back in {args.confirm_within:.0f} s)")

    root = state_dir(args.state_dir)
    if target is None:
        return await Applier(None, root, readonly=readonly,
                             on_progress=_print_progress).apply(changeset)
    async with ami_session(target) as ami:
        applier = Applier(ami, root, readonly=readonly, on_progress=_print_progress,
                          after_reload=reasserter(target.address))
        return await applier.apply(
            changeset, confirm=confirm if args.confirm_within else None,
            confirm_within=args.confirm_within)
