"""Hangup causes (Q.850, as Asterisk's Hangup event carries them) in a few classes.

A bounded set, for journal rows and metric labels. SIP codes map to causes in
res_pjsip (reference calls-history §4): 404->1, 486->17, 480->19, 403->21, 488->58,
503->34. Cause 0 with no SIP code is what Asterisk 22 reports for a plain BYE.
"""

from __future__ import annotations

CLASSES = ("normal", "busy", "no_answer", "rejected", "unroutable", "congestion", "media",
           "other")
_BY_CAUSE = {
    0: "normal", 16: "normal", 31: "normal",
    17: "busy",
    18: "no_answer", 19: "no_answer",
    21: "rejected", 50: "rejected", 55: "rejected", 57: "rejected",
    1: "unroutable", 2: "unroutable", 3: "unroutable", 28: "unroutable",
    27: "congestion", 34: "congestion", 38: "congestion", 41: "congestion", 42: "congestion",
    44: "congestion", 47: "congestion",
    58: "media", 65: "media", 79: "media", 88: "media",
}


def cause_class(cause: int, tech_cause: int | None = None) -> str:
    """One of CLASSES."""
    if cause == 0 and tech_cause:
        if tech_cause == 403:
            return "rejected"
        if tech_cause >= 400:
            return "other"
    return _BY_CAUSE.get(cause, "other")


def failed(klass: str) -> bool:
    """A class that means the call did not work for a reason on the path (not the callee)."""
    return klass in ("rejected", "unroutable", "congestion", "media", "other")
