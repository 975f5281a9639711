"""Where the journal lives: one answer for watch, history, check, bundle and the console."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.private import state_dir

JOURNAL_NAME = "journal.sqlite"


def journal_file(given: Path | None = None, state: Path | None = None) -> Path:
    """--journal when given, else STATE_DIR/journal.sqlite as `watch` writes it by default
    (STATE_DIR from --state-dir or $TRUNKCONSOLE_STATE_DIR, else /var/lib/trunkconsole)."""
    return Path(given) if given else state_dir(state) / JOURNAL_NAME
