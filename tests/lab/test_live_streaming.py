"""The resync against the real lab PBX: trunks are read before the phone listing, and the
model says which kinds are completely listed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.ami.connection import State
from trunkconsole.ami.credentials import discover
from trunkconsole.ami.live import LiveSession
from trunkconsole.lab.lab import Lab
from trunkconsole.model.state import IDENTIFIES, SYNC_KINDS
from trunkconsole.tui.widgets.status_bar import status_text


async def test_trunks_are_read_before_the_phone_listing(
        in_pbx_netns: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """When PJSIPShowEndpoints is sent, carrier is already a whole trunk (its identify
    from `pjsip show identifies` + PJSIPShowEndpoint) while no kind of listing counts as
    complete yet; after the resync every kind does."""
    session = LiveSession(discover(Path(in_pbx_netns.config_dir)), poll_seconds=60)
    sent: list[str] = []
    at_listing: dict[str, Any] = {}
    original = session.connection.action

    async def spy(fields: dict[str, Any], **kwargs: Any) -> Any:
        sent.append(str(fields.get("Command") or fields["Action"]))
        if fields["Action"] == "PJSIPShowEndpoints" and not at_listing:
            carrier = session.state.endpoints.get("carrier")
            at_listing.update(
                trunk=carrier is not None and carrier.is_trunk,
                matches=carrier.matches if carrier is not None else (),
                complete=[k for k in (*SYNC_KINDS, IDENTIFIES)
                          if session.state.listing_complete(k)])
        return await original(fields, **kwargs)

    monkeypatch.setattr(session.connection, "action", spy)
    session.start()
    try:
        assert await session.wait_synced(10), session.status.reason
        assert sent.index("pjsip show identifies") < sent.index("PJSIPShowEndpoints")
        assert at_listing == {"trunk": True, "matches": ("203.0.113.10/32",),
                              "complete": ["registrations"]}
        assert all(session.state.listing_complete(k) for k in (*SYNC_KINDS, IDENTIFIES))
        # The trunk read early is not asked for a second time in the same resync.
        first_sync = sent[:sent.index("CoreShowChannels") + 2]
        assert first_sync.count("PJSIPShowEndpoint") == 1
    finally:
        await session.close()


async def test_while_the_resync_reads_the_bar_says_connected_and_what_is_read(
        in_pbx_netns: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resync runs once logged in, before the connection reports CONNECTED; the trunk
    rows already show then, so the status bar must not say "connecting"."""
    session = LiveSession(discover(Path(in_pbx_netns.config_dir)), poll_seconds=60)
    seen: dict[str, tuple[str, str, str]] = {}
    original = session.connection.action

    async def spy(fields: dict[str, Any], **kwargs: Any) -> Any:
        action = str(fields["Action"])
        if action in ("PJSIPShowEndpoints", "CoreShowChannels"):
            bar = status_text("127.0.0.1:5038", session.status, None, False, 0.0,
                              session.loading).plain
            seen[action] = (session.status.state.value, session.loading, bar)
        return await original(fields, **kwargs)

    monkeypatch.setattr(session.connection, "action", spy)
    session.start()
    try:
        assert await session.wait_synced(10), session.status.reason
        state, loading, bar = seen["PJSIPShowEndpoints"]
        assert state == "connecting"
        assert re.fullmatch(r"endpoints \d+ read", loading), loading
        assert f"connected, loading {loading}" in bar
        assert "connecting" not in bar
        assert seen["CoreShowChannels"][1] == "channels 0 read"
        await asyncio.sleep(0.05)  # CONNECTED is set right after the login's resync
        assert session.loading == ""
        assert session.status.state is State.CONNECTED
        assert "loading" not in status_text("a", session.status, None, False, 0.0,
                                            session.loading).plain
    finally:
        await session.close()
