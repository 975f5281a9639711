"""The idle dashboard's UI cost, per component, without a lab (issue 12: idle <= 2% CPU).

Runs the real DashboardScreen headless (160x50, as bench_endpoints.py's idle window) on a
real PbxState fed synthetic AMI messages built with ami.message.parse_block from the lab's
recorded text (tests/fixtures/ami/lab-calls.raw, rtcp-sent-lab.raw):

- baseline: 10,001 endpoints (the lab's carrier trunk + 10,000 phones), no call;
- loaded: the same, plus 500 calls up (Newchannel + Newstate) and RTCPSent reports at
  100/s spread over them (each call every 5 s; jitter and loss vary as on a real line).

Both run in this process, alternated --repeat times (medians printed: the machine is
shared). Each window (--seconds, default 15) gives the event-loop thread's CPU time per
second of wall time (time.thread_time: the app, its timers and the feeder share this
thread; no other process counts), split per component by wrapping the functions with
thread_time; the garbage collector's share (gc.callbacks) is inside the components it
interrupted. "UI" is the loop's total less the feed's bursts (PbxState.apply of the RTCP
events; the AMI read path is not in here at all: messages are parsed up front). Headless:
the terminal write is skipped, so a real terminal adds its output cost.

Figures on this machine (2 cores shared by several engineers, load 2-20: ratios and
back-to-back runs, not absolute ms), medians of 2 windows of 15 s, issue-12 UI work
before -> after in the same conditions: UI 18.6 -> 12.3 ms/s (no-call baseline 5.4 ->
4.3); app tick 7.6 -> 3.9 (_sync_channels 4.5 -> 1.1, LiveTable.sync 1.7 -> 0.4);
compositor 8.2 ms/s in 2 passes -> 6.0 in 1 (LiveTable.render_line 1.9 -> 1.0); garbage
collector 2.3 -> 1.7. What is left of a pass is Textual's: each partial update renders
every widget of the screen (from its line caches) and cuts each repainted line once per
widget under it; ~3 ms a pass on a quiet machine, 1 pass a second.

Run: .venv/bin/python bench/bench_dashboard_idle.py [--seconds 15] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import functools
import gc
import random
import statistics
import time
from pathlib import Path
from typing import Any

from tests.tui.dashboard_app import DashboardApp, StaticLive
from trunkconsole.ami.connection import State, Status
from trunkconsole.ami.message import AmiMessage, parse_block, parse_stream
from trunkconsole.ami.server_info import ServerInfo
from trunkconsole.conf.gcpause import freeze_long_lived
from trunkconsole.model.state import PbxState

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "ami"
RTCP_PER_SECOND = 100
# The feeder wakes this often: the console reads AMI events in batches (SO_RCVLOWAT and
# a 0.25 s flush, ami/batching.py), so 100 RTCP events a second arrive as ~4 reads.
FEED_HZ = 4

measuring = [False]  # True during a window (other tools wrap more functions with it)
spent: dict[str, float] = collections.defaultdict(float)  # label -> seconds
calls: dict[str, int] = collections.defaultdict(int)


def wrap(owner: Any, name: str, label: str) -> None:
    """Account `owner.name`'s thread CPU time under `label` (nested calls count in both)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - start
            calls[label] += 1

    setattr(owner, name, timed)


# (label, indent) in the order printed; every one is wrapped below.
COMPONENTS: list[tuple[str, int]] = []


def instrument() -> None:
    from textual.screen import Screen

    from trunkconsole.tui.app import TrunkConsoleApp
    from trunkconsole.tui.screens.dashboard import DashboardScreen
    from trunkconsole.tui.widgets.live_table import LiveTable
    from trunkconsole.tui.widgets.status_bar import StatusBar

    def add(owner: Any, name: str, label: str, indent: int) -> None:
        wrap(owner, name, label)
        COMPONENTS.append((label, indent))

    add(Feeder, "burst", "the feed: RTCP into PbxState (not UI)", 0)
    add(TrunkConsoleApp, "refresh_visible", "app tick (refresh_visible)", 0)
    add(StatusBar, "show", "StatusBar.show", 1)
    add(DashboardScreen, "refresh_live", "DashboardScreen.refresh_live", 1)
    add(DashboardScreen, "_check_bans", "_check_bans", 2)
    add(DashboardScreen, "_sync_channels", "_sync_channels", 2)
    add(LiveTable, "sync", "LiveTable.sync (all tables)", 2)
    add(LiveTable, "refresh_volatile", "LiveTable.refresh_volatile", 2)
    add(Screen, "_compositor_refresh", "Screen._compositor_refresh", 0)
    add(LiveTable, "render_line", "LiveTable.render_line", 1)
    gc.callbacks.append(_gc_phase)
    COMPONENTS.extend([(GC, 0), *((f"generation {n}", 1) for n in range(3))])


