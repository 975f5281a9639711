"""Measurements the benches share: CPU time, RSS, percentiles, keypress latency."""

from __future__ import annotations

import asyncio
import resource
import time
from pathlib import Path
from typing import Any


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    """Resident memory of this process, in MB (from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def p(values: list[float], q: float) -> float:
    """The q-quantile of values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def keypresses(app: Any, seconds: float) -> list[float]:
    """Press `s` on the trunk table (cycles its sort) and time until the action ran."""
    from trunkconsole.tui.widgets.live_table import LiveTable

    table = app.screen.query_one("#trunks", LiveTable)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = (table.sort_index, table.sort_reverse)
        start = time.perf_counter()
        app.simulate_key("s")
        while (table.sort_index, table.sort_reverse) == before:  # noqa: ASYNC110
            await asyncio.sleep(0.0005)  # polling is the measurement
        latencies.append(time.perf_counter() - start)
        await asyncio.sleep(0.25)
    return latencies


def widen_rtp_range(lab: Any) -> None:
    """Give a lab PBX 10000-30000 for RTP: 20 calls/s with media outgrow the lab's 100 ports."""
    (Path(lab.config_dir) / "rtp.conf").write_text("[general]\nrtpstart=10000\nrtpend=30000\n")
    with lab.ami() as ami:
        ami.command("module reload res_rtp_asterisk.so")
