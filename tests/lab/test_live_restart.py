"""Asterisk restarts under calls: the console is back within 3 s of FullyBooted, no ghosts."""

from __future__ import annotations

import asyncio
import time

from tests.lab.live_helpers import eventually, fresh_listing, live, model_listing
from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.carrier import CallSpec
from trunkconsole.lab.lab import Lab

RESTARTS = 5
RECONNECT_BUDGET = 3.0


# The carrier calls all along: one sipp placing a new call every 0.5 s, each held 3 s. Calls
# cut by a restart fail on their own (sipp's 15 s receive timeout) while new ones keep
# coming, so every restart happens under calls without waiting for a failed burst to end.
CALLING = CallSpec(did="15551230001", count=10_000, rate=2, duration=3)


def _leave_the_lab_as_found(lab: Lab) -> None:
    """The calls the stopped sipp held stay up in Asterisk (nobody sent BYE): end them; and
    the last restart's contact is unqualified until the next 10 s qualify: qualify it now.
    The next test in this lab starts with no call and a Reachable carrier."""
    with lab.ami() as ami:
        ami.command("channel request hangup all")
        ami.action({"Action": "PJSIPQualify", "Endpoint": "carrier"})
        deadline = time.monotonic() + 15
        while any(first(m, "event") == "CoreShowChannel"
                  for m in ami.action({"Action": "CoreShowChannels"})) or not any(
                " Avail " in line for line in ami.command("pjsip show contacts")):
            assert time.monotonic() < deadline, "calls still up, or the carrier unqualified"
            time.sleep(0.1)


async def test_restart_five_times_during_calls(in_pbx_netns: Lab) -> None:
    lab = in_pbx_netns
    lab.call_in_background(CALLING)
    delays: list[float] = []
    try:
        async with live(lab, poll=2.0) as session:
            for _ in range(RESTARTS):
                carrier = session.state.endpoints["carrier"]
                await eventually(lambda c=carrier: bool(c.channels), timeout=40,  # type: ignore[misc]
                                 what="calls on the trunk before the restart")
                before = set(session.state.channels)
                syncs = session.syncs
                booted = await asyncio.to_thread(lab.restart_asterisk)
                await eventually(lambda s=syncs: session.syncs > s, timeout=15,  # type: ignore[misc]
                                 what=f"a resync after the restart at {booted:.3f}: "
                                 f"{session.statuses[-6:]}")  # type: ignore[attr-defined]
                delays.append(max(0.0, time.time() - booted))
                # Channels of the old Asterisk are gone from the model...
                assert not before & set(session.state.channels)
                # ...and the model equals a fresh listing (retry: calls keep changing it).
                deadline = time.monotonic() + 5
                while True:
                    truth = await asyncio.to_thread(fresh_listing, lab)
                    if model_listing(session) == truth or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.1)
                assert model_listing(session) == truth
                assert session.state.endpoints["carrier"].matches == ("203.0.113.10/32",)
    finally:
        lab.stop_background_calls()
        await asyncio.to_thread(_leave_the_lab_as_found, lab)
    assert len(delays) == RESTARTS
    assert max(delays) < RECONNECT_BUDGET, delays
