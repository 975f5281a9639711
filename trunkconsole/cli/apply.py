"""Review and apply a ChangeSet from the command line: the CLI twin of the diff screen.

Every change command runs through run_change: it plans, says "unchanged" (exit 0) when
the desired state already holds, prints the diff or the JSON outcome, applies with the
engine and reports its steps. `--dry-run` is check mode: exit 0, saying whether it would
change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from trunkconsole.changes.apply import Applier, ApplyResult, Progress, Step
from trunkconsole.changes.changeset import ChangeSet, Unchanged, Verifier
from trunkconsole.changes.outcome import ChangeOutcome, note_finding
from trunkconsole.changes.sip_logger import reasserter
from trunkconsole.errors import OperatorError
from trunkconsole.masking import mask_secrets
from trunkconsole.private import state_dir
from trunkconsole.settings import AmiTarget
from trunkconsole.visible import echo


def run_change(args: argparse.Namespace, plan: Callable[[], ChangeSet], *,
               target: Callable[[], AmiTarget | None], readonly: bool,
               secrets: Sequence[str] = ()) -> int:
    """Plan, then review and apply; exit 0 applied/unchanged/dry run, 1 not applied, 2 not
    as it was, 3 refused. With --json, stdout carries only the outcome object, whatever
    happens (progress goes to stderr)."""
    outcome = ChangeOutcome(dry_run=args.dry_run, secrets=list(secrets))
    try:
        try:
            changeset = plan()
        except Unchanged as done:
            outcome.already(done)
            if not args.dry_run and done.verify is not None:
                _verify_unchanged(outcome, done.verify, target)
            return finish(outcome, args)
        return review_and_apply(changeset, args, target, readonly, outcome)
    except OperatorError as exc:
        if not getattr(args, "json", False):
            raise
        # Refused after the plan (AMI down, no --yes): the check before the write failed.
        outcome.refused(exc, Step.CHECK if outcome.change else Step.PLAN)
        return finish(outcome, args)


def finish(outcome: ChangeOutcome, args: argparse.Namespace, *, say_error: bool = True) -> int:
    """Print the outcome (the JSON object, or the "unchanged" lines); its exit status.
    With --json a refusal is also one plain line on stderr (secrets masked), so a
    playbook's stderr says why without unpacking the JSON."""
    if getattr(args, "json", False):
        data = outcome.to_json()
        echo(json.dumps(data, indent=2) + "\n", end="")
        error = data["error"]
        if error is not None and say_error:
            echo("trunkconsole: " + "\n  ".join(
                [error["what"]] + [f"{k}: {error[k]}" for k in ("evidence", "fix") if error[k]]),
                file=sys.stderr)
    elif outcome.unchanged:
        echo(f"unchanged: {outcome.change}")
        for step in outcome.steps:
            echo(f"  {step.detail}")
        for finding in outcome.findings:
            echo(f"warning: {finding.title}")
    return outcome.exit_code()


def _verify_unchanged(outcome: ChangeOutcome, verify: Verifier,
                      target: Callable[[], AmiTarget | None]) -> None:
    """Unchanged on disk: does live Asterisk hold it too? (A pending reload may not.)"""
    from trunkconsole.ami.oneshot import ami_session

    async def check(address: AmiTarget) -> None:
        async with ami_session(address) as ami:
            verdict = await verify(ami)
        outcome.steps.append(Progress(Step.VERIFY, verdict.ok, verdict.detail))
        outcome.verified = verdict.ok
        if not verdict.ok:
            outcome.findings.append(note_finding(
                f"the config already holds it, but live Asterisk does not: {verdict.detail} "
                "(a reload pending, or Asterisk rejected the object: see its log)"))

    try:
        address = target()
        if address is not None:
            asyncio.run(check(address))
    except OperatorError as exc:
        outcome.steps.append(Progress(Step.VERIFY, False, f"not checked live: {exc.what}"))
        outcome.findings.append(note_finding(f"not checked against live Asterisk: {exc.what}"))


def _yes(data: bytes) -> bool:
    return data.strip().lower() in (b"y", b"yes")


