"""Backups of every file replaced, and the append-only audit log of what was applied.

The audit log records who, when, what and the diff, with secrets (password, secret,
md5_cred values) masked: the log is read by more people than pjsip.conf is.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkconsole.changes.files import FileSnapshot, fsync_directory
from trunkconsole.errors import OperatorError
from trunkconsole.masking import mask_secrets, mask_title
from trunkconsole.private import open_private, private_dir


def operator_name() -> str:
    """The human behind the change: sudo's user when run through sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


@dataclass(frozen=True)
class Backup:
    original: Path
    copy: Path
    existed: bool


def backup_files(snapshots: list[FileSnapshot], root: Path) -> list[Backup]:
    """Copy each original (bytes as read, mode kept) into a timestamped backup folder."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    folder = root / "backups" / stamp
    private_dir(private_dir(root) / "backups", "backup directory")
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=root / "backups"))
        backups = []
        for snap in snapshots:
            copy = folder / str(snap.path).lstrip("/").replace("/", "__")
            if snap.exists:
                fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(snap.content)
                    handle.flush()
                    os.fsync(handle.fileno())
            backups.append(Backup(snap.path, copy, snap.exists))
        fsync_directory(folder)
    except OSError as exc:
        raise OperatorError(f"could not back up into {folder}",
                            evidence=exc.strerror or str(exc),
                            fix="nothing was changed; free space or choose --state-dir") from exc
    return backups


def audit_writable(root: Path) -> None:
    """Open the audit log as append_audit will, before anything is written: a change that
    could not be audited is refused up front instead of being applied unaudited."""
    private_dir(root)
    os.close(open_private(root / "audit.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND))


def append_audit(root: Path, record: dict[str, Any]) -> Path:
    """Append one JSON line (O_APPEND, fsync); diffs in it are secret-masked."""
    path = root / "audit.log"
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "user": operator_name(),
             "host": socket.gethostname(), **record}
    if "diff" in entry:
        entry["diff"] = mask_secrets(str(entry["diff"]))
    if "change" in entry:
        entry["change"] = mask_title(str(entry["change"]))
    if "steps" in entry:
        entry["steps"] = [mask_title(str(step)) for step in entry["steps"]]
    line = json.dumps(entry, sort_keys=True) + "\n"
    private_dir(root)
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OperatorError(f"could not write the audit log {path}",
                            evidence=exc.strerror or str(exc)) from exc
    return path
