"""The journal's one writer: a thread that owns the connection and commits in batches.

Rows are queued by the AMI loop (never blocked by disk I/O) and committed about once a
second in one transaction. On a full disk SQLite answers SQLITE_FULL and may roll the
whole transaction back (rescode.in): the batch is kept and retried, the queue is bounded
(oldest rows dropped and counted), and `health` says so; nothing else stops.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkconsole.journal.schema import TABLES, open_writer

log = logging.getLogger(__name__)

COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("at", "kind", "trunk", "subject", "text", "detail"),
    "samples": ("at", "trunk", "contact", "reachable", "rtt_ms"),
    "calls": ("at", "trunk", "uniqueid", "inbound", "cause", "cause_txt", "tech_cause",
              "cause_class", "duration", "did"),
    "senders": ("at", "first", "address", "count", "account", "event", "trunk"),
    "call_counts": ("at", "trunk", "cause_class", "count"),
    # Per call at hangup: means over its RTCP intervals and its worst interval
    # (calls/quality.py summarise); rx = from the provider, tx = towards it.
    "call_quality": ("at", "trunk", "uniqueid", "channel", "inbound", "number", "codec",
                     "rx_loss", "tx_loss", "rx_jitter_ms", "tx_jitter_ms", "rtt_ms", "mos",
                     "worst_mos", "worst_at", "worst_rx_loss", "worst_tx_loss", "rtcp_sent",
                     "rtcp_received"),
}
_INSERT = {table: f"INSERT INTO {table}({', '.join(cols)}) VALUES "
                  f"({', '.join('?' for _ in cols)})" for table, cols in COLUMNS.items()}
# Per-minute call counts add up (history over a day reads 1440 rows per class, not every call).
_INSERT["call_counts"] += (" ON CONFLICT(trunk, at, cause_class) DO UPDATE SET "
                           "count = count + excluded.count")
Row = tuple[str, tuple[Any, ...]]
_FLUSH = "flush"
_RETAIN = "retain"


@dataclass
class Retention:
    """Keep rows this long, and the file under this size (oldest rows go first)."""

    max_age: float = 30 * 86400.0
    max_bytes: int = 200 * 1024 * 1024
    every: float = 600.0


@dataclass
class Health:
    """What the writer can say about itself (for metrics and the status line)."""

    path: str = ""
    rows_written: int = 0
    commits: int = 0
    pending: int = 0
    dropped: int = 0
    last_commit: float = 0.0
    last_error: str = ""
    last_error_at: float = 0.0
    size_bytes: int = 0
    ok: bool = True
    errors: int = 0
    deleted_by_retention: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class JournalWriter:
    """Queue rows from any thread; one thread writes them."""

    def __init__(self, path: Path, *, retention: Retention | None = None,
                 flush_every: float = 1.0, max_pending: int = 100_000) -> None:
        self.path = path
        self.retention = retention or Retention()
        self.flush_every = flush_every
        self.max_pending = max_pending
        self.health = Health(path=str(path))
        self._queue: queue.SimpleQueue[Row | None] = queue.SimpleQueue()
        self._backlog: list[Row] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_retention = 0.0
        self._db: sqlite3.Connection | None = None
        self._waiting: list[threading.Event] = []

    # -- producer side -----------------------------------------------------------------
    def add(self, table: str, values: tuple[Any, ...]) -> None:
        if table not in COLUMNS:
            raise ValueError(f"no journal table {table!r}")
        self._queue.put((table, values))

    def event(self, at: float, kind: str, text: str, *, trunk: str = "", subject: str = "",
              detail: str = "{}") -> None:
        self.add("events", (at, kind, trunk, subject, text, detail))

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Open (a full disk is waited out; any other error is the operator's: raised)."""
        try:
            self._db = open_writer(self.path)
        except (sqlite3.Error, OSError) as exc:
            if not _disk_full(exc):
                raise
            self._db = None
            self._failed(exc)
        self._update_size()
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._db is not None:
            self._db.close()
            self._db = None

    def flush_now(self, timeout: float = 30.0) -> None:
        """Commit what is queued and wait for it (the writer thread does the work)."""
        self._ask(_FLUSH, timeout)

    def retain_now(self, timeout: float = 60.0) -> None:
        """Apply the retention now (the writer thread does the work)."""
        self._ask(_RETAIN, timeout)

    def _ask(self, what: str, timeout: float) -> None:
        done = threading.Event()
        self._queue.put((what, (done,)))
        if not done.wait(timeout):
            raise TimeoutError(f"journal writer did not {what} in {timeout} s")

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            deadline = time.monotonic() + self.flush_every
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is None:
                    break
                self._take(item)
            self._drain()
            self._commit()
            self._answer()
            if time.time() - self._last_retention > self.retention.every:
                self._retain()
        self._drain()
        self._commit()
        self._answer()

    def _take(self, item: Row) -> None:
        if item[0] == _FLUSH:
            self._waiting.append(item[1][0])
        elif item[0] == _RETAIN:
            self._commit()
            self._retain()
            item[1][0].set()
        else:
            self._backlog.append(item)

    def _answer(self) -> None:
        for done in self._waiting:
            done.set()
        self._waiting = []

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._take(item)
        excess = len(self._backlog) - self.max_pending
        if excess > 0:
            del self._backlog[:excess]
            self.health.dropped += excess
        self.health.pending = len(self._backlog)

    def _commit(self) -> None:
        if self._db is None:
            try:
                self._db = open_writer(self.path)
            except (sqlite3.Error, OSError) as exc:
                self._failed(exc)
                return
        if not self._backlog:
            return
        batch = self._backlog
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for table, values in batch:
                self._db.execute(_INSERT[table], values)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._failed(exc)
            return
        self._backlog = []
        self.health.pending = 0
        self.health.rows_written += len(batch)
        self.health.commits += 1
        self.health.last_commit = time.time()
        if not self.health.ok:
            log.warning("journal %s: writing again after: %s", self.path, self.health.last_error)
        self.health.ok = True
        self._update_size()

    def _rollback(self) -> None:
        if self._db is not None and self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _failed(self, exc: sqlite3.Error | OSError) -> None:
        text = str(exc)
        if self.health.ok or text != self.health.last_error:
            log.error("journal %s: cannot write (%s): %d rows kept in memory, retrying; "
                      "metrics and the AMI session go on", self.path, text, len(self._backlog))
        self.health.ok = False
        self.health.errors += 1
        self.health.last_error = text
        self.health.last_error_at = time.time()

    def _update_size(self) -> None:
        size = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                size += Path(str(self.path) + suffix).stat().st_size
        self.health.size_bytes = size

    def _retain(self) -> None:
        """Delete rows older than max_age, then the oldest until the file fits max_bytes."""
        self._last_retention = time.time()
        if self._db is None:
            return
        cutoff = time.time() - self.retention.max_age
        try:
            for table in TABLES:
                cur = self._db.execute(f"DELETE FROM {table} WHERE at < ?", (cutoff,))
                self.health.deleted_by_retention += max(0, cur.rowcount)
            self._shrink()
        except sqlite3.Error as exc:
            self._rollback()
            self._failed(exc)

    def _shrink(self) -> None:
        assert self._db is not None
        for _round in range(20):
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            if free:
                # executescript frees every page; execute() frees one per call (diesel#5145).
                self._db.executescript("PRAGMA incremental_vacuum;")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            used, budget = (pages - free) * page_size, self.retention.max_bytes * 0.9
            if used <= budget:  # 0.9: hysteresis, so the next rows do not trim again
                break
            # Over the budget: drop each table's oldest rows in the share that is over it
            # (a fixed tenth per round could end its rounds still over a small budget).
            share = min(1.0, max(0.1, 1 - budget / used + 0.02))
            for table in TABLES:
                count = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                if count:
                    cur = self._db.execute(
                        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} "
                        "ORDER BY at LIMIT ?)", (max(1, round(count * share)),))
                    self.health.deleted_by_retention += max(0, cur.rowcount)
        self._update_size()


def _disk_full(exc: BaseException) -> bool:
    """SQLITE_FULL ("database or disk is full") or ENOSPC."""
    return "full" in str(exc).lower() or getattr(exc, "errno", None) == errno.ENOSPC
