"""Live load: 20 calls/s for 60 s into a lab while the dashboard runs (headless Textual).

Measures, in this process (the console: Textual app + LiveSession on one loop):
- CPU used during the load window, as % of one core (getrusage; sipp and Asterisk are
  other processes), against the same app idle for 10 s before the load, once settled
  (baseline);
- keypress latency: a key is posted every 0.25 s (simulate_key, as the terminal driver
  does) and timed until its action ran; p50/p99 under load vs idle;
- event-loop lag: a 20 ms ticker's worst lateness (one DataTable repaint shows up here);
- at the end, the channels in the model against a fresh CoreShowChannels.
Headless: the terminal write is skipped, so a real terminal adds its output cost.
Run (root): .venv/bin/python bench/bench_live_load.py [--rate 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from measure import cpu_seconds, keypresses, p, widen_rtp_range

from tests.lab.live_helpers import fresh_listing
from tests.tui.dashboard_app import DashboardApp
from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab import netns
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.tui.screens.dashboard import DashboardScreen

LAB = "l3load"
SETTLE_SECONDS = 3.0


async def lag_monitor(stop: asyncio.Event, worst: list[float]) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.02)
        worst[0] = max(worst[0], time.perf_counter() - start - 0.02)


async def run(lab: Lab, rate: float, seconds: float) -> None:
    session = LiveSession(discover(Path(lab.config_dir)))
    app = DashboardApp(session)
    async with app.run_test(size=(160, 50)) as pilot:
        session.start()
        assert await session.wait_synced(30)
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.01)
        # Idle means settled: the first second's work (screens filled, the first firewall
        # and ban reads in their threads) is start-up, not idle.
        await asyncio.sleep(SETTLE_SECONDS)
        stop, worst = asyncio.Event(), [0.0]
        monitor = asyncio.create_task(lag_monitor(stop, worst))
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        idle_keys = await keypresses(app, 10)
        idle_cpu = (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
        idle_lag, worst[0] = worst[0], 0.0
        spec = CallSpec(did="15551230001", count=int(rate * seconds), rate=rate, duration=5)
        outcome: list[Any] = []
        caller = threading.Thread(target=lambda: outcome.append(lab.call(spec)), daemon=True)
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        caller.start()
        load_keys = await keypresses(app, seconds)
        load_cpu = (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
        peak = len(session.state.channels)
        load_lag = worst[0]
        stop.set()
        await monitor
        await asyncio.to_thread(caller.join, 120)
        await asyncio.sleep(1.5)
        truth = await asyncio.to_thread(fresh_listing, lab)
        model = set(session.state.channels)
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        print(f"calls: {outcome[0].summary() if outcome else 'no report'}; "
              f"channels during load ~{peak}")
        print(f"CPU (% of one core): idle {idle_cpu * 100:.1f}%  under load "
              f"{load_cpu * 100:.1f}%  (target < 50%)")
        print(f"keypress to action, idle:  p50 {p(idle_keys, .5) * 1000:.1f} ms  "
              f"p99 {p(idle_keys, .99) * 1000:.1f} ms  ({len(idle_keys)} keys)")
        print(f"keypress to action, load:  p50 {p(load_keys, .5) * 1000:.1f} ms  "
              f"p99 {p(load_keys, .99) * 1000:.1f} ms  ({len(load_keys)} keys; "
              f"ratio p99 {p(load_keys, .99) / p(idle_keys, .99):.1f}x idle; target 100 ms)")
        print(f"worst event-loop lag: idle {idle_lag * 1000:.0f} ms, load {load_lag * 1000:.0f}"
              f" ms (mean key {statistics.mean(load_keys) * 1000:.1f} ms)")
        print(f"end: model channels {len(model)}, CoreShowChannels {len(truth['channels'])}, "
              f"equal: {model == truth['channels']}")
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--lab", default=LAB, help=f"lab name (default {LAB})")
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
