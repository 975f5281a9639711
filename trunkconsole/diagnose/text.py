"""Small formatting helpers for diagnosis evidence."""

from __future__ import annotations

import time


def clock(stamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(stamp)) if stamp else "?"


def ago(now: float, stamp: float) -> str:
    seconds = max(0, int(now - stamp))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 5400:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")
