"""The journal's SQLite schema and how it is opened.

WAL allows one writer and many readers on one host; a commit survives `kill -9` of the
writer under synchronous=NORMAL or FULL (only a power cut can lose NORMAL's last commits);
auto_vacuum=INCREMENTAL must be set before the first table, then `PRAGMA
incremental_vacuum` gives pages back. Source: sqlite-docsrc pragma.in, wal.in.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trunkconsole.readable import refuse_special

SCHEMA_VERSION = 1
TABLES = ("events", "samples", "calls", "senders", "call_counts", "call_quality")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL,
    trunk TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE INDEX IF NOT EXISTS events_trunk_at ON events(trunk, at);
CREATE TABLE IF NOT EXISTS samples(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, trunk TEXT NOT NULL, contact TEXT NOT NULL,
    reachable INTEGER NOT NULL, rtt_ms REAL);
CREATE INDEX IF NOT EXISTS samples_trunk_at ON samples(trunk, at);
CREATE TABLE IF NOT EXISTS calls(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, trunk TEXT NOT NULL, uniqueid TEXT NOT NULL,
    inbound INTEGER NOT NULL, cause INTEGER NOT NULL, cause_txt TEXT NOT NULL,
    tech_cause INTEGER, cause_class TEXT NOT NULL, duration REAL NOT NULL,
    did TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS calls_trunk_at ON calls(trunk, at);
CREATE TABLE IF NOT EXISTS senders(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, first REAL NOT NULL, address TEXT NOT NULL,
    count INTEGER NOT NULL, account TEXT NOT NULL DEFAULT '', event TEXT NOT NULL DEFAULT '',
    trunk TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS senders_at ON senders(at);
CREATE TABLE IF NOT EXISTS call_counts(
    at REAL NOT NULL, trunk TEXT NOT NULL, cause_class TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY(trunk, at, cause_class));
CREATE INDEX IF NOT EXISTS call_counts_at ON call_counts(at);
CREATE TABLE IF NOT EXISTS call_quality(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, trunk TEXT NOT NULL, uniqueid TEXT NOT NULL,
    channel TEXT NOT NULL, inbound INTEGER NOT NULL, number TEXT NOT NULL DEFAULT '',
    codec TEXT NOT NULL DEFAULT '', rx_loss REAL, tx_loss REAL, rx_jitter_ms REAL,
    tx_jitter_ms REAL, rtt_ms REAL, mos REAL, worst_mos REAL, worst_at REAL,
    worst_rx_loss REAL, worst_tx_loss REAL, rtcp_sent INTEGER NOT NULL,
    rtcp_received INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS call_quality_trunk_at ON call_quality(trunk, at);
CREATE INDEX IF NOT EXISTS call_quality_at ON call_quality(at);
"""


def open_writer(path: Path) -> sqlite3.Connection:
    """The one writing connection (creates the file and schema)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    refuse_special(path, "journal")  # sqlite would block on a FIFO for ever
    fresh = not path.exists() or path.stat().st_size == 0
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    if fresh:
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # before the first table
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(SCHEMA)
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?)",
               (str(SCHEMA_VERSION),))
    return db


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: readers never block the writer under WAL.

    A journal written by an older `watch` lacks the tables added since (call_quality came
    after the first release); the writer adds them when it next starts, and until then
    the reader sees each as an empty TEMP table of the same shape (SQLite resolves an
    unqualified name in temp first, and a read-only file still gets its temp schema).
    """
    refuse_special(path, "journal")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    db.execute("PRAGMA busy_timeout=5000")
    present = {row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, create in _TABLE_STATEMENTS.items():
        if table not in present:
            db.execute(create.replace("CREATE TABLE IF NOT EXISTS", "CREATE TEMP TABLE", 1))
    return db


def _table_statements(schema: str) -> dict[str, str]:
    statements = {}
    for statement in schema.split(";"):
        text = statement.strip()
        if text.startswith("CREATE TABLE IF NOT EXISTS"):
            name = text.removeprefix("CREATE TABLE IF NOT EXISTS").split("(", 1)[0].strip()
            statements[name] = text
    return statements


_TABLE_STATEMENTS = _table_statements(SCHEMA)
