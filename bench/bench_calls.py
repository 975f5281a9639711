"""Calls views under load: the ladder of a 100-call burst, and the cost of quality columns.

1. Ladder: the SIP logger screen (calls view) polls the real PJSIP history while the lab
   carrier places 100 calls at 20/s; a key is pressed every 0.1 s (down on the calls
   table: the selected call's ladder is redrawn) and timed until the cursor moved.
   Figures: keypress p50/p99 idle (before the burst) and during the burst; target p99
   <= 50 ms.
2. Quality columns: the dashboard at 20 calls/s with RTP both ways (sipp -rtp_echo), so
   Asterisk sends RTCPSent every 5 s per call; CPU of this process (the console) with
   RTCP feeding PbxState and the MOS/loss/jitter columns (and the codec poll they
   trigger), against RTCP events dropped before the model and the quality cells left
   blank (baseline). Both run in alternating windows (A/B/A/B) under one continuous
   load, so the other processes on the machine weigh on both alike; figures: mean CPU
   per configuration with its spread, CPU per AMI event, and the with/without ratio of
   adjacent windows (median, range); and, less sensitive to the machine's load, the thread
   CPU time spent inside the quality code itself (RTCP into the model, the cells) as a
   share of the console's CPU in the "with" windows. The RTCP frames are read and parsed
   from AMI in both (the session receives them either way). Target: at most 10% more CPU.
Headless Textual (no terminal writes). Run (root): .venv/bin/python bench/bench_calls.py
[--part ladder|quality] [--profile: which event-loop callbacks blocked keys in the burst]
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

from measure import cpu_seconds, p, widen_rtp_range
from textual.screen import Screen

from tests.tui.dashboard_app import DashboardApp
from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.changes.sip_logger import SipLogger, state_file_for
from trunkconsole.lab import netns
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.model.state import PbxState
from trunkconsole.tui import rows
from trunkconsole.tui.screens.dashboard import DashboardScreen
from trunkconsole.tui.screens.sip_logger import SipLoggerScreen
from trunkconsole.tui.widgets.call_ladder import CallLadder
from trunkconsole.tui.widgets.line_table import LineTable

LAB = "benchcal"
PROFILE = False


ORIGINAL_RUN = asyncio.events.Handle._run


def _what(handle: Any) -> str:
    """The task (its coroutine and where it was suspended) a loop callback resumed."""
    task = getattr(handle._callback, "__self__", None)
    coro: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    if coro is None:
        return repr(handle)[:120]
    frames = []
    while coro is not None and hasattr(coro, "cr_frame"):
        frame = coro.cr_frame
        if frame is not None:
            frames.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
            timer = frame.f_locals.get("self") if frame.f_code.co_name == "_run_timer" else None
            if timer is not None:  # a Textual timer: say whose
                frames.append(f"{getattr(timer, 'name', '')} {getattr(timer, '_callback', '')}")
        coro = coro.cr_await
    return " > ".join(frames)[:200]


def time_callbacks(limit: float = 0.02) -> list[tuple[float, str]]:
    """Record every event-loop callback that runs longer than `limit` (what blocks keys)."""
    slow: list[tuple[float, str]] = []

    def timed(handle: Any) -> None:
        start = time.perf_counter()
        ORIGINAL_RUN(handle)
        took = time.perf_counter() - start
        if took > limit:
            slow.append((took, _what(handle)))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]
    return slow


ORIGINAL_UPDATE = Screen._refresh_layout


def profile_screen_updates() -> Any:
    """cProfile only the screen's layout repaints (what the slow callbacks turn out to be)."""
    import cProfile

    profiler = cProfile.Profile()

    def update(screen: Any, *args: Any, **kwargs: Any) -> None:
        profiler.enable()
        try:
            ORIGINAL_UPDATE(screen, *args, **kwargs)
        finally:
            profiler.disable()

    Screen._refresh_layout = update  # type: ignore[method-assign,assignment]
    return profiler


async def press_and_time(app: Any, table: Any, seconds: float) -> list[float]:
    """Press down (then up at the bottom) on the calls table; time until the cursor moved."""
    out = []
    deadline = time.monotonic() + seconds
    key = "down"
    while time.monotonic() < deadline:
        if table.row_count < 2:
            await asyncio.sleep(0.05)
            continue
        before = table.cursor_row
        if before >= table.row_count - 1:
            key = "up"
        elif before == 0:
            key = "down"
        start = time.perf_counter()
        app.simulate_key(key)
        while table.cursor_row == before:  # noqa: ASYNC110
            await asyncio.sleep(0.0005)  # polling is the measurement
        out.append(time.perf_counter() - start)
        await asyncio.sleep(0.1)
    return out


