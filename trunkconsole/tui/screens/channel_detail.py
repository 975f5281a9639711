"""One channel in detail; after it hangs up, how it ended."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from trunkconsole.model.state import PbxState
from trunkconsole.tui.plain import plain
from trunkconsole.tui.rows import clock_text
from trunkconsole.tui.screens.live_detail import LiveDetailScreen
from trunkconsole.tui.widgets.quality_plot import quality_report


def channel_report(state: PbxState, uniqueid: str, now: float) -> Group | Text:
    """Field/value grid of a live channel, or its hangup record once it ended, and the
    call's media quality from RTCP."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    channel = state.channels.get(uniqueid)
    if channel is not None:
        rows = [
            ("Channel", channel.name), ("Endpoint", channel.endpoint or "-"),
            ("Direction", ("inbound" if channel.inbound else "outbound")
             + (f" ({channel.direction_basis})" if channel.direction_basis else "")),
            ("State", channel.state), ("Caller number", channel.caller_num),
            ("Caller name", channel.caller_name),
            ("Connected line", f"{channel.connected_num} {channel.connected_name}".strip()),
            ("DID", channel.did or "-"), ("Context", channel.context),
            ("Extension", channel.exten), ("Application", channel.application or "-"),
            ("Duration", clock_text(channel.duration(now))), ("Uniqueid", channel.uniqueid),
            ("Linkedid", channel.linkedid), ("Bridge", channel.bridge_id or "-"),
        ]
    else:
        ended = next((h for h in reversed(state.hangups) if h.uniqueid == uniqueid), None)
        if ended is None:
            return plain(f"Channel {uniqueid} is gone.", style="bold red")
        rows = [
            ("Channel", ended.channel), ("Endpoint", ended.endpoint or "-"),
            ("State", "hung up"), ("Cause", ended.describe()),
            ("Caller number", ended.caller_num), ("Caller name", ended.caller_name),
            ("DID", ended.did or "-"), ("Lasted", clock_text(ended.duration)),
            ("Uniqueid", ended.uniqueid),
        ]
    for label, value in rows:
        grid.add_row(plain(label), plain(value))  # caller IDs are attacker-controlled text
    return Group(grid, Text(), Text("Media quality (RTCP)", style="bold"),
                 quality_report(state.quality.get(uniqueid)))


class ChannelDetailScreen(LiveDetailScreen):
    """Opened with Enter on a channel row; Escape goes back."""

    DETAIL_ID = "channel-detail"

    def __init__(self, uniqueid: str) -> None:
        super().__init__()
        self.uniqueid = uniqueid

    def report(self, state: PbxState, now: float) -> RenderableType:
        return channel_report(state, self.uniqueid, now)
