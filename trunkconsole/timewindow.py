"""`--since`: one meaning wherever it is typed, a span of time back from now.

`90s`, `30m`, `1h`, `24h`, `7d`, `1w`, combinations (`1h30m`), or plain seconds (`600`).
"""

from __future__ import annotations

import re

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
MAX_SINCE = 400 * 86400.0


def parse_since(text: str) -> float:
    """Seconds in a `--since` value; ValueError for anything else."""
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    else:
        pos, seconds = 0, 0.0
        for match in _PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value):
            raise ValueError(f"not a duration: {text!r} (e.g. 90s, 30m, 1h, 24h, 7d)")
    if seconds <= 0 or seconds > MAX_SINCE:
        raise ValueError(f"--since must be between 1 s and 400 days, not {text!r}")
    return seconds


def describe(seconds: float) -> str:
    """A span as the operator typed it: 3600 -> '1h'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
