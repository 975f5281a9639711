"""One SIP message as PJSIP's history prints it: headers by name, body, URIs, wire bytes.

`pjsip show history entry N` prints the message pjsip parsed (pjsip_msg_print), not the
bytes on the wire: lines end in LF, and a message with a body shows Content-Type and
Content-Length twice (once as parsed headers, once again for the body; seen on Asterisk
22.10). `wire_bytes()` rebuilds a valid message from it (CRLF, one Content-Length that
matches the body) for the pcap export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

# RFC 3261 §7.3.3 and the extensions that define compact forms.
COMPACT = {"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
           "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
           "v": "via", "o": "event", "r": "refer-to", "b": "referred-by",
           "u": "allow-events", "x": "session-expires", "a": "accept-contact",
           "j": "reject-contact", "d": "request-disposition", "y": "identity"}
_BODY_HEADERS = ("content-type", "content-length")
_ANGLE = re.compile(r"<([^>]*)>")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_USER = re.compile(r"^(?:sips?:([^@;?>]+)@|tel:([^;?>]+))", re.IGNORECASE)
_HOSTPORT = re.compile(r"^(?:sips?):(?:[^@]*@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?",
                       re.IGNORECASE)
_VIA = re.compile(r"^SIP/2\.0/(?P<transport>\S+)\s+(?P<host>\[[^\]]+\]|[^:;\s]+)"
                  r"(?::(?P<port>\d+))?(?P<params>.*)$", re.IGNORECASE)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Untrusted SIP text made safe for a terminal: control characters (ESC, CR, C1,
    bidi overrides) become U+FFFD; newlines and tabs stay."""
    return _CONTROL.sub("\ufffd", text.replace("\r\n", "\n"))


def header_key(name: str) -> str:
    """Canonical lower-case header name (compact forms expanded)."""
    key = name.strip().lower()
    return COMPACT.get(key, key)


def uri_of(value: str) -> str:
    """The URI inside a name-addr (`"x" <sip:a@b>;tag=1`) or an addr-spec."""
    value = _QUOTED.sub('""', value)  # a display name may itself hold "<sip:...>"
    match = _ANGLE.search(value)
    if match is not None:
        return match.group(1).strip()
    return value.strip().split(";", 1)[0].split(",", 1)[0].strip()


def uri_user(uri: str) -> str:
    """User part of a sip:/sips:/tel: URI, without its parameters."""
    match = _USER.match(uri.strip())
    if match is None:
        return ""
    return (match.group(1) or match.group(2)).split(";")[0]


def uri_hostport(uri: str) -> tuple[str, int | None]:
    """Host (brackets removed) and port of a sip:/sips: URI."""
    match = _HOSTPORT.match(uri.strip())
    if match is None:
        return "", None
    return match.group(1).strip("[]"), int(match.group(2)) if match.group(2) else None


def param(value: str, name: str) -> str | None:
    """A `;name=value` parameter after the URI ('' for a flag, None when absent)."""
    rest = value.split(">", 1)[1] if ">" in value else value
    for part in rest.split(";")[1:]:
        key, sep, val = part.partition("=")
        if key.strip().lower() == name:
            return val.strip() if sep else ""
    return None


@dataclass(frozen=True)
class Via:
    """The parts of a Via header that NAT analysis looks at."""

    transport: str
    host: str
    port: int | None
    received: str | None
    rport: str | None  # '' when the flag is present without a value
    branch: str


def parse_via(value: str) -> Via | None:
    match = _VIA.match(value.strip())
    if match is None:
        return None
    params = ";" + match["params"].lstrip(";") if match["params"] else ""
    return Via(match["transport"].upper(), match["host"].strip("[]"),
               int(match["port"]) if match["port"] else None,
               param(params, "received"), param(params, "rport"),
               param(params, "branch") or "")


@dataclass(frozen=True)
class ParsedSip:
    """Start line, headers in order (name as written, value), and the body."""

    start: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @property
    def is_request(self) -> bool:
        return bool(self.start) and not self.start.startswith("SIP/2.0")

    @property
    def status(self) -> int | None:
        """Response code, or None for a request."""
        if not self.start.startswith("SIP/2.0 "):
            return None
        code = self.start.split(" ", 2)[1]
        return int(code) if code.isdigit() else None

    @property
    def reason(self) -> str:
        parts = self.start.split(" ", 2)
        return parts[2] if self.status is not None and len(parts) > 2 else ""

    @property
    def method(self) -> str:
        """Request method, or the CSeq method of a response."""
        if self.is_request:
            return self.start.split(" ", 1)[0]
        return self.cseq[1]

    @property
    def request_uri(self) -> str:
        parts = self.start.split(" ")
        return parts[1] if self.is_request and len(parts) > 1 else ""

    @property
    def cseq(self) -> tuple[int, str]:
        parts = self.get("cseq").split()
        number = int(parts[0]) if parts and parts[0].isdigit() else -1
        return number, parts[1].upper() if len(parts) > 1 else ""

    @cached_property
    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, value in self.headers:
            index.setdefault(header_key(name), []).append(value)
        return index

    def get(self, name: str) -> str:
        """First value of a header ('' when absent); compact forms are the same header."""
        values = self._index.get(header_key(name))
        return values[0] if values else ""

    def all(self, name: str) -> list[str]:
        """Every value of a header, comma-separated values split (Via, Diversion)."""
        out: list[str] = []
        for value in self._index.get(header_key(name), []):
            out.extend(_split_commas(value))
        return out

    @property
    def call_id(self) -> str:
        return self.get("call-id")

    @property
    def top_via(self) -> Via | None:
        vias = self.all("via")
        return parse_via(vias[0]) if vias else None

    def wire_bytes(self) -> bytes:
        """The message as it goes on the wire: CRLF, one Content-Length matching the body."""
        body = self.body.replace("\r\n", "\n").replace("\n", "\r\n") if self.body else ""
        payload = body.encode("utf-8", "surrogateescape")
        lines = [self.start]
        content_type = ""
        for name, value in self.headers:
            key = header_key(name)
            if key == "content-type":
                content_type = content_type or value
                continue
            if key == "content-length":
                continue
            lines.append(f"{name}: {value}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + payload


def _split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    out, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char == ",":
            out.append(value[start:index].strip())
            start = index + 1
    out.append(value[start:].strip())
    return [part for part in out if part]


def parse_sip(text: str) -> ParsedSip:
    """Parse a message printed by PJSIP (LF or CRLF); unfolds continuation lines."""
    head, sep, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    start = lines[0].strip() if lines else ""
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers.append((name.strip(), value.strip()))
    return ParsedSip(start, tuple(headers), body.strip("\n") + "\n" if sep and body.strip()
                     else "")