_gc_start = [0.0]


def _gc_phase(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_start[0] = time.thread_time()
    else:
        for label in (GC, f"generation {info['generation']}"):
            spent[label] += time.thread_time() - _gc_start[0]
            calls[label] += 1


GC = "garbage collector (inside the above too)"


def msg(text: str) -> AmiMessage:
    message = parse_block(text.replace("\n", "\r\n"))
    assert message is not None
    return message


def endpoint_messages(phones: int) -> list[AmiMessage]:
    """The lab's recorded stream (the carrier trunk, its identify and contact), then
    `phones` endpoints as PJSIPShowEndpoints lists them (auth + AOR, no contact)."""
    messages = [m for m in parse_stream((FIXTURES / "lab-calls.raw").read_bytes())
                if m.fields.get("event") not in {"Newchannel", "Newstate", "Newexten",
                                                 "CoreShowChannel", "VarSet"}]
    for n in range(phones):
        name = f"p{100000 + n}"
        messages.append(msg(
            f"Event: EndpointList\nActionID: PJSIPShowEndpoints\nObjectType: endpoint\n"
            f"ObjectName: {name}\nTransport: \nAor: {name}\nAuths: {name}\n"
            f"OutboundAuths: \nContacts: \nDeviceState: Unavailable\nActiveChannels: 0"))
    return messages


def call_messages(count: int, now: float) -> list[tuple[str, str, AmiMessage]]:
    """(uniqueid, channel, message) of `count` inbound calls answered within 5 s (the
    real bench places them at 100/s), from the recorded Newchannel/Newstate."""
    out = []
    for n in range(count):
        uid = f"{int(now) - 5 + n // 100}.{n + 10}"
        channel = f"PJSIP/carrier-{n + 10:08x}"
        common = (f"Channel: {channel}\nCallerIDNum: 15557770000\n"
                  f"CallerIDName: Carrier Test\nConnectedLineNum: <unknown>\n"
                  f"ConnectedLineName: <unknown>\nLanguage: en\nAccountCode: \n"
                  f"Context: inbound-provider\nExten: 15551230001\nPriority: 1\n"
                  f"Uniqueid: {uid}\nLinkedid: {uid}")
        out.append((uid, channel, msg(f"Event: Newchannel\nPrivilege: call,all\n"
                                      f"ChannelState: 4\nChannelStateDesc: Ring\n{common}")))
        out.append((uid, channel, msg(f"Event: Newstate\nPrivilege: call,all\n"
                                      f"ChannelState: 6\nChannelStateDesc: Up\n{common}")))
    return out


def rtcp_pool(calls_up: list[tuple[str, str]], rng: random.Random) -> list[AmiMessage]:
    """Ten reports per call from the lab's real RTCPSent text: jitter between 0 and 2
    samples mostly (the lab's), now and then a burst; loss now and then."""
    template = (FIXTURES / "rtcp-sent-lab.raw").read_text().split("\n\n")[0]
    pool = []
    for _round in range(10):
        for uid, channel in calls_up:
            jitter = rng.choice((0, 0, 1, 1, 2)) if rng.random() < 0.9 else rng.randint(3, 400)
            lost = 0 if rng.random() < 0.9 else rng.randint(1, 40)
            text = []
            for line in template.splitlines():
                key = line.partition(":")[0]
                line = {"Uniqueid": f"Uniqueid: {uid}", "Linkedid": f"Linkedid: {uid}",
                        "Channel": f"Channel: {channel}",
                        "Report0IAJitter": f"Report0IAJitter: {jitter}",
                        "Report0FractionLost": f"Report0FractionLost: {lost}"}.get(key, line)
                text.append(line)
            pool.append(msg("\n".join(text)))
    return pool


class Feeder:
    """RTCP_PER_SECOND reports a second in FEED_HZ bursts, round-robin over the calls, each
    burst a loop callback as a transport's data_received is (its whole cost, wake-up
    included, is the feed's: the AMI side, not the UI)."""

    def __init__(self, state: PbxState, pool: list[AmiMessage]) -> None:
        self.state, self.pool = state, pool
        self.index = 0
        self.handle: asyncio.TimerHandle | None = None
        self.next_at = 0.0

    def start(self) -> None:
        self.next_at = asyncio.get_running_loop().time()
        self.burst()

    def burst(self) -> None:
        for _ in range(RTCP_PER_SECOND // FEED_HZ):
            self.state.apply(self.pool[self.index % len(self.pool)])
            self.index += 1
        self.next_at += 1 / FEED_HZ
        self.handle = asyncio.get_running_loop().call_at(self.next_at, self.burst)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


async def window(phones: int, calls_up: int, seconds: float, settle: float,
                 profile: str = "") -> tuple[float, Figures]:
    """Loop-thread CPU ms per second and per component (ms/s, calls/s) over the window."""
    now = time.time()
    state = PbxState()
    for message in endpoint_messages(phones):
        state.apply(message)
    placed = call_messages(calls_up, now)
    for _uid, _channel, message in placed:
        state.apply(message)
    ups = list(dict.fromkeys((uid, channel) for uid, channel, _m in placed))
    pool = rtcp_pool(ups, random.Random(12)) if ups else []
    freeze_long_lived()  # as LiveSession does when a resync completes
    live = StaticLive(state, server_info=ServerInfo("22.10.1", "11.0.0", "", 3723.0,
                                                     time.monotonic()))
    app = DashboardApp(live)
    app.ami_status = Status(State.CONNECTED)
    from trunkconsole.tui.screens.dashboard import DashboardScreen
    from trunkconsole.tui.widgets.live_table import LiveTable

    async with app.run_test(size=(160, 50)) as pilot:
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.01)
        channels = app.screen.query_one("#channels", LiveTable)
        while channels.row_count < calls_up:
            await pilot.pause(0.05)
        feeder = Feeder(state, pool) if pool else None
        if feeder is not None:
            feeder.start()
        await asyncio.sleep(settle)
        spent.clear()
        calls.clear()
        profiler = cProfile.Profile() if profile else None
        measuring[0] = True
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(seconds)
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        measuring[0] = False
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        figures = {label: (1000 * spent[label] / wall, calls[label] / wall)
                   for label, _indent in COMPONENTS}
        if feeder is not None:
            feeder.stop()
        assert channels.row_count == calls_up, (channels.row_count, calls_up)
    return 1000 * cpu / wall, figures


Figures = dict[str, tuple[float, float]]  # label -> (ms CPU per second, calls per second)
TOTAL = "loop thread total"


def median_figures(runs: list[Figures]) -> Figures:
    """Per label, the median over the runs (a shared machine: one run can be unlucky)."""
    return {label: (statistics.median(r[label][0] for r in runs),
                    statistics.median(r[label][1] for r in runs)) for label in runs[0]}


def report(name: str, figures: Figures) -> float:
    """Print one window's figures; returns its UI figure (ms/s)."""
    total = figures[TOTAL][0]
    feed = figures[COMPONENTS[0][0]][0]
    print(f"{name}: loop thread {total:.1f} ms CPU/s ({total / 10:.2f}% of a core); "
          f"UI (less the feed) {total - feed:.1f} ms/s")
    accounted = 0.0
    for label, indent in COMPONENTS:
        ms, rate = figures[label]
        if indent == 0 and label != GC:
            accounted += ms
        print(f"  {'  ' * indent}{label:<{46 - 2 * indent}} {ms:6.2f} ms/s  "
              f"({rate:5.1f} calls/s)")
    print(f"  {'the rest (Textual timers, message pumps, idle)':<46} "
          f"{total - accounted:6.2f} ms/s")
    return total - feed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=1,
                        help="windows of each kind, alternated; medians are printed")
    parser.add_argument("--phones", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="cProfile the loaded window into FILE (its figures are then "
                             "not comparable)")
    args = parser.parse_args()
    instrument()

    def run(calls_up: int) -> Figures:
        total, figures = asyncio.run(window(args.phones, calls_up, args.seconds, args.settle,
                                            args.profile if calls_up else ""))
        return {TOTAL: (total, 0.0), **figures}

    base_runs, loaded_runs = [], []
    for _ in range(args.repeat):
        base_runs.append(run(0))
        loaded_runs.append(run(args.calls))
    many = f", median of {args.repeat}" if args.repeat > 1 else ""
    base_ui = report(f"baseline, {args.phones + 1} endpoints, no call{many}",
                     median_figures(base_runs))
    ui = report(f"loaded, {args.phones + 1} endpoints, {args.calls} calls, "
                f"{RTCP_PER_SECOND} RTCP/s{many}", median_figures(loaded_runs))
    print(f"UI at idle with calls: {ui:.1f} ms/s ({ui / 10:.2f}% of a core), "
          f"{ui / base_ui:.1f}x the no-call baseline ({base_ui:.1f} ms/s); "
          f"target: under 10 ms/s")


if __name__ == "__main__":
    main()
