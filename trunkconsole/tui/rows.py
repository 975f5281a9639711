"""Table rows for the dashboard, built from the model as rich Text (never markup)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text

from trunkconsole.calls.quality import CallQuality
from trunkconsole.model.records import Channel, UnknownSender
from trunkconsole.model.views import TrunkSummary
from trunkconsole.net.bans import Ban
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
    Column("mos", "MOS", 4, number_key),
    Column("loss", "Loss in/out", 11),
    Column("jitter", "Jitter", 6, number_key),
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


def trunk_cells(t: TrunkSummary, bans: Sequence[Ban] | None = None) -> Cells:
    """The trunk's row; a ban on one of its addresses takes the status cell: it is why
    calls from there fail, whatever qualify says of the contacts."""
    rtt = f"{t.rtt_ms:.1f}ms" if t.rtt_ms is not None else "-"
    status = t.status + (f" / {t.registration}" if t.registration else "")
    if bans:  # `BANNED asterisk` when it fits; the dashboard's line above names it all
        marker = bans[0].marker()
        status = marker if len(marker) <= TRUNK_COLUMNS[1].width else "BANNED"
    return (
        plain(t.name, style="bold"),
        plain(status, style="bold red" if bans else STATUS_STYLE.get(t.status, "")),
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


def mos_style(mos: float | None) -> str:
    """Colour by the usual bands: 4.0+ good, 3.6+ fair, below that people complain."""
    if mos is None:
        return "dim"
    return "green" if mos >= 4.0 else ("yellow" if mos >= 3.6 else "bold red")


def quality_cells(quality: CallQuality | None) -> Cells:
    """MOS, loss from/to the provider (%), the worse jitter (ms); '-' before any RTCP."""
    if quality is None:
        return plain("-", style="dim"), plain("-", style="dim"), plain("-", style="dim")
    mos = quality.mos()

    def pct(value: float | None) -> str:
        return "?" if value is None else f"{value:g}"

    loss = plain(f"{pct(quality.rx_loss)}/{pct(quality.tx_loss)}%")
    if max(quality.rx_loss or 0, quality.tx_loss or 0) >= 3:
        loss.stylize("bold red")
    jitters = [j for j in (quality.rx_jitter_ms, quality.tx_jitter_ms) if j is not None]
    jitter = plain(f"{max(jitters):g}" if jitters else "-",
                   style="bold red" if jitters and max(jitters) >= 30 else "")
    return plain("-" if mos is None else f"{mos:.1f}", style=mos_style(mos)), loss, jitter


def channel_cells(channel: Channel, now: float, quality: CallQuality | None = None) -> Cells:
    return (
        plain(channel.name),
        plain(channel.state, style="green" if channel.state == "Up" else "yellow"),
        *quality_cells(quality),
        caller_text(channel),
        plain(channel.did or channel.exten),
        plain(channel.context),
        plain(clock_text(channel.duration(now))),
    )


QUALITY_CELLS = slice(2, 5)  # MOS, loss, jitter in CHANNEL_COLUMNS


def with_quality(cells: Cells, quality: CallQuality | None) -> Cells:
    """A channel's row with new RTCP figures (its other cells as they were)."""
    return (*cells[:QUALITY_CELLS.start], *quality_cells(quality),
            *cells[QUALITY_CELLS.stop:])


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
