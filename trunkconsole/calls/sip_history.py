"""SIP messages from PJSIP's history buffer: `pjsip show history` and its entries, parsed.

Read-only: switching the logger and the history buffer on and off is changes/sip_logger.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trunkconsole.errors import OperatorError

SIP_METHODS = ("INVITE", "CANCEL", "ACK", "BYE", "REGISTER", "OPTIONS", "SUBSCRIBE",
               "NOTIFY", "PUBLISH", "INFO", "MESSAGE")
_LIST_LINE = re.compile(
    r"^(?P<number>\d{5,})\s+(?P<ts>\d+)\s+\*\s+(?P<dir><==|==>)\s+(?P<addr>\S+)\s+(?P<first>.*)$")
ENTRY_HEADER = re.compile(r"^<--- History Entry (\d+) (Received from|Sent to) (\S+) at (\d+)")


def parse_method(value: str) -> str:
    """A SIP method the logger can filter on (upper-cased); anything else is refused."""
    method = value.upper()
    if method not in SIP_METHODS:
        raise OperatorError(f"unknown SIP method {value!r}",
                            fix="one of " + ", ".join(SIP_METHODS))
    return method


@dataclass(frozen=True)
class SipMessage:
    """One SIP message from the history buffer."""

    number: int
    timestamp: int
    received: bool  # True: from the peer to Asterisk
    address: str  # ip:port of the peer
    first_line: str
    text: str = ""

    @property
    def is_request(self) -> bool:
        """A request (INVITE, BYE, ...), not a response, whose method comes from CSeq."""
        return not self.first_line.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        """Request method, or the method of the CSeq for responses."""
        if not self.first_line.startswith("SIP/2.0"):
            return self.first_line.split(" ", 1)[0]
        for line in self.text.splitlines():
            if line.lower().startswith("cseq:"):
                return line.split()[-1].upper()
        return ""

    @property
    def call_id(self) -> str:
        for line in self.text.splitlines():
            if line.lower().startswith(("call-id:", "i:")):
                return line.split(":", 1)[1].strip()
        return ""

    @property
    def host(self) -> str:
        host, _, _port = self.address.rpartition(":")
        return host.strip("[]") or self.address


def parse_history_list(lines: list[str]) -> list[SipMessage]:
    """Summary lines of `pjsip show history` (number, time, direction, address, line)."""
    out = []
    for line in lines:
        match = _LIST_LINE.match(line.strip())
        if match:
            out.append(SipMessage(int(match["number"]), int(match["ts"]),
                                  match["dir"] == "<==", match["addr"], match["first"]))
    return out


def parse_entry(lines: list[str]) -> str:
    """The SIP message of `pjsip show history entry N`, without Asterisk's header line."""
    body = [line for line in lines if not ENTRY_HEADER.match(line)]
    return "\n".join(body).strip("\n")
