"""Calls views under load: the ladder of a 100-call burst, and the cost of quality columns.

1. Ladder: the SIP logger screen (calls view) polls the real PJSIP history while the lab
   carrier places 100 calls at 20/s; a key is pressed every 0.1 s (down on the calls
   table: the selected call's ladder is redrawn) and timed until the cursor moved.
   Figures: keypress p50/p99 idle (before the burst) and during the burst; target p99
   <= 50 ms.
2. Quality columns: the dashboard at 20 calls/s with RTP both ways (sipp -rtp_echo), so
   Asterisk sends RTCPSent every 5 s per call; CPU of this process (the console) with
   RTCP feeding PbxState and the MOS/loss/jitter columns, against the same load with
   RTCP events dropped before the model and the quality cells left blank (baseline),
   measured in the same run; target: at most 10% more CPU.
Headless Textual (no terminal writes). Run (root): .venv/bin/python bench/bench_calls.py
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from measure import cpu_seconds, p, widen_rtp_range

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
            busy = await press_and_time(app, table, 20)
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


async def dashboard_cpu(lab: Lab, seconds: float, rate: float, quality: bool) -> float:
    """CPU share of this process while the dashboard shows calls at `rate`/s."""
    original_rtcp = PbxState._rtcp
    original_cells = rows.quality_cells
    if not quality:
        PbxState._rtcp = lambda self, f, m: frozenset()  # type: ignore[method-assign,assignment]
        rows.quality_cells = lambda q: original_cells(None)  # type: ignore[assignment]
    session = LiveSession(discover(Path(lab.config_dir)))
    app = DashboardApp(session)
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
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            await asyncio.sleep(seconds - 10)
            share = (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
            peak = len(session.state.channels)
            book = session.state.quality
            reports = sum(q.sent_reports for q in (*book.calls.values(), *book.ended.values()))
            await asyncio.to_thread(caller.join, 180)
            print(f"dashboard {'with' if quality else 'without'} quality: CPU "
                  f"{share * 100:.1f}% of one core, channels at the end of the window {peak}"
                  f", RTCP reports in the model {reports}")
            await session.close()
            return share
    finally:
        PbxState._rtcp = original_rtcp  # type: ignore[method-assign]
        rows.quality_cells = original_cells


async def run(lab: Lab, seconds: float, rate: float, part: str) -> None:
    if part in ("all", "ladder"):
        await ladder_bench(lab)
    if part == "ladder":
        return
    without = await dashboard_cpu(lab, seconds, rate, quality=False)
    with_quality = await dashboard_cpu(lab, seconds, rate, quality=True)
    print(f"quality columns: {with_quality * 100:.1f}% vs {without * 100:.1f}% CPU: "
          f"{(with_quality / without - 1) * 100:+.1f}% (target at most +10%)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=40)
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
        asyncio.run(run(lab, args.seconds, args.rate, args.part))
    finally:
        Lab(LAB).down(log=lambda _m: None)


if __name__ == "__main__":
    main()
