"""The media quality of one call as text: figures and small plots over the call."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from trunkconsole.calls.quality import CallQuality
from trunkconsole.tui.plain import plain
from trunkconsole.tui.rows import mos_style

BARS = "▁▂▃▄▅▆▇█"
PLOT_WIDTH = 40


def fixed_sparkline(values: Sequence[float | None], low: float, high: float,
                    width: int = PLOT_WIDTH) -> str:
    """One bar per value on a fixed scale (a flat good call stays high); ' ' for None."""
    recent = list(values)[-width:]
    span = high - low
    out = []
    for value in recent:
        if value is None:
            out.append(" ")
            continue
        ratio = min(1.0, max(0.0, (value - low) / span)) if span > 0 else 0.0
        out.append(BARS[min(len(BARS) - 1, int(ratio * len(BARS)))])
    return "".join(out).ljust(width)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:g}%"


def quality_report(quality: CallQuality | None) -> Table | Text:
    """Field/value grid: MOS, loss and jitter each way, RTT, plots over the call."""
    if quality is None:
        return Text("No RTCP report for this call yet (Asterisk sends one every 5 s; the AMI "
                    "user needs read=reporting).", style="dim")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    mos = quality.mos()
    grid.add_row(Text("MOS (estimate)"),
                 plain(f"{mos:.2f}" if mos is not None else "-", style=mos_style(mos))
                 + plain(f"  {quality.basis}", style="dim"))
    rx = f"{_pct(quality.rx_loss)} (lost so far {quality.rx_cumulative_lost})"
    tx = (f"{_pct(quality.tx_loss)} (lost so far {quality.tx_cumulative_lost})"
          if quality.received_reports else "unknown: no RTCP from the provider")
    grid.add_row(Text("Loss from provider"), plain(rx))
    grid.add_row(Text("Loss to provider"), plain(tx))
    grid.add_row(Text("Jitter"), plain(f"from provider {_ms(quality.rx_jitter_ms)}, "
                                      f"to provider {_ms(quality.tx_jitter_ms)}"))
    grid.add_row(Text("RTT"), plain(_ms(quality.rtt_ms)))
    grid.add_row(Text("RTCP reports"), plain(f"{quality.sent_reports} sent, "
                                            f"{quality.received_reports} received"))
    history = list(quality.history)
    grid.add_row(Text("MOS over the call"),
                 plain(fixed_sparkline([s.mos for s in history], 1.0, 4.5), style="cyan")
                 + Text("  1..4.5", style="dim"))
    grid.add_row(Text("Loss from provider"),
                 plain(fixed_sparkline([s.rx_loss for s in history], 0.0, 20.0),
                      style="magenta") + Text("  0..20%", style="dim"))
    grid.add_row(Text("Jitter from provider"),
                 plain(fixed_sparkline([s.rx_jitter_ms for s in history], 0.0, 100.0),
                      style="yellow") + Text("  0..100 ms", style="dim"))
    return grid
