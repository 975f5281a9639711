"""What one change command did, as one object: for a person, and as JSON for Ansible.

Built from the change engine's own steps (`Progress`, `ApplyResult`), so the JSON says
exactly what the engine did: the same object on success, unchanged, refusal and
rollback. A configuration tool reads `changed` for its changed state and `ok` (or the
exit status) for failure; `--dry-run` fills `changed` with "would change" (check mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from trunkconsole.changes.apply import ApplyResult, Progress, Step
from trunkconsole.changes.changeset import ChangeSet, Unchanged
from trunkconsole.errors import OperatorError
from trunkconsole.findings import Finding, Severity
from trunkconsole.masking import mask_secrets

MASK = "********"
EXIT_APPLIED = 0
EXIT_NOT_APPLIED = 1  # rolled back, declined or not confirmed
EXIT_NOT_AS_IT_WAS = 2  # not applied, and the rollback did not (provably) restore it all
EXIT_REFUSED = 3  # bad input or a precondition: nothing was written


@dataclass
class ChangeOutcome:
    """One change command's result; `to_json()` is the object `--json` prints."""

    change: str = ""
    dry_run: bool = False
    changed: bool = False
    diff: str = ""
    steps: list[Progress] = field(default_factory=list)
    backup: str | None = None
    rolled_back: bool = False
    failed: bool = False  # the engine ran and did not apply
    not_as_it_was: bool = False  # rollback refused, failed or not shown live (exit 2)
    verified: bool = False
    findings: list[Finding] = field(default_factory=list)
    error: OperatorError | None = None
    secrets: list[str] = field(default_factory=list)  # values masked wherever they appear

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    @property
    def unchanged(self) -> bool:
        return self.ok and not self.changed

    def exit_code(self) -> int:
        """0 applied, unchanged or dry run; 1 rolled back; 2 the PBX may not be as it was
        (rollback refused, failed or not shown live); 3 refused, nothing written."""
        if self.ok:
            return EXIT_APPLIED
        if self.not_as_it_was:
            return EXIT_NOT_AS_IT_WAS
        if self.failed:
            return EXIT_NOT_APPLIED
        return int(getattr(self.error, "exit_code", EXIT_REFUSED)) or EXIT_REFUSED

    @classmethod
    def runtime(cls, change: str, detail: str, *, changed: bool) -> ChangeOutcome:
        """A runtime switch done (`logger on|off`): no file, nothing to verify. verified
        stays false: Asterisk has no command that shows the logger's host filter."""
        return cls(change=change, changed=changed, steps=[Progress(Step.DONE, True, detail)])

    # -- filling it ----------------------------------------------------------------------
    def planned(self, changeset: ChangeSet) -> None:
        """The reviewed change: its title, diff and warnings."""
        self.change = changeset.title
        self.diff = changeset.diff()
        self.changed = not changeset.empty
        self.findings += [note_finding(note) for note in changeset.notes]

    def already(self, done: Unchanged) -> None:
        """The desired state already holds."""
        self.change = done.what
        self.changed = False
        self.steps.append(Progress(Step.PLAN, True, done.evidence or done.what))
        self.findings += [note_finding(note) for note in done.notes]

    def refused(self, error: OperatorError, step: Step = Step.PLAN) -> None:
        """Bad input or a failed precondition: nothing was written."""
        self.error = error
        self.changed = False
        if not self.steps or self.steps[-1].ok:
            self.steps.append(Progress(step, False, error.what))

    def applied(self, result: ApplyResult) -> None:
        """Take the engine's result: its steps, backup and rollback."""
        self.steps += result.progress
        self.backup = str(result.backup_dir) if result.backup_dir else None
        self.rolled_back = result.rolled_back
        self.changed = result.applied
        self.failed = not result.applied
        self.not_as_it_was = not result.applied and not (
            result.rolled_back and not result.live_unconfirmed)
        self.verified = result.applied and result.verified
        if self.not_as_it_was:
            self.findings.append(Finding(
                "change-not-restored", Severity.CRITICAL, result.summary(),
                fix=f"check the files and Asterisk by hand; the originals are in {self.backup}",
                domain="change"))
        elif result.rolled_back:
            self.findings.append(Finding(
                "change-rolled-back", Severity.CRITICAL, result.summary(),
                fix=f"nothing of this change is live; the originals are in {self.backup}",
                domain="change"))

    # -- output -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "change": self.change,
            "diff": mask_secrets(self.diff),
            "steps": [{"step": p.step.value, "ok": p.ok, "detail": p.detail}
                      for p in self.steps],
            "backup": self.backup,
            "rolled_back": self.rolled_back,
            "verified": self.verified,
            "findings": [f.to_json() for f in self.findings],
            "error": None if self.error is None else {
                "what": self.error.what, "evidence": self.error.evidence,
                "fix": self.error.fix},
        }
        # An error message may quote the value with repr() (escaped line breaks): mask that
        # spelling too.
        forms = {form for secret in self.secrets if secret
                 for form in (secret, repr(secret)[1:-1], secret.strip())} - {""}
        masked: dict[str, Any] = _masked(data, sorted(forms))
        return masked

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"


def note_finding(note: str) -> Finding:
    """A warning shown beside the diff, as a finding."""
    return Finding("change-warning", Severity.WARNING, note, domain="change")


def _masked(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    return value
