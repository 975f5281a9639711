"""Helpers for the live-state lab tests: a LiveSession on the lab, ground truth via AmiProbe."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.lab import Lab
from trunkconsole.settings import AmiTarget, Secret


def lab_target(lab: Lab, username: str = "trunkconsole", secret: str | None = None) -> AmiTarget:
    return AmiTarget(username=username, secret=Secret(lab.secret() if secret is None else secret),
                     secret_source="lab")


@contextlib.asynccontextmanager
async def live(lab: Lab, target: AmiTarget | None = None, poll: float = 1.0,
               wait: bool = True) -> AsyncIterator[LiveSession]:
    """A started LiveSession on the lab (the test must run inside the PBX namespace)."""
    statuses: list[str] = []
    session = LiveSession(target or discover(Path(lab.config_dir)), poll_seconds=poll,
                          on_status=lambda st: statuses.append(
                              f"{time.time():.3f} {st.state.value} {st.reason}"))
    session.statuses = statuses  # type: ignore[attr-defined]  # diagnostics for asserts
    session.start()
    try:
        if wait:
            assert await session.wait_synced(10), session.status.reason
        yield session
    finally:
        await session.close()


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0,
                     what: str = "condition") -> float:
    """Wait until predicate() holds; return how long it took."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def fresh_listing(lab: Lab) -> dict[str, set[str]]:
    """Ground truth from an independent AMI session: endpoints and channel uniqueids."""
    with lab.ami() as ami:
        endpoints = ami.action({"Action": "PJSIPShowEndpoints"})
        channels = ami.action({"Action": "CoreShowChannels"})
    return {
        "endpoints": {first(m, "objectname") for m in endpoints
                      if first(m, "event") == "EndpointList"},
        "channels": {first(m, "uniqueid") for m in channels
                     if first(m, "event") == "CoreShowChannel"},
    }


def model_listing(session: LiveSession) -> dict[str, set[str]]:
    return {"endpoints": set(session.state.endpoints), "channels": set(session.state.channels)}