async def ladder_bench(lab: Lab) -> None:
    target = discover(Path(lab.config_dir))
    session = LiveSession(target)
    app = DashboardApp(session)
    async with app.run_test(size=(160, 50)) as pilot:
        session.start()
        assert await session.wait_synced(30)
        screen = SipLoggerScreen()
        await app.push_screen(screen)
        await pilot.pause(0.3)
        screen.logger = SipLogger(session.connection, state_file_for("bench-calls"))
        await screen.logger.on(["203.0.113.10"], [], 600)
        try:
            screen.action_toggle_ladder()
            ladder = screen.query_one(CallLadder)
            table = ladder.query_one("#calls", LineTable)
            lab.call(CallSpec(did="15551230001", count=3, rate=3, duration=0.5))
            while table.row_count < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            idle = await press_and_time(app, table, 8)
            spec = CallSpec(did="15551230001", count=100, rate=20, duration=2)
            caller = threading.Thread(target=lambda: lab.call(spec), daemon=True)
            caller.start()
            slow = time_callbacks() if PROFILE else None
            profiler = profile_screen_updates() if PROFILE else None
            busy = await press_and_time(app, table, 20)
            if profiler is not None:
                import pstats

                Screen._refresh_layout = ORIGINAL_UPDATE  # type: ignore[method-assign]
                pstats.Stats(profiler).sort_stats("cumtime").print_stats(45)
            if slow is not None:
                asyncio.events.Handle._run = ORIGINAL_RUN  # type: ignore[method-assign]
                for took, what in sorted(slow, reverse=True)[:25]:
                    print(f"  loop blocked {took * 1000:6.1f} ms by {what}")
            await asyncio.to_thread(caller.join, 120)
            for _ in range(100):
                if len(ladder.index.flows) >= 103:
                    break
                await asyncio.sleep(0.2)
            print(f"ladder: {len(ladder.index.flows)} calls filed, "
                  f"{sum(len(f.rungs) for f in ladder.index.flows.values())} messages")
            print(f"keypress to cursor, idle:  p50 {p(idle, .5) * 1000:.1f} ms  "
                  f"p99 {p(idle, .99) * 1000:.1f} ms ({len(idle)} keys)")
            print(f"keypress to cursor, burst: p50 {p(busy, .5) * 1000:.1f} ms  "
                  f"p99 {p(busy, .99) * 1000:.1f} ms ({len(busy)} keys; target p99 50 ms; "
                  f"ratio {p(busy, .99) / p(idle, .99):.1f}x idle)")
        finally:
            await screen.logger.off()
            await session.close()


QUALITY = [True]  # the A/B switch: RTCP into the model and the quality cells, or neither


