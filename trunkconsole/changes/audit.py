"""Backups of every file replaced, and the append-only audit log of what was applied.

The audit log records who, when, what and the diff, with secrets (password, secret,
md5_cred values) masked: the log is read by more people than pjsip.conf is.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkconsole.changes.files import FileSnapshot, fsync_directory
from trunkconsole.errors import OperatorError
from trunkconsole.private import open_private, private_dir

DEFAULT_STATE_DIR = Path("/var/lib/trunkconsole")
STATE_ENV = "TRUNKCONSOLE_STATE_DIR"
# Options whose values are secrets: auth password/md5_cred/password_digest (Asterisk 22:
# a stored digest authenticates as well as the password)/oauth_secret/refresh_token,
# manager.conf secret, the wizard's inbound_auth/ and outbound_auth/ forms.
SECRET_OPTIONS = ("password", "secret", "md5_cred", "password_digest", "oauth_secret",
                  "refresh_token", "outbound_auth/password", "inbound_auth/password",
                  "outbound_auth/md5_cred", "inbound_auth/md5_cred",
                  "outbound_auth/password_digest", "inbound_auth/password_digest")
_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_OPTIONS, key=len, reverse=True))
# The value runs to an unescaped ';' (main/config.c keeps '\;' as a literal ';').
_SECRET_LINE = re.compile(
    rf"^(?P<head>[+\- ]?[ \t]*(?:{_NAMES})[ \t]*(?:\+=|=>?)[ \t]*)"
    r"(?P<value>(?:\\;|[^;\r\n])*)",
    re.IGNORECASE | re.MULTILINE,
)
# A change title such as "set password = X on auth Y".
_SECRET_TITLE = re.compile(rf"(?P<head>\b(?:{_NAMES})\s*=\s*)(?P<value>\S+)", re.IGNORECASE)


def state_dir(override: Path | None = None) -> Path:
    """Where backups and the audit log go (--state-dir, $TRUNKCONSOLE_STATE_DIR)."""
    if override is not None:
        return override
    env = os.environ.get(STATE_ENV)
    return Path(env) if env else DEFAULT_STATE_DIR


def is_secret_option(name: str) -> bool:
    """True for options whose value must never be shown or logged."""
    return name.strip().lower() in SECRET_OPTIONS


def mask_secrets(text: str) -> str:
    """Replace the values of secret options in config text or a diff."""
    return _SECRET_LINE.sub(lambda m: m.group("head") + "********", text)


def shown_value(name: str, value: str, file: str) -> str:
    """A config value as a screen shows it: secrets masked, and anything read from a file
    outside the config directory (an absolute #include: Asterisk reads it, and it may be
    any file on the host) withheld."""
    if is_secret_option(name) or is_secret_option(name.rpartition("/")[2]):
        return "********"
    if file.startswith("/"):
        return f"(from {file}, outside the config directory: --show-secrets shows it)"
    return value


def mask_title(text: str) -> str:
    """Mask `password = X` in a one-line description of a change."""
    return _SECRET_TITLE.sub(lambda m: m.group("head") + "********", text)


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
