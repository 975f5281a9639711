"""A text sparkline for RTT history (one character per reading, fixed width)."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 12) -> str:
    """The last `width` values scaled between their min and max, padded on the left."""
    recent = list(values)[-width:]
    if not recent:
        return " " * width
    low, high = min(recent), max(recent)
    span = high - low
    if span <= 0:
        line = BARS[0] * len(recent)
    else:
        line = "".join(BARS[min(len(BARS) - 1, int((v - low) / span * len(BARS)))]
                       for v in recent)
    return line.rjust(width)
