"""rtp.conf: the RTP port range Asterisk allocates from.

res/res_rtp_asterisk.c rtp_reload(): rtpstart/rtpend default to 5000/31000; each is read
with atoi() and clamped to 1024-65535; an odd start is rounded up ("Odd start value for
RTP port in rtp.conf, rounding up to N"); start >= end gives "Unreasonable values for RTP
start/end port in rtp.conf" and the defaults. Values come from the first [general]
section, last line wins (ast_variable_retrieve()).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trunkconsole.conf.tree import LoadedConfig, Variable

DEFAULT_START = 5000
DEFAULT_END = 31000
MINIMUM_PORT = 1024
MAXIMUM_PORT = 65535


def atoi(text: str) -> int:
    """C atoi(): optional blanks and sign, then digits; anything else stops it (0 if none)."""
    found = re.match(r"[ \t\n\v\f\r]*([+-]?\d+)", text)
    if not found:
        return 0
    value = int(found.group(1))
    return max(min(value, 2**31 - 1), -(2**31))


@dataclass
class RtpRange:
    """The effective range and how it was derived."""

    start: int = DEFAULT_START
    end: int = DEFAULT_END
    start_line: Variable | None = None
    end_line: Variable | None = None
    notes: list[str] = field(default_factory=list)  # Asterisk's warnings, in its words
    defaulted: bool = True  # neither value set

    @property
    def ports(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "notes": self.notes,
                "start_origin": self.start_line.location() if self.start_line else None,
                "end_origin": self.end_line.location() if self.end_line else None}


def _clamp(value: int) -> int:
    return max(MINIMUM_PORT, min(MAXIMUM_PORT, value))


def rtp_range(rtp: LoadedConfig | None) -> RtpRange:
    """The RTP range from a loaded rtp.conf (None or missing file: the defaults)."""
    result = RtpRange()
    if rtp is None or not rtp.found or not rtp.valid:
        return result
    start_var = rtp.retrieve("general", "rtpstart")
    end_var = rtp.retrieve("general", "rtpend")
    result.start_line, result.end_line = start_var, end_var
    start, end = DEFAULT_START, DEFAULT_END
    if start_var is not None:
        start = _clamp(atoi(start_var.value))
        if start % 2:
            start += 1
            result.notes.append(
                f"Odd start value for RTP port in rtp.conf, rounding up to {start}")
    if end_var is not None:
        end = _clamp(atoi(end_var.value))
    if start >= end:
        result.notes.append("Unreasonable values for RTP start/end port in rtp.conf")
        start, end = DEFAULT_START, DEFAULT_END
    result.start, result.end = start, end
    result.defaulted = start_var is None and end_var is None
    return result
