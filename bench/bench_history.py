"""A 24 h history query of a busy trunk: `build_history(..., trunk=T)` on a full journal.

The journal holds what `watch` writes for a day of a busy trunk at 20 calls/s (1.7 M call
rows and their per-minute counts), RTT samples every minute for 20 trunks, a flapping
contact, findings, refused senders, plus the same again for 29 earlier days. Baseline in
the same run: the same query on a journal with only that trunk's contact events.
Target: <= 100 ms. Run: .venv/bin/python bench/bench_history.py [--rate 20]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from trunkconsole.journal.history import build_history
from trunkconsole.journal.schema import open_writer
from trunkconsole.model.causes import CLASSES

DAY = 86400.0


def minimal(path: Path, now: float) -> None:
    """The baseline journal: one day of the trunk's contact events, nothing else."""
    db = open_writer(path)
    for flap in range(48):
        at = now - DAY + flap * 1800
        db.execute("INSERT INTO events(at, kind, trunk, subject, text, detail) VALUES "
                   "(?, 'contact-unreachable', 'busy', 'sip:198.51.100.1', 'x', "
                   "'{\"previous\": \"Reachable\"}')", (at,))
    db.close()


def fill(path: Path, now: float, rate: float, days: int) -> None:
    db = open_writer(path)
    rng = random.Random(7)
    db.execute("BEGIN")
    for day in range(days):
        start = now - (day + 1) * DAY
        busy = day == 0
        calls = int(rate * DAY) if busy else 0
        db.executemany(
            "INSERT INTO calls(at, trunk, uniqueid, inbound, cause, cause_txt, tech_cause, "
            "cause_class, duration, did) VALUES (?, 'busy', ?, 1, 16, 'Normal Clearing', "
            "NULL, 'normal', 60, '15551230001')",
            ((start + i / rate, f"{start + i / rate:.6f}") for i in range(calls)))
        minutes = range(int(DAY // 60))
        db.executemany("INSERT INTO call_counts(at, trunk, cause_class, count) "
                       "VALUES (?, 'busy', ?, ?)",
                       ((start + m * 60, c, int(rate * 60) if c == "normal" else 3)
                        for m in minutes for c in CLASSES[:4]))
        for trunk in [f"t{n}" for n in range(19)] + ["busy"]:
            db.executemany("INSERT INTO samples(at, trunk, contact, reachable, rtt_ms) "
                           "VALUES (?, ?, 'sip:198.51.100.1', ?, ?)",
                           ((start + m * 60, trunk, 1, 10 + rng.random() * 5)
                            for m in minutes))
        for flap in range(48):
            at = start + flap * 1800
            for kind, prev in (("contact-unreachable", "Reachable"),
                               ("contact-reachable", "Unreachable")):
                db.execute("INSERT INTO events(at, kind, trunk, subject, text, detail) "
                           "VALUES (?, ?, 'busy', 'sip:198.51.100.1', 'x', ?)",
                           (at + (0 if kind == "contact-unreachable" else 120), kind,
                            f'{{"previous": "{prev}"}}'))
        db.executemany("INSERT INTO senders(at, first, address, count, account, event, "
                       "trunk) VALUES (?, ?, ?, 3, '', 'InvalidAccountID', '')",
                       ((start + m * 60, start + m * 60 - 60, f"203.0.113.{m % 50}")
                        for m in range(0, 1440, 2)))
    db.execute("COMMIT")
    db.close()


def timed(path: Path, now: float, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        history = build_history(path, DAY, trunk="busy", now=now)
        times.append(time.perf_counter() - start)
    assert history.trunks["busy"].flaps > 0
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20.0, help="calls/s of the busy trunk")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        small, full = Path(tmp) / "small.sqlite", Path(tmp) / "full.sqlite"
        minimal(small, now)
        started = time.perf_counter()
        fill(full, now, args.rate, args.days)
        db = sqlite3.connect(full)
        calls = db.execute("SELECT count(*) FROM calls").fetchone()[0]
        db.close()
        print(f"journal: {full.stat().st_size / 1e6:.0f} MB, {calls} call rows "
              f"(filled in {time.perf_counter() - started:.0f} s)")
        base = timed(small, now, args.runs)
        busy = timed(full, now, args.runs)
    for label, times in (("baseline (96 events)", base), ("busy trunk, 24 h", busy)):
        print(f"{label:24} median {statistics.median(times) * 1000:7.1f} ms   "
              f"max {max(times) * 1000:7.1f} ms")
    verdict = "OK" if statistics.median(busy) <= 0.100 else "OVER"
    print(f"ratio {statistics.median(busy) / statistics.median(base):.1f}x the baseline; "
          f"target <= 100 ms: {verdict}")


if __name__ == "__main__":
    main()
