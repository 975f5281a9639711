"""Apply a ChangeSet: check, back up, write, reload, verify, and roll back on failure.

"Module Reloaded" does not mean Asterisk accepted the config: parse errors and rejected
objects are only logged and the old objects are kept (reference §4.3, §5.2). So every
change is verified against live state, and undone when the verification fails, errors or
gets no answer, or when a dead-man confirmation does not come in time (like `netplan
try`). Every attempt that got past the read-only check is audited, whatever its end.

A rollback never overwrites somebody else's work: a file edited after our write (during
a dead-man window, say) is left as it is, and the report says so, like the check before
the write does.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from trunkconsole.changes import files
from trunkconsole.changes.audit import Backup, append_audit, audit_writable, backup_files
from trunkconsole.changes.changeset import AmiActions, ChangeSet, FileChange, Verdict
from trunkconsole.errors import OperatorError

# One reload, one verification, one rollback reload: each gets this long. AMI actions
# time out by themselves (10 s); this also bounds a verifier that sends several.
STEP_TIMEOUT = 15.0
T = TypeVar("T")


class Step(enum.Enum):
    PLAN = "plan"  # reading the config and the request, before anything is touched
    CHECK = "check"
    BACKUP = "backup"
    WRITE = "write"
    RELOAD = "reload"
    VERIFY = "verify"
    CONFIRM = "confirm"
    ROLLBACK = "rollback"
    DONE = "done"


@dataclass(frozen=True)
class Progress:
    step: Step
    ok: bool
    detail: str


@dataclass
class ApplyResult:
    applied: bool
    rolled_back: bool = False  # the original files are back, byte for byte
    reason: str = ""
    backup_dir: Path | None = None
    audit_log: Path | None = None
    progress: list[Progress] = field(default_factory=list)
    # Rolled back but Asterisk could not be reloaded or shown to run the originals again.
    live_unconfirmed: str = ""
    # Not rolled back because a file changed after our write: why.
    rollback_refused: str = ""

    @property
    def verified(self) -> bool:
        """A verification against live state ran and passed."""
        return any(p.step is Step.VERIFY and p.ok for p in self.progress)

    def summary(self) -> str:
        if self.applied:
            return APPLIED if self.verified else APPLIED_UNVERIFIED
        if self.rollback_refused:
            return f"NOT rolled back: {self.rollback_refused} (the change failed: {self.reason})"
        if self.rolled_back and self.live_unconfirmed:
            return (f"rolled back in the files, but {self.live_unconfirmed}: {self.reason}")
        if self.rolled_back:
            return f"rolled back: {self.reason}"
        if self.progress and any(p.step is Step.ROLLBACK for p in self.progress):
            return f"ROLLBACK FAILED, copy the originals back from {self.backup_dir}: " \
                f"{self.reason}"
        return f"not applied: {self.reason}"


Confirm = Callable[[], Awaitable[bool]]
# manager.c checks the user's write classes (Reload: system or config) before it runs the
# action; this answer means Asterisk did not reload (seen from Asterisk 22.10).
DENIED = "Permission denied"
APPLIED = "applied and verified"
APPLIED_UNVERIFIED = "applied; not verified live (nothing to compare it with)"


class Applier:
    """Runs ChangeSets; the one place that writes configs and triggers reloads."""

    def __init__(self, ami: AmiActions | None, state_root: Path, *, readonly: bool = False,
                 on_progress: Callable[[Progress], None] = lambda _p: None,
                 after_reload: Callable[[AmiActions], Awaitable[object]] | None = None,
                 step_timeout: float = STEP_TIMEOUT,
                 fresh_ami: Callable[[], AbstractAsyncContextManager[AmiActions]] | None
                 = None) -> None:
        self.ami = ami
        # opens another logged-in session, for a rollback whose session went silent
        self._fresh_ami = fresh_ami
        self.state_root = state_root
        self.readonly = readonly
        self.step_timeout = step_timeout
        self._on_progress = on_progress
        # e.g. put the SIP logger back: a reload may re-apply [global] debug= from pjsip.conf
        self._after_reload = after_reload
        self._written: list[FileChange] = []
        self._reloaded = False

    async def apply(self, changeset: ChangeSet, *, confirm: Confirm | None = None,
                    confirm_within: float | None = None) -> ApplyResult:
        """Apply; on any failure after writing, restore the originals and reload again."""
        result = ApplyResult(applied=False)
        if self.readonly:
            raise OperatorError("read-only mode: refusing to change anything",
                                fix="start without --readonly (and without readonly: true "
                                "in config.yaml) to apply changes")
        if changeset.empty and not changeset.host_steps:
            raise OperatorError("nothing to apply: the change leaves every file as it is")
        if changeset.reloads and self.ami is None:
            raise OperatorError("this change needs a reload, and AMI is not connected")
        self._written, self._reloaded = [], False
        try:
            self._check(changeset, result)
            audit_writable(self.state_root)
            backups = backup_files([c.before for c in changeset.changes], self.state_root)
            result.backup_dir = backups[0].copy.parent if backups else None
            self._report(result, Step.BACKUP, True, f"originals saved in {result.backup_dir}")
            await self._attempt(changeset, backups, confirm, confirm_within, result)
        except BaseException as exc:
            if not result.reason:
                result.reason = _describe(exc)
            self._audit(changeset, result)
            raise
        self._audit(changeset, result)
        return result

    async def _attempt(self, changeset: ChangeSet, backups: list[Backup],
                       confirm: Confirm | None, confirm_within: float | None,
                       result: ApplyResult) -> None:
        try:
            await self._write_reload_verify(changeset, result)
            if confirm_within is not None:
                await self._dead_man(confirm, confirm_within, result)
        except _Undo as undo:
            await self._rollback(changeset, backups, undo.reason, result)
        except Exception as exc:  # any failure after the write: the change must not stay
            self._report(result, Step.DONE, False, _describe(exc))
            await self._rollback(changeset, backups, _describe(exc), result)
        except BaseException:  # Ctrl-C or a cancelled task: undo first, then stop
            await self._rollback(changeset, backups, "interrupted", result)
            raise
        else:
            result.applied = True
            self._report(result, Step.DONE, True, result.summary())

    def _audit(self, changeset: ChangeSet, result: ApplyResult) -> None:
        """One audit line per attempt. The log was writable before the write (checked);
        if it fails now (disk full since), the result still tells what happened to the
        files (a live change is not reported as refused) and names the failure as a step."""
        try:
            result.audit_log = append_audit(self.state_root, {
                "change": changeset.title, "files": [str(c.path) for c in changeset.changes],
                "diff": changeset.diff(), "result": result.summary(),
                "backup": str(result.backup_dir),
                "steps": [f"{p.step.value} {'ok' if p.ok else 'FAIL'}: {p.detail}"
                          for p in result.progress],
            })
        except OperatorError as exc:
            self._report(result, Step.DONE, False, f"audit log not written: {exc.what}")

    # -- steps ----------------------------------------------------------------------
    def _check(self, changeset: ChangeSet, result: ApplyResult) -> None:
        for change in changeset.changes:
            if not files.unchanged_since(change.before):
                self._report(result, Step.CHECK, False, f"{change.path} changed on disk")
                result.reason = f"{change.path} changed on disk since trunkconsole read it"
                raise OperatorError(
                    result.reason,
                    evidence="someone or something else edited it meanwhile",
                    fix="their version wins: nothing was written; review the change again "
                    "on the current file",
                )
            try:
                files.check_replaceable(change.before)
            except OperatorError as exc:
                self._report(result, Step.CHECK, False, exc.what)
                result.reason = exc.what
                raise
        self._report(result, Step.CHECK, True, "files unchanged since read")

    async def _write_reload_verify(self, changeset: ChangeSet, result: ApplyResult) -> None:
        for change in changeset.changes:
            try:
                files.replace_file(change.path, change.after, change.before,
                                   expect=change.before.sha256 if change.before.exists
                                   else None)
            except OperatorError as exc:
                self._report(result, Step.WRITE, False, exc.what)
                raise _Undo(exc.what) from exc
            self._written.append(change)
            self._report(result, Step.WRITE, True, str(change.path))
        await self._reload(changeset, result)
        await self._host_steps(changeset, result, rollback=False)
        if changeset.host_verify is not None:
            try:
                verdict = await self._bounded(changeset.host_verify())
            except TimeoutError:
                verdict = Verdict(False, f"no answer within {self.step_timeout:.0f} s")
            self._report(result, Step.VERIFY, verdict.ok, verdict.detail)
            if not verdict.ok:
                raise _Undo(f"verification failed: {verdict.detail}")
        if changeset.verify is not None:
            assert self.ami is not None
            try:
                verdict = await self._bounded(changeset.verify(self.ami))
            except TimeoutError:
                detail = f"Asterisk did not answer within {self.step_timeout:.0f} s"
                self._report(result, Step.VERIFY, False, detail)
                raise _Undo(f"verification failed: {detail}") from None
            except Exception as exc:
                self._report(result, Step.VERIFY, False, _describe(exc))
                raise _Undo(f"verification failed: {_describe(exc)}") from exc
            self._report(result, Step.VERIFY, verdict.ok, verdict.detail)
            if not verdict.ok:
                raise _Undo(f"verification failed: {verdict.detail}")

    async def _bounded(self, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, self.step_timeout)

    async def _reload(self, changeset: ChangeSet, result: ApplyResult) -> None:
        for module in changeset.reloads:
            assert self.ami is not None
            before, self._reloaded = self._reloaded, True  # Asterisk may run the change now
            try:
                reply = await self._bounded(
                    self.ami.action({"Action": "Reload", "Module": module}))
            except TimeoutError:
                detail = f"no answer within {self.step_timeout:.0f} s"
                self._report(result, Step.RELOAD, False, f"{module}: {detail}")
                raise _Undo(f"reload of {module} failed: {detail}") from None
            except Exception as exc:
                self._report(result, Step.RELOAD, False, f"{module}: {_describe(exc)}")
                raise _Undo(f"reload of {module} failed: {_describe(exc)}") from exc
            message = str(reply.get("Message", "") if hasattr(reply, "get") else "")
            ok = message == "Module Reloaded"
            self._report(result, Step.RELOAD, ok, f"{module}: {message or 'no answer'}")
            if message == DENIED:  # refused before the action ran: nothing was reloaded
                self._reloaded = before
                raise _Undo(f"reload of {module} refused: {message} (the AMI user needs "
                            "write=system or write=config in manager.conf)")
            if not ok:
                raise _Undo(f"reload of {module} refused: {message}")
        if changeset.reloads and self._after_reload is not None:
            assert self.ami is not None
            try:
                if await self._bounded(self._after_reload(self.ami)):
                    self._report(result, Step.RELOAD, True,
                                 "SIP logger put back after the reload")
            except Exception as exc:  # the logger is not the change: say it, go on
                self._report(result, Step.RELOAD, False,
                             f"SIP logger not put back: {_describe(exc)}")

    async def _host_steps(self, changeset: ChangeSet, result: ApplyResult, *,
                          rollback: bool) -> None:
        for step in changeset.host_steps:
            if rollback and not step.again_on_rollback:
                continue
            self._reloaded = self._reloaded or step.again_on_rollback
            try:
                verdict = await self._bounded(step.run())
            except TimeoutError:
                verdict = Verdict(False, f"no answer within {self.step_timeout:.0f} s")
            except OperatorError as exc:
                verdict = Verdict(False, exc.what)
            self._report(result, Step.RELOAD, verdict.ok, f"{step.name}: {verdict.detail}")
            if not verdict.ok:
                raise _Undo(f"{step.name} failed: {verdict.detail}")

    async def _dead_man(self, confirm: Confirm | None, within: float,
                        result: ApplyResult) -> None:
        self._report(result, Step.CONFIRM, True, f"waiting {within:.0f} s for confirmation")
        if confirm is None:
            raise _Undo("no way to confirm was offered")
        try:
            confirmed = await asyncio.wait_for(confirm(), within)
        except TimeoutError:
            self._report(result, Step.CONFIRM, False, f"not confirmed within {within:.0f} s")
            raise _Undo(f"not confirmed within {within:.0f} s") from None
        except Exception as exc:
            self._report(result, Step.CONFIRM, False, _describe(exc))
            raise _Undo(f"not confirmed: {_describe(exc)}") from exc
        if not confirmed:
            self._report(result, Step.CONFIRM, False, "the operator declined")
            raise _Undo("the operator declined")
        self._report(result, Step.CONFIRM, True, "confirmed")

    async def _rollback(self, changeset: ChangeSet, backups: list[Backup], reason: str,
                        result: ApplyResult) -> None:
        result.reason = reason
        written = list(self._written)
        edited = [c for c in written if not files.is_content(c.path, files.digest(c.after))]
        if edited:
            names = ", ".join(str(c.path) for c in edited)
            result.rollback_refused = (
                f"{names} changed on disk after trunkconsole wrote it; restoring the "
                "original would destroy that edit")
            self._report(result, Step.ROLLBACK, False,
                         f"{result.rollback_refused}: every file is left as it is now, "
                         f"the change included; originals in {result.backup_dir}")
            return
        by_path = {b.original: b for b in backups}
        failures = []
        for change in written:
            backup = by_path.get(change.path)
            try:
                if backup is not None and not backup.existed:
                    files.remove_file(change.real_path)
                else:
                    files.replace_file(change.path, change.before.content, change.before,
                                       expect=files.digest(change.after))
            except OperatorError as exc:
                failures.append(exc.what)
        restored = not failures and all(
            files.is_content(c.path, c.before.sha256 if c.before.exists else None)
            for c in written)
        if not restored:
            self._report(result, Step.ROLLBACK, False,
                         "ORIGINALS NOT RESTORED: copy them back from "
                         f"{result.backup_dir}" + (f" ({'; '.join(failures)})" if failures
                                                   else ""))
            return
        result.rolled_back = True
        self._report(result, Step.ROLLBACK, True, "original files restored byte for byte"
                     if written else "nothing had been written")
        if not self._reloaded:
            return
        await self._reload_restored(changeset, result)

    async def _reload_restored(self, changeset: ChangeSet, result: ApplyResult) -> None:
        failure = await self._reload_and_verify_restored(changeset, result)
        if failure is not None and self._fresh_ami is not None and changeset.reloads:
            # A silent session is not yet a silent Asterisk (a wedged manager thread, a
            # connection a middlebox dropped): one fresh session gets its own chance.
            self._report(result, Step.ROLLBACK, False,
                         f"{failure}; trying again over a fresh AMI session")
            failure = await self._on_fresh_session(changeset, result)
        if failure is not None:
            result.live_unconfirmed = failure
            self._report(result, Step.ROLLBACK, False, failure)

    async def _reload_and_verify_restored(self, changeset: ChangeSet,
                                          result: ApplyResult) -> str | None:
        """Reload the restored files and check live state: None when both worked, else
        what could not be confirmed."""
        modules = ", ".join(changeset.reloads)
        try:
            await self._reload(changeset, result)
            await self._host_steps(changeset, result, rollback=True)
        except _Undo as undo:
            return (f"Asterisk may still run the change (reload failed: {undo.reason}); run "
                    f"`asterisk -rx 'module reload {modules}'`" if changeset.reloads else
                    f"the reload after the restore failed too: {undo.reason}")
        if changeset.verify_restored is not None and self.ami is not None:
            try:
                verdict = await self._bounded(changeset.verify_restored(self.ami))
            except TimeoutError:
                return (f"Asterisk did not answer within {self.step_timeout:.0f} s after "
                        "the restore")
            except Exception as exc:
                return f"live state unknown: {_describe(exc)}"
            if not verdict.ok:
                result.live_unconfirmed = f"live state differs: {verdict.detail}"
            self._report(result, Step.ROLLBACK, verdict.ok,
                         f"live state after restore: {verdict.detail}")
        elif changeset.reloads:
            self._report(result, Step.ROLLBACK, True, "Asterisk reloaded with the originals")
        elif any(s.again_on_rollback for s in changeset.host_steps):
            self._report(result, Step.ROLLBACK, True, "reloaded with the originals")
        return None

    async def _on_fresh_session(self, changeset: ChangeSet, result: ApplyResult) -> str | None:
        assert self._fresh_ami is not None
        modules = ", ".join(changeset.reloads)
        saved = self.ami
        try:
            async with contextlib.AsyncExitStack() as stack:
                self.ami = await self._bounded(stack.enter_async_context(self._fresh_ami()))
                return await self._reload_and_verify_restored(changeset, result)
        except Exception as exc:  # connecting failed: Asterisk itself is not answering
            return (f"Asterisk may still run the change (a fresh AMI session failed too: "
                    f"{_describe(exc)}); run `asterisk -rx 'module reload {modules}'`")
        finally:
            self.ami = saved

    def _report(self, result: ApplyResult, step: Step, ok: bool, detail: str) -> None:
        progress = Progress(step, ok, detail)
        result.progress.append(progress)
        self._on_progress(progress)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OperatorError):
        return exc.what
    if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
        return "interrupted"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Undo(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
