"""`watch` at 20 calls/s: its CPU against an idle AMI session, measured in the same run.

In one process inside the lab's PBX namespace (getrusage covers every thread: the AMI
loop, the journal writer), four phases of the same length:
  A. a bare LiveSession, no calls (the idle AMI session: the baseline);
  B. watch (journal, findings, audit follow; no metrics HTTP, no firewall), no calls;
  C. watch while the carrier places `rate` calls/s (each 1 s long);
  D. a bare LiveSession under the same load (what the model alone costs).
Target: C - A <= 5% of one core. Also printed: C - D, the journal's own share.
Run (root): .venv/bin/python bench/bench_watch.py [--rate 20] [--seconds 30] [--lab NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from measure import cpu_seconds, widen_rtp_range

from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.journal.watch import Watch, WatchOptions
from trunkconsole.journal.writer import Retention
from trunkconsole.lab import netns
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab


async def share(seconds: float) -> float:
    """CPU of this process over `seconds`, as a fraction of one core."""
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)


def load(lab: Lab, rate: float, seconds: float) -> None:
    lab.call_in_background(CallSpec(did="15551230001", count=int(rate * (seconds + 5)),
                                    rate=rate, duration=1))


async def bare(lab: Lab, rate: float, seconds: float) -> float:
    session = LiveSession(discover(Path(lab.config_dir)))
    session.start()
    assert await session.wait_synced(30)
    await asyncio.sleep(2)
    if rate:
        load(lab, rate, seconds)
        await asyncio.sleep(3)  # calls ramp up
    measured = await share(seconds)
    await session.close()
    lab.stop_background_calls()
    return measured


async def watched(lab: Lab, journal: Path, rate: float, seconds: float) -> tuple[float, int]:
    watch = Watch(discover(Path(lab.config_dir)), WatchOptions(
        journal=journal, config_dir=Path(lab.config_dir), state_dir=journal.parent,
        retention=Retention(), metrics_address=None, network=False))
    task = asyncio.create_task(watch.run())
    while not watch.session.syncs:  # noqa: ASYNC110 - polling the session is the point
        await asyncio.sleep(0.05)
    await asyncio.sleep(2)
    if rate:
        load(lab, rate, seconds)
        await asyncio.sleep(3)
    calls_before = watch.recorder.calls_seen
    measured = await share(seconds)
    calls = watch.recorder.calls_seen - calls_before
    watch.stop()
    await task
    lab.stop_background_calls()
    return measured, calls


async def run(lab: Lab, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal.sqlite"
        idle_session = await bare(lab, 0, seconds)
        idle_watch, _ = await watched(lab, journal, 0, seconds)
        busy_watch, calls = await watched(lab, journal, rate, seconds)
        busy_session = await bare(lab, rate, seconds)
        db = sqlite3.connect(journal)
        rows = db.execute("SELECT count(*) FROM calls").fetchone()[0]
        db.close()
    print(f"calls recorded by watch during the load window: {calls} "
          f"({calls / seconds:.1f}/s); call rows in the journal: {rows}")
    for label, value in (("A idle AMI session (baseline)", idle_session),
                         ("B watch, idle", idle_watch),
                         (f"C watch, {rate:g} calls/s", busy_watch),
                         (f"D bare session, {rate:g} calls/s", busy_session)):
        print(f"{label:32} {value * 100:5.1f}% of a core")
    added = busy_watch - idle_session
    verdict = "OK" if added <= 0.05 else "OVER"
    print(f"watch at {rate:g} calls/s adds {added * 100:.1f}% of a core over the idle "
          f"session (target <= 5%): {verdict}; the journal's own share (C - D) "
          f"{(busy_watch - busy_session) * 100:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--lab", default="wbench")
    args = parser.parse_args()
    lab = Lab(args.lab)
    lab.up(log=lambda _m: None)
    try:
        widen_rtp_range(lab)
        netns.enter(lab.pbx_ns)
        asyncio.run(run(lab, args.rate, args.seconds))
    finally:
        Lab(args.lab).down(log=lambda _m: None)


if __name__ == "__main__":
    main()
