"""A ChangeSet: staged file contents, the unified diff a person reviews, what to reload
and how to tell that Asterisk took it."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

# AmiActions lives with the AMI code (readers use it too); the planners import it from here.
from trunkconsole.ami.action import AmiActions as AmiActions
from trunkconsole.changes.files import FileSnapshot, snapshot
from trunkconsole.conf.lines import split_lines
from trunkconsole.errors import OperatorError


@dataclass(frozen=True)
class Verdict:
    """Did live Asterisk do what the change intended?"""

    ok: bool
    detail: str


Verifier = Callable[[AmiActions], Awaitable[Verdict]]


@dataclass(frozen=True)
class HostStep:
    """A command on this host after the files are written (not Asterisk's: e.g.
    `fail2ban-client reload`); again after a rollback when again_on_rollback."""

    name: str
    run: Callable[[], Awaitable[Verdict]]
    again_on_rollback: bool = True


class Unchanged(OperatorError):
    """The desired state already holds: nothing to write.

    Raised by a planner instead of a ChangeSet. A configuration tool (Ansible, Salt) reads
    it as success without change (exit 0); the console shows it as a message. `verify`
    checks the same state against live Asterisk, without changing anything.
    """

    exit_code = 0

    def __init__(self, what: str, *, evidence: str = "", verify: Verifier | None = None,
                 notes: list[str] | None = None) -> None:
        super().__init__(what, evidence=evidence)
        self.verify = verify
        self.notes = notes or []


# What reloads what (module names as AMI Reload takes them). PJSIP: `module reload
# res_pjsip.so` reloads every pjsip.conf object type through the shared sorcery instance;
# there is no `pjsip reload` (reference §4.3).
RELOAD_PJSIP = "res_pjsip.so"
RELOAD_DIALPLAN = "pbx_config.so"
RELOAD_RTP = "res_rtp_asterisk.so"


@dataclass(frozen=True)
class FileChange:
    """One file: the snapshot it was computed from and its new bytes."""

    before: FileSnapshot
    after: bytes

    @property
    def path(self) -> Path:
        return self.before.path

    @property
    def real_path(self) -> Path:
        """The file written: path with its symlinks resolved."""
        return self.before.real

    def diff(self) -> str:
        """Unified diff, as `diff -u` prints it.

        Lines split on '\\n' only, as Asterisk's fgets() does: str.splitlines() would also
        split on U+2028, U+0085, \\x0b ... and show lines that are not in the file.
        """
        old = split_lines(self.before.content.decode("utf-8", "surrogateescape"))
        new = split_lines(self.after.decode("utf-8", "surrogateescape"))
        lines = difflib.unified_diff(
            old, new,
            fromfile=str(self.path) if self.before.exists else "/dev/null",
            tofile=str(self.path),
        )
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass
class ChangeSet:
    """Everything one guided change will do, reviewed as one diff."""

    title: str
    changes: list[FileChange] = field(default_factory=list)
    reloads: list[str] = field(default_factory=list)
    verify: Verifier | None = None
    verify_restored: Verifier | None = None  # after a rollback: is live state as before?
    notes: list[str] = field(default_factory=list)  # warnings shown beside the diff
    host_steps: list[HostStep] = field(default_factory=list)  # after the AMI reloads
    host_verify: Callable[[], Awaitable[Verdict]] | None = None  # needs no AMI

    def add(self, path: Path, new_content: bytes, before: FileSnapshot | None = None) -> None:
        """Stage new content for path (read now unless the caller already read it)."""
        snap = before if before is not None else snapshot(path)
        if snap.exists and snap.content == new_content:
            return
        self.changes.append(FileChange(snap, new_content))

    def diff(self) -> str:
        return "".join(change.diff() for change in self.changes)

    @property
    def empty(self) -> bool:
        return not self.changes