def _ask(prompt: str) -> bool:
    echo(prompt, end=" ", flush=True)
    return _yes(os.read(sys.stdin.fileno(), 1024))


async def ask_within(prompt: str) -> bool:
    """Ask on stdin without a thread: a timeout (wait_for) cancels the wait and the process
    can exit; a blocked readline() in a worker thread would keep it alive forever."""
    echo(prompt, end=" ", flush=True)
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
            echo()  # the prompt line stays unanswered
            raise
        finally:
            loop.remove_reader(fd)
    if not data:
        raise OperatorError("stdin reached its end: nothing can confirm the change")
    return _yes(data)


def _print_progress(progress: Progress, stream: TextIO) -> None:
    mark = "ok " if progress.ok else "FAIL"
    echo(f"  [{mark}] {progress.step.value:9} {progress.detail}", file=stream, flush=True)


def review_and_apply(changeset: ChangeSet, args: argparse.Namespace,
                     target: Callable[[], AmiTarget | None], readonly: bool,
                     outcome: ChangeOutcome) -> int:
    """Print warnings and the diff (or the JSON outcome); apply when asked to. Exit status
    0 applied, 1 not applied (or rolled back), 2 not as it was (rollback refused, failed or
    unconfirmed)."""
    as_json = getattr(args, "json", False)
    outcome.planned(changeset)
    if not as_json:
        for note in changeset.notes:
            echo(f"warning: {note}")
        echo(mask_secrets(changeset.diff()), end="")
    if args.dry_run:
        outcome.steps.append(Progress(Step.PLAN, True, "dry run: would change "
                                      + ", ".join(str(c.path) for c in changeset.changes)))
        if not as_json:
            echo("(dry run: would change; nothing changed)")
        return finish(outcome, args)
    if readonly:
        raise OperatorError("read-only mode: refusing to change anything")
    if as_json and not args.yes:
        raise OperatorError("not applied: --json needs --yes to apply (or --dry-run to check)")
    if as_json and args.confirm_within:
        raise OperatorError("--confirm-within needs a person at a terminal, not --json",
                            fix="drop --confirm-within; the change is still verified and "
                            "rolled back by itself when Asterisk does not take it")
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise OperatorError("not applied: no terminal to confirm on",
                                fix="review the diff above, then run again with --yes")
        if not _ask("Apply this change? [y/N]"):
            echo("not applied")
            outcome.changed = False
            return EXIT_DECLINED
    seen: list[Progress] = []
    try:
        result = asyncio.run(_apply(changeset, args, target(), readonly, seen, as_json))
    except OperatorError:
        outcome.steps += seen
        outcome.backup = _backup_of(seen)
        raise
    outcome.applied(result)
    if not as_json:
        echo(result.summary())
        if result.backup_dir:
            echo(f"backup: {result.backup_dir}")
    return finish(outcome, args)


EXIT_DECLINED = 1


def _backup_of(steps: list[Progress]) -> str | None:
    """The backup folder an interrupted apply reported, if it got that far."""
    prefix = "originals saved in "
    return next((p.detail[len(prefix):] for p in steps
                 if p.step is Step.BACKUP and p.detail.startswith(prefix)), None)


async def _apply(changeset: ChangeSet, args: argparse.Namespace, target: AmiTarget | None,
                 readonly: bool, seen: list[Progress], quiet: bool) -> ApplyResult:
    from trunkconsole.ami.oneshot import ami_session

    def progress(step: Progress) -> None:
        seen.append(step)
        _print_progress(step, sys.stderr if quiet else sys.stdout)

    async def confirm() -> bool:
        return await ask_within(
            f"Keep this change? [y/N] (rolled back in {args.confirm_within:.0f} s)")

    root = state_dir(args.state_dir)
    if target is None:
        return await Applier(None, root, readonly=readonly,
                             on_progress=progress).apply(changeset)
    async with ami_session(target) as ami:
        applier = Applier(ami, root, readonly=readonly, on_progress=progress,
                          after_reload=reasserter(target.address),
                          fresh_ami=lambda: ami_session(target))
        return await applier.apply(
            changeset, confirm=confirm if args.confirm_within else None,
            confirm_within=args.confirm_within)
