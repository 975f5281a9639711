"""10,000 endpoints (and 500 live channels) in a real lab: resync time, dashboard, memory.

Brings up its own lab (name l3bench), adds 10,000 phone endpoints (auth + AOR, as a PBX
with many extensions has) through a pjsip.conf #include and a res_pjsip reload, then
measures in this process (inside the PBX namespace):

- baseline: the raw AMI PJSIPShowEndpoints round trip (bare socket, bytes until the
  EndpointListComplete event, no parsing), measured in the same run;
- LiveSession: connect, login, full resync (all listings + trunk details) to synced;
- the dashboard (headless Textual app) from start to its first trunk row and to its tables
  populated from the model, --trials times, each against a raw round trip taken just
  before it (ratios: median of the trials);
- RSS of this process with the app running, 10,000 endpoints and 500 channels;
- the idle console: CPU of this process over 10 s with the dashboard shown, 500 calls
  standing (their RTCP arriving, ~100 events a second) and nobody typing; then keypresses.

Run (root): .venv/bin/python bench/bench_endpoints.py [--endpoints N] [--channels N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import threading
import time
from pathlib import Path

from measure import cpu_seconds, keypresses, p, rss_mb

from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab import netns
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

LAB = "l3bench"  # --lab to run several benches (or engineers) side by side


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def add_endpoints(lab: Lab, count: int) -> None:
    """Write the include, reload res_pjsip, wait until AMI lists them all."""
    lines = []
    for n in range(count):
        name = f"p{100000 + n}"
        lines.append(f"[{name}]\ntype=auth\nauth_type=userpass\nusername={name}\n"
                     f"password=pw{n}\n\n[{name}]\ntype=aor\nmax_contacts=1\n\n"
                     f"[{name}]\ntype=endpoint\ncontext=inbound-provider\ndisallow=all\n"
                     f"allow=ulaw\nauth={name}\naors={name}\n")
    etc = Path(lab.config_dir)
    (etc / "pjsip_bench.conf").write_text("\n".join(lines))
    pjsip = etc / "pjsip.conf"
    if "pjsip_bench.conf" not in pjsip.read_text():
        pjsip.write_text(pjsip.read_text() + "\n#include pjsip_bench.conf\n")
    # The lab's RTP range is small (rtp.conf): widen it in this lab for hundreds of calls.
    (etc / "rtp.conf").write_text("[general]\nrtpstart=10000\nrtpend=30000\n")
    with lab.ami(timeout=120) as ami:
        ami.command("module reload res_rtp_asterisk.so")
        ami.command("module reload res_pjsip.so")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            reply = ami.action({"Action": "PJSIPShowEndpoints"})
            if len(reply) >= count + 3:
                return
            time.sleep(1)
    raise RuntimeError("the endpoints did not load")


def raw_round_trip(lab: Lab) -> tuple[float, int]:
    """PJSIPShowEndpoints over a bare socket: bytes until EndpointListComplete."""
    sock = socket.create_connection(("127.0.0.1", 5038))
    sock.sendall(f"Action: Login\r\nUsername: trunkconsole\r\nSecret: {lab.secret()}\r\n"
                 "Events: off\r\n\r\n".encode())
    buffer = b""
    while b"Authentication accepted" not in buffer:
        buffer += sock.recv(65536)
    start = time.perf_counter()
    sock.sendall(b"Action: PJSIPShowEndpoints\r\nActionID: raw\r\n\r\n")
    buffer = b""
    while b"Event: EndpointListComplete" not in buffer or not buffer.endswith(b"\r\n\r\n"):
        buffer += sock.recv(1 << 20)
    elapsed = time.perf_counter() - start
    sock.close()
    return elapsed, len(buffer)


async def session_sync(lab: Lab) -> tuple[float, LiveSession]:
    start = time.perf_counter()
    session = LiveSession(discover(Path(lab.config_dir)))
    session.start()
    assert await session.wait_synced(60), session.status.reason
    return time.perf_counter() - start, session


async def dashboard(lab: Lab, channels: int, profile: str = "") -> dict[str, float]:
    """The console's dashboard from session start: first trunk row, then fully populated
    (synced, the trunk's identify shown), then idle CPU and keys with the channels up."""
    from tests.tui.dashboard_app import DashboardApp
    from trunkconsole.tui.screens.dashboard import DashboardScreen
    from trunkconsole.tui.widgets.live_table import LiveTable

    figures: dict[str, float] = {}
    session = LiveSession(discover(Path(lab.config_dir)))
    app = DashboardApp(session)
    async with app.run_test(size=(160, 50)) as pilot:
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.01)
        trunks = app.screen.query_one("#trunks", LiveTable)
        start = time.perf_counter()
        session.start()  # from here on the app's own tick shows what arrives
        while not trunks.row_count:  # noqa: ASYNC110 - polling is the measurement
            await asyncio.sleep(0.002)
        figures["first trunk row on screen (s)"] = time.perf_counter() - start
        synced = 0.0

        def populated() -> bool:
            if not session.syncs or "carrier" not in trunks.keys:
                return False
            return "203.0.113.10" in trunks.get_row("carrier")[4].plain

        while not populated():
            if not synced and session.syncs:
                synced = time.perf_counter() - start
            await asyncio.sleep(0.002)
        figures["dashboard populated (s)"] = time.perf_counter() - start
        figures["model synced (s)"] = synced or figures["dashboard populated (s)"]
        figures["endpoints in model"] = len(session.state.endpoints)
        figures["RSS, app + 10k endpoints (MB)"] = rss_mb()
        if channels:
            spec = CallSpec(did="15551230001", count=channels, rate=100, duration=60)
            outcome: list[object] = []

            def place() -> None:
                try:
                    outcome.append(lab.call(spec))
                except Exception as exc:  # reported below, the bench goes on
                    outcome.append(exc)

            caller = threading.Thread(target=place, daemon=True)
            caller.start()
            deadline = time.monotonic() + 60
            while len(session.state.channels) < channels and time.monotonic() < deadline:
                await pilot.pause(0.2)
            figures["channels in model"] = len(session.state.channels)
            await pilot.pause(1.0)
            figures["RSS, app + 10k endpoints + channels (MB)"] = rss_mb()
            # Idle: the dashboard shown, calls standing, nobody typing.
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            await asyncio.sleep(10)
            figures["idle CPU, % of one core"] = 100 * (cpu_seconds() - cpu0) / (
                time.perf_counter() - wall0)
            keys = await keypresses(app, 10)
            figures["keypress p50 (ms)"] = 1000 * p(keys, 0.5)
            figures["keypress p99 (ms)"] = 1000 * p(keys, 0.99)
            figures["channels in model at the end"] = len(session.state.channels)
            if profile:  # a second idle window under cProfile (its figures are not the above)
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
                await asyncio.sleep(10)
                profiler.disable()
                profiler.dump_stats(profile)
                print(f"idle profile (10 s) written to {profile}")
            caller.join(120)
            print(f"carrier calls: {outcome}")
        await session.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--trials", type=int, default=3,
                        help="dashboard runs, each after its own raw round trip (the last "
                        "one also places the channels)")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("--lab", default=LAB, help=f"lab name (default {LAB})")
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="after the figures, cProfile 10 s more of idle into FILE")
    args = parser.parse_args()
    lab = Lab(args.lab)
    lab.up(log=lambda _m: None)
    try:
        add_endpoints(lab, args.endpoints)
        netns.enter(lab.pbx_ns)
        base_rss = rss_mb()
        raw = [raw_round_trip(lab) for _ in range(3)]
        raw_best = min(t for t, _ in raw)
        print(f"{args.endpoints + 1} endpoints; RSS before connecting: {base_rss:.0f} MB; "
              f"load average {load_average()} (2 cores shared: ratios, not seconds)")
        print(f"baseline raw AMI PJSIPShowEndpoints round trip: {raw_best:.3f} s "
              f"({raw[0][1] / 1e6:.1f} MB)")
        syncs = []
        for _ in range(3):
            elapsed, session = asyncio.run(session_sync(lab))
            syncs.append(elapsed)
            asyncio.run(session.close())
        best = min(syncs)
        print(f"LiveSession connect + full resync: {best:.3f} s "
              f"(ratio {best / raw_best:.2f}x the raw round trip)")
        # The dashboard against a raw round trip taken just before it, several times: on
        # two shared cores a ratio is only fair between figures measured side by side.
        pairs = []
        for trial in range(args.trials):
            # A closed app's garbage, frozen by its session's resync (freeze_long_lived),
            # waits for the app's ten-minute collect_frozen: give it back now, so RSS is
            # one app's.
            gc.unfreeze()
            gc.collect()
            raw_now = raw_round_trip(lab)[0]
            last = trial == args.trials - 1
            figures = asyncio.run(dashboard(lab, args.channels if last else 0,
                                            args.profile if last else ""))
            pairs.append((raw_now, figures["first trunk row on screen (s)"],
                          figures["dashboard populated (s)"]))
            print(f"trial {trial + 1}: raw {raw_now:.3f} s, first trunk row "
                  f"{pairs[-1][1]:.3f} s ({pairs[-1][1] / raw_now:.2f}x), populated "
                  f"{pairs[-1][2]:.3f} s ({pairs[-1][2] / raw_now:.2f}x)")
        for name, value in figures.items():
            print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
        first = statistics.median(f / r for r, f, _ in pairs)
        populated = statistics.median(d / r for r, _, d in pairs)
        print(f"first trunk row on screen: median {first:.2f}x the raw round trip measured "
              f"just before it ({args.trials} trials; target <= 0.5x)")
        print(f"dashboard populated: median {populated:.2f}x the raw round trip measured just "
              f"before it ({args.trials} trials; target <= 1.3x)")
        print(f"load average at the end: {load_average()}")
        if "idle CPU, % of one core" in figures:
            print(f"idle with {args.endpoints + 1} endpoints and "
                  f"{figures['channels in model']:.0f} channels: "
                  f"{figures['idle CPU, % of one core']:.1f}% CPU (target <= 2%), keypress p99 "
                  f"{figures['keypress p99 (ms)']:.1f} ms (target <= 50 ms)")
    finally:
        if not args.keep:
            Lab(args.lab).down(log=lambda _m: None)


if __name__ == "__main__":
    main()