async def dashboard_cpu_ab(lab: Lab, seconds: float, rate: float,
                           window: float) -> tuple[list[float], list[float]]:
    """CPU share of this process in alternating windows with and without quality (A/B/A/B
    under one continuous load), and CPU per AMI event, so load drift hits both sides."""
    original_rtcp = PbxState._rtcp
    original_cells = rows.quality_cells

    inside = [0.0]  # thread CPU seconds spent in the quality code itself (model + cells)

    def rtcp(self: PbxState, f: Any, m: Any) -> Any:
        if not QUALITY[0]:
            return frozenset()
        start = time.thread_time()
        try:
            return original_rtcp(self, f, m)
        finally:
            inside[0] += time.thread_time() - start

    def cells(q: Any) -> Any:
        if not QUALITY[0]:
            return original_cells(None)
        start = time.thread_time()
        try:
            return original_cells(q)
        finally:
            inside[0] += time.thread_time() - start

    PbxState._rtcp = rtcp  # type: ignore[method-assign,assignment]
    rows.quality_cells = cells  # type: ignore[assignment]
    events = [0]
    session = LiveSession(discover(Path(lab.config_dir)))
    original_apply = session.state.apply

    def counted(message: Any) -> Any:
        events[0] += 1
        return original_apply(message)

    session.state.apply = counted  # type: ignore[method-assign]
    app = DashboardApp(session)
    with_q: list[float] = []
    without: list[float] = []
    shares: list[float] = []
    try:
        async with app.run_test(size=(160, 50)):
            session.start()
            assert await session.wait_synced(30)
            while not isinstance(app.screen, DashboardScreen):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            spec = CallSpec(did="15551230002", count=int(rate * seconds), rate=rate,
                            duration=6, echo=True)
            caller = threading.Thread(target=lambda: lab.call(spec), daemon=True)
            caller.start()
            await asyncio.sleep(8)  # calls up, RTCP flowing
            deadline = time.monotonic() + seconds - 10
            turn = 0
            while time.monotonic() + window <= deadline:
                QUALITY[0] = turn % 2 == 0
                await asyncio.sleep(1)  # the switch settles (cells fill or blank once)
                cpu0, wall0, events0 = cpu_seconds(), time.perf_counter(), events[0]
                inside0 = inside[0]
                await asyncio.sleep(window - 1)
                cpu = cpu_seconds() - cpu0
                own = inside[0] - inside0
                share = cpu / (time.perf_counter() - wall0)
                count = events[0] - events0
                (with_q if QUALITY[0] else without).append(share)
                print(f"  window {turn + 1:2d} {'with   ' if QUALITY[0] else 'without'} "
                      f"quality: CPU {share * 100:5.1f}% of one core, {count} AMI events, "
                      f"{cpu / max(1, count) * 1e6:6.0f} us CPU per event, "
                      f"{len(session.state.channels)} channels, load {os.getloadavg()[0]:.1f}"
                      + (f"; quality code itself {own * 1000:.0f} ms CPU = "
                         f"{own / max(cpu, 1e-9) * 100:.1f}% of the window's CPU"
                         if QUALITY[0] else ""))
                if QUALITY[0]:
                    shares.append(own / max(cpu, 1e-9))
                turn += 1
            book = session.state.quality
            reports = sum(q.sent_reports for q in (*book.calls.values(), *book.ended.values()))
            print(f"RTCP reports in the model: {reports}")
            if shares:
                print(f"quality code (RTCP into the model, MOS/loss/jitter cells) measured "
                      f"inside: {statistics.mean(shares) * 100:.1f}% of the console's CPU "
                      f"(windows {min(shares) * 100:.1f}-{max(shares) * 100:.1f}%)")
            await asyncio.to_thread(caller.join, 180)
            await session.close()
    finally:
        QUALITY[0] = True
        PbxState._rtcp = original_rtcp  # type: ignore[method-assign]
        rows.quality_cells = original_cells
    return with_q, without


async def run(lab: Lab, seconds: float, rate: float, part: str, window: float) -> None:
    if part in ("all", "ladder"):
        await ladder_bench(lab)
    if part == "ladder":
        return
    with_q, without = await dashboard_cpu_ab(lab, seconds, rate, window)
    pairs = [a / b - 1 for a, b in zip(with_q, without, strict=False) if b > 0]
    mean_with, mean_without = statistics.mean(with_q), statistics.mean(without)
    print(f"quality columns: {mean_with * 100:.1f}% (spread {min(with_q) * 100:.1f}-"
          f"{max(with_q) * 100:.1f}) vs {mean_without * 100:.1f}% (spread "
          f"{min(without) * 100:.1f}-{max(without) * 100:.1f}) CPU over {len(with_q)}+"
          f"{len(without)} alternating windows: {(mean_with / mean_without - 1) * 100:+.1f}%; "
          f"per adjacent pair median {statistics.median(pairs) * 100:+.1f}% (range "
          f"{min(pairs) * 100:+.1f}..{max(pairs) * 100:+.1f}%) (target at most +10%)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--window", type=float, default=8, help="seconds per A/B window")
    parser.add_argument("--part", choices=("all", "ladder", "quality"), default="all")
    parser.add_argument("--profile", action="store_true", help="cProfile the burst")
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    lab = Lab(LAB)
    lab.up(log=lambda _m: None)
    try:
        widen_rtp_range(lab)
        netns.enter(lab.pbx_ns)
        asyncio.run(run(lab, args.seconds, args.rate, args.part, args.window))
    finally:
        Lab(LAB).down(log=lambda _m: None)


if __name__ == "__main__":
    main()
