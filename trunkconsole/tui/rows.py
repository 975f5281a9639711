"""Table rows for the dashboard, built from the model as rich Text (never markup)."""

from __future__ import annotations

import time

from rich.text import Text

from trunkconsole.model.records import Channel, UnknownSender
from trunkconsole.model.views import TrunkSummary
from trunkconsole.tui.plain import plain
from trunkconsole.tui.widgets.live_table import Cells, Column, clock_key, number_key
from trunkconsole.tui.widgets.sparkline import sparkline
from trunkconsole.visible import visible

STATUS_STYLE = {
    "Reachable": "green",
    "Unreachable": "bold red",
    "NonQualified": "yellow",
    "Unknown": "yellow",
    "No contacts": "dim",
}

TRUNK_COLUMNS = (
    Column("trunk", "Trunk", 18),
    Column("status", "Status", 12),
    Column("rtt", "RTT", 8, number_key),
    Column("spark", "RTT history", 12),
    Column("matches", "Identify matches", 22),
    Column("now", "Now", 4, number_key),
    Column("hour", "1h", 5, number_key),
    Column("last", "Last hangup", 26),
)
CHANNEL_COLUMNS = (
    Column("channel", "Channel", 26),
    Column("state", "State", 8),
    Column("caller", "Caller", 26),
    Column("did", "DID / exten", 14),
    Column("context", "Context", 16),
    Column("duration", "Time", 8, clock_key),
)
SENDER_COLUMNS = (
    Column("address", "Unknown sender", 18),
    Column("count", "Requests", 8, number_key),
    Column("last", "Last seen", 9, clock_key),
    Column("account", "From user", 16),
    Column("transport", "Via", 5),
)


def clock_text(seconds: float) -> str:
    total = int(max(0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def trunk_cells(t: TrunkSummary) -> Cells:
    rtt = f"{t.rtt_ms:.1f}ms" if t.rtt_ms is not None else "-"
    status = t.status + (f" / {t.registration}" if t.registration else "")
    return (
        plain(t.name, style="bold"),
        plain(status, style=STATUS_STYLE.get(t.status, "")),
        plain(rtt),
        plain(sparkline(t.rtt_history, 12), style="cyan"),
        plain(", ".join(t.matches) or "-"),
        plain(str(t.calls_now)),
        plain(str(t.calls_last_hour)),
        plain(t.last_hangup or "-"),
    )


def caller_text(channel: Channel) -> Text:
    """Caller ID as literal text: the name comes from the far end (markup stays text)."""
    text = plain(channel.caller_num or "?")
    if channel.caller_name and channel.caller_name != "<unknown>":
        text.append(" ")
        text.append(visible(channel.caller_name), style="italic")
    return text


def channel_cells(channel: Channel, now: float) -> Cells:
    return (
        plain(channel.name),
        plain(channel.state, style="green" if channel.state == "Up" else "yellow"),
        caller_text(channel),
        plain(channel.did or channel.exten),
        plain(channel.context),
        plain(clock_text(channel.duration(now))),
    )


def sender_cells(sender: UnknownSender) -> Cells:
    return (
        plain(sender.address, style="bold yellow"),
        plain(str(sender.count)),
        plain(time.strftime("%H:%M:%S", time.localtime(sender.last_seen))),
        plain(", ".join(sender.accounts) or "-"),
        plain(sender.transport),
    )


def matches(cells: Cells, needle: str) -> bool:
    """The filter: a case-insensitive substring of any cell."""
    return not needle or any(needle in cell.plain.casefold() for cell in cells)
