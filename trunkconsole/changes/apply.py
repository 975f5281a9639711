"""Apply a ChangeSet: check, back up, write, reload, verify, and roll back on failure.

"Module Reloaded" does not mean Asterisk accepted the config: parse errors and rejected
objects are only logged and the old objects are kept (reference §4.3, §5.2). So every
change is verified against live state, and undone when the verification fails or when a
dead-man confirmation does not come in time (like `netplan try`).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.changes import files
from trunkconsole.changes.audit import Backup, append_audit, backup_files
from trunkconsole.changes.changeset import AmiActions, ChangeSet
from trunkconsole.errors import OperatorError


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
    rolled_back: bool = False
    reason: str = ""
    backup_dir: Path | None = None
    audit_log: Path | None = None
    progress: list[Progress] = field(default_factory=list)

    def summary(self) -> str:
        if self.applied:
            return "applied and verified"
        if self.rolled_back:
            return f"rolled back: {self.reason}"
        return f"not applied: {self.reason}"


Confirm = Callable[[], Awaitable[bool]]


class Applier:
    """Runs ChangeSets; the one place that writes configs and triggers reloads."""

    def __init__(self, ami: AmiActions | None, state_root: Path, *, readonly: bool = False,
                 on_progress: Callable[[Progress], None] = lambda _p: None,
                 after_reload: Callable[[AmiActions], Awaitable[object]] | None = None) -> None:
        self.ami = ami
        self.state_root = state_root
        self.readonly = readonly
        self._on_progress = on_progress
        # e.g. put the SIP logger back: a reload may re-apply [global] debug= from pjsip.conf
        self._after_reload = after_reload

    async def apply(self, changeset: ChangeSet, *, confirm: Confirm | None = None,
                    confirm_within: float | None = None) -> ApplyResult:
        """Apply; on any failure after writing, restore the originals and reload again."""
        result = ApplyResult(applied=False)
        if self.readonly:
            raise OperatorError("read-only mode: refusing to change anything",
                                fix="start without --readonly (and without readonly: true "
                                "in config.yaml) to apply changes")
        if changeset.empty:
            raise OperatorError("nothing to apply: the change leaves every file as it is")
        if changeset.reloads and self.ami is None:
            raise OperatorError("this change needs a reload, and AMI is not connected")
        self._check_unchanged(changeset, result)
        backups = backup_files([c.before for c in changeset.changes], self.state_root)
        result.backup_dir = backups[0].copy.parent if backups else None
        self._report(result, Step.BACKUP, True, f"originals saved in {result.backup_dir}")
        try:
            await self._write_reload_verify(changeset, result)
            if confirm_within is not None:
                await self._dead_man(confirm, confirm_within, result)
        except _Undo as undo:
            await self._rollback(changeset, backups, undo.reason, result)
        else:
            result.applied = True
            self._report(result, Step.DONE, True, "applied and verified")
        result.audit_log = append_audit(self.state_root, {
            "change": changeset.title, "files": [str(c.path) for c in changeset.changes],
            "diff": changeset.diff(), "result": result.summary(),
            "backup": str(result.backup_dir),
        })
        return result

    # -- steps ----------------------------------------------------------------------
    def _check_unchanged(self, changeset: ChangeSet, result: ApplyResult) -> None:
        for change in changeset.changes:
            if not files.unchanged_since(change.before):
                self._report(result, Step.CHECK, False, f"{change.path} changed on disk")
                raise OperatorError(
                    f"{change.path} changed on disk since trunkconsole read it",
                    evidence="someone or something else edited it meanwhile",
                    fix="their version wins: nothing was written; review the change again "
                    "on the current file",
                )
        self._report(result, Step.CHECK, True, "files unchanged since read")

    async def _write_reload_verify(self, changeset: ChangeSet, result: ApplyResult) -> None:
        for change in changeset.changes:
            try:
                files.replace_file(change.path, change.after, change.before)
            except OperatorError as exc:
                self._report(result, Step.WRITE, False, exc.what)
                raise _Undo(exc.what) from exc
            self._report(result, Step.WRITE, True, str(change.path))
        await self._reload(changeset, result)
        if changeset.verify is not None:
            assert self.ami is not None
            verdict = await changeset.verify(self.ami)
            self._report(result, Step.VERIFY, verdict.ok, verdict.detail)
            if not verdict.ok:
                raise _Undo(f"verification failed: {verdict.detail}")

    async def _reload(self, changeset: ChangeSet, result: ApplyResult) -> None:
        for module in changeset.reloads:
            assert self.ami is not None
            try:
                reply = await self.ami.action({"Action": "Reload", "Module": module})
            except OperatorError as exc:
                self._report(result, Step.RELOAD, False, f"{module}: {exc.what}")
                raise _Undo(f"reload of {module} failed: {exc.what}") from exc
            message = str(reply.get("Message", "") if hasattr(reply, "get") else "")
            ok = message == "Module Reloaded"
            self._report(result, Step.RELOAD, ok, f"{module}: {message or 'no answer'}")
            if not ok:
                raise _Undo(f"reload of {module} refused: {message}")
        if changeset.reloads and self._after_reload is not None:
            assert self.ami is not None
            if await self._after_reload(self.ami):
                self._report(result, Step.RELOAD, True, "SIP logger put back after the reload")

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
        if not confirmed:
            self._report(result, Step.CONFIRM, False, "the operator declined")
            raise _Undo("the operator declined")
        self._report(result, Step.CONFIRM, True, "confirmed")

    async def _rollback(self, changeset: ChangeSet, backups: list[Backup], reason: str,
                        result: ApplyResult) -> None:
        result.rolled_back = True
        result.reason = reason
        for change, backup in zip(changeset.changes, backups, strict=True):
            if backup.existed:
                files.replace_file(change.path, change.before.content, change.before)
            else:
                files.remove_file(change.path)
        restored = all(files.unchanged_since(c.before) for c in changeset.changes)
        self._report(result, Step.ROLLBACK, restored,
                     "original files restored byte for byte" if restored
                     else "ORIGINALS NOT RESTORED: copy them back from " + str(result.backup_dir))
        try:
            await self._reload(changeset, result)
        except _Undo as undo:
            self._report(result, Step.ROLLBACK, False, f"reload after restore: {undo.reason}")
            return
        if changeset.verify_restored is not None and self.ami is not None:
            verdict = await changeset.verify_restored(self.ami)
            self._report(result, Step.ROLLBACK, verdict.ok,
                         f"live state after restore: {verdict.detail}")
        elif changeset.reloads:
            self._report(result, Step.ROLLBACK, True, "Asterisk reloaded with the originals")

    def _report(self, result: ApplyResult, step: Step, ok: bool, detail: str) -> None:
        progress = Progress(step, ok, detail)
        result.progress.append(progress)
        self._on_progress(progress)


class _Undo(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

