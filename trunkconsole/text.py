"""Untrusted text made safe to print: no control characters reach a terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """text with control characters (escape sequences, bidi overrides) as '?' and tabs as
    spaces: log lines and SIP headers come from strangers."""
    return _CONTROL.sub("?", text.replace("\t", " "))
