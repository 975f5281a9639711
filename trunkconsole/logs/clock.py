"""Timestamps of Asterisk log lines, in the `dateformat` logger.conf sets.

Asterisk formats the date with ast_strftime(): strftime(3) plus `%q` (microseconds) and
`%Nq` (N digits of the fraction); the default is `%b %e %T`, which has no year
(main/logger.c, main/stdtime/localtime.c). Local time of the Asterisk host.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

DEFAULT_DATEFORMAT = "%b %e %T"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"

# strftime conversion -> (regex, group name or None)
_TOKENS: dict[str, tuple[str, str | None]] = {
    "Y": (r"\d{4}", "year"), "y": (r"\d{2}", "year2"), "m": (r"\d{1,2}", "month"),
    "d": (r"\d{1,2}", "day"), "e": (r" ?\d{1,2}", "day"), "H": (r"\d{1,2}", "hour"),
    "k": (r" ?\d{1,2}", "hour"), "I": (r"\d{1,2}", "hour12"), "l": (r" ?\d{1,2}", "hour12"),
    "M": (r"\d{2}", "minute"), "S": (r"\d{2}", "second"), "p": (r"[AaPp][Mm]", "ampm"),
    "b": (r"[A-Za-z]{3}", "monthname"), "h": (r"[A-Za-z]{3}", "monthname"),
    "B": (r"[A-Za-z]+", "monthname"), "a": (_DAYS, None), "A": (_DAYS, None),
    "j": (r"\d{3}", None), "z": (r"[+-]\d{4}", "offset"), "Z": (r"[A-Za-z]{1,6}", None),
    "s": (r"\d{9,11}", "epoch"), "%": ("%", None), "n": (r"\s", None), "t": (r"\s", None),
}
_EXPAND = {"F": "%Y-%m-%d", "T": "%H:%M:%S", "D": "%m/%d/%y", "R": "%H:%M",
           "r": "%I:%M:%S %p", "c": "%a %b %e %H:%M:%S %Y", "x": "%m/%d/%y", "X": "%H:%M:%S"}


class UnsupportedDateformat(ValueError):
    """A dateformat we cannot read back."""


def _regex(fmt: str) -> str:
    for short, long in _EXPAND.items():
        fmt = fmt.replace("%" + short, long)
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(re.escape(ch))
            i += 1
            continue
        spec = fmt[i + 1:i + 3]
        if len(spec) == 2 and spec[0] in "123456" and spec[1] == "q":
            out.append(rf"(?P<fraction>\d{{{spec[0]}}})")
            i += 3
            continue
        if spec[:1] == "q":
            out.append(r"(?P<fraction>\d{1,6})")
            i += 2
            continue
        token = _TOKENS.get(spec[:1])
        if token is None:
            raise UnsupportedDateformat(f"dateformat conversion %{spec[:1]} is not supported")
        pattern, group = token
        if group is None or group in seen:
            out.append(f"(?:{pattern})")
        else:
            out.append(f"(?P<{group}>{pattern})")
            seen.add(group)
        i += 2
    return "".join(out)


def _month(name: str) -> int:
    index = _MONTHS.index(name[:3].lower())
    return index + 1


class DateParser:
    """Turns a log line's date text into Unix seconds (None when it does not fit)."""

    def __init__(self, dateformat: str = DEFAULT_DATEFORMAT,
                 now: Callable[[], float] = time.time) -> None:
        self.dateformat = dateformat or DEFAULT_DATEFORMAT
        self.pattern = re.compile(_regex(self.dateformat))
        self._now = now

    def parse(self, text: str) -> float | None:
        match = self.pattern.fullmatch(text.strip()) or self.pattern.match(text.strip())
        if match is None:
            return None
        g = match.groupdict()
        try:
            if g.get("epoch"):
                base = float(g["epoch"])
                return base + _fraction(g.get("fraction"))
            return self._from_fields(g)
        except (ValueError, OverflowError):
            return None

    def _from_fields(self, g: dict[str, str | None]) -> float | None:
        now = datetime.fromtimestamp(self._now())
        month = int(str(g["month"])) if g.get("month") else (
            _month(str(g["monthname"])) if g.get("monthname") else now.month)
        day = int(str(g["day"]).strip()) if g.get("day") else now.day
        hour = int(str(g["hour"]).strip()) if g.get("hour") else 0
        if g.get("hour12"):
            hour = int(str(g["hour12"]).strip()) % 12
            if str(g.get("ampm") or "").lower() == "pm":
                hour += 12
        minute = int(g["minute"] or 0) if g.get("minute") else 0
        second = int(g["second"] or 0) if g.get("second") else 0
        micro = round(_fraction(g.get("fraction")) * 1_000_000)
        year_given = bool(g.get("year") or g.get("year2"))
        year = int(str(g["year"])) if g.get("year") else (
            2000 + int(str(g["year2"])) if g.get("year2") else now.year)
        if g.get("offset"):
            off = str(g["offset"])
            minutes = int(off[1:3]) * 60 + int(off[3:5])
            tz = timezone(timedelta(minutes=minutes if off[0] == "+" else -minutes))
            return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).timestamp()
        stamp = datetime(year, month, day, hour, minute, second, micro).timestamp()
        if not year_given and stamp > self._now() + 86400:
            # `%b %e %T` has no year: a December line read in January is last year's.
            stamp = datetime(year - 1, month, day, hour, minute, second, micro).timestamp()
        return stamp


def _fraction(text: str | None) -> float:
    return float("0." + text) if text else 0.0


def parse_event_tv(text: str) -> float | None:
    """The security log's EventTV, e.g. 2026-11-26T12:23:15.418+0000."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
                         r"([+-]\d{4})?", text.strip())
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(match.group(i)) for i in range(1, 7))
    micro = round(_fraction(match.group(7)) * 1_000_000)
    off = match.group(8)
    try:
        if off:
            minutes = int(off[1:3]) * 60 + int(off[3:5])
            tz = timezone(timedelta(minutes=minutes if off[0] == "+" else -minutes))
            return datetime(y, mo, d, h, mi, s, micro, tzinfo=tz).timestamp()
        return datetime(y, mo, d, h, mi, s, micro).timestamp()
    except ValueError:
        return None
