"""Review and apply a ChangeSet from the command line: the CLI twin of the diff screen."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from trunkconsole.changes.apply import Applier, ApplyResult, Progress
from trunkconsole.changes.audit import mask_secrets, state_dir
from trunkconsole.changes.changeset import ChangeSet
from trunkconsole.changes.sip_logger import reasserter
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget


def add_apply_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every change command shares."""
    parser.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    parser.add_argument("--yes", action="store_true", help="apply without asking")
    parser.add_argument("--confirm-within", type=float, metavar="SECONDS",
                        help="dead-man apply: roll back unless confirmed within SECONDS")
    parser.add_argument("--state-dir", type=Path,
                        help="backups and audit log (default /var/lib/trunkconsole)")


def _yes(data: bytes) -> bool:
    return data.strip().lower() in (b"y", b"yes")


def _ask(prompt: str) -> bool:
    print(prompt, end=" ", flush=True)
    return _yes(os.read(sys.stdin.fileno(), 1024))


async def ask_within(prompt: str) -> bool:
    """Ask on stdin without a thread: a timeout (wait_for) cancels the wait and the process
    can exit; a blocked readline() in a worker thread would keep it alive forever."""
    print(prompt, end=" ", flush=True)
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        raise OperatorError("stdin is closed: nothing can confirm the change") from None
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(fd, 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not answer.done():
            answer.set_result(data)

    try:
        loop.add_reader(fd, readable)
    except (OSError, ValueError):  # a regular file: epoll refuses it, and it never blocks
        data = os.read(fd, 1024)
    else:
        try:
            data = await answer
        except asyncio.CancelledError:
            print()  # the prompt line stays unanswered
            raise
        finally:
            loop.remove_reader(fd)
    if not data:
        raise OperatorError("stdin reached its end: nothing can confirm the change")
    return _yes(data)


def _print_progress(progress: Progress) -> None:
    mark = "ok " if progress.ok else "FAIL"
    print(f"  [{mark}] {progress.step.value:9} {progress.detail}")


def review_and_apply(changeset: ChangeSet, args: argparse.Namespace, target: AmiTarget | None,
                     readonly: bool) -> int:
    """Print warnings and the diff; apply when asked to. Exit status 0 applied, 1 not
    applied (or rolled back), 2 not as it was (rollback refused, failed or unconfirmed)."""
    for note in changeset.notes:
        print(f"warning: {note}")
    print(mask_secrets(changeset.diff()), end="")
    if args.dry_run:
        print("(dry run: nothing changed)")
        return 0
    if readonly:
        raise OperatorError("read-only mode: refusing to change anything")
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise OperatorError("not applied: no terminal to confirm on",
                                fix="review the diff above, then run again with --yes")
        if not _ask("Apply this change? [y/N]"):
            print("not applied")
            return 1
    result = asyncio.run(_apply(changeset, args, target, readonly))
    print(result.summary())
    if result.backup_dir:
        print(f"backup: {result.backup_dir}")
    if result.applied:
        return 0
    # 2: the PBX may not be as it was (rollback refused, failed, or not shown to be live)
    clean = result.rolled_back and not result.live_unconfirmed
    return 1 if clean else 2


async def _apply(changeset: ChangeSet, args: argparse.Namespace, target: AmiTarget | None,
                 readonly: bool) -> ApplyResult:
    from trunkconsole.ami.oneshot import ami_session

    async def confirm() -> bool:
        return await ask_within(
            f"Keep this change? [y/N] (rolled back in {args.confirm_within:.0f} s)")

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
