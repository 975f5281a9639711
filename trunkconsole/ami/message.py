"""One AMI message as trunkconsole reads it: lower-case keys, repeated headers as lists.

Independent of panoramisk so the model (and its benchmark) never imports the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Headers Asterisk may repeat in one message: always read as a list, even when they occur
# once (panoramisk gives a str for one and a list for several; reference §7.4).
REPEATABLE: frozenset[str] = frozenset(
    {"output", "contacts", "chanvariable", "variable", "state"}
)

# Headers that carry secrets: AuthDetail/AuthList print Password and Md5Cred in clear,
# TransportDetail the TLS key Password (reference §1.1); Asterisk 22's auth objects also
# carry PasswordDigest (a precomputed digest is as good as the password to a caller) and
# the OAuth RefreshToken. Dropped at the parser.
SECRET_KEYS: frozenset[str] = frozenset(
    {"password", "secret", "md5cred", "privkeypassword", "passworddigest", "refreshtoken"}
)


def is_secret_key(key: str) -> bool:
    """True for header names that may carry a password (lower-case key)."""
    return key in SECRET_KEYS or key.endswith(("password", "secret"))


@dataclass(slots=True)
class AmiMessage:
    """An event or a response: `fields` has the first value of every header."""

    fields: dict[str, str]
    lists: dict[str, list[str]] = field(default_factory=dict)

    @property
    def event(self) -> str:
        return self.fields.get("event", "")

    @property
    def response(self) -> str:
        return self.fields.get("response", "")

    @property
    def action_id(self) -> str:
        return self.fields.get("actionid", "")

    def get(self, key: str, default: str = "") -> str:
        """First value of a header (key in lower case)."""
        return self.fields.get(key, default)

    def values(self, key: str) -> list[str]:
        """Every value of a header, in order ([] when absent)."""
        found = self.lists.get(key)
        if found is not None:
            return found
        value = self.fields.get(key)
        return [] if value is None else [value]


# Raw header name -> its lower-case key ("" when dropped). Asterisk's header names are a
# small fixed set; the bound keeps a peer inventing names from growing it.
_KEYS: dict[str, str] = {}
_KEYS_MAX = 4096


def _key(raw: str) -> str:
    key = raw.strip().lower()
    if is_secret_key(key):
        key = ""
    if len(_KEYS) < _KEYS_MAX:
        _KEYS[raw] = key
    return key


def parse_block(block: str) -> AmiMessage | None:
    """Parse one message (the text between blank lines) into an AmiMessage.

    Unlike panoramisk 1.4 the block is not stripped first, so `Key: ` on the last line
    keeps its empty value; exactly one space after the colon is removed, so the
    leading spaces of CLI `Output:` lines survive. Secret headers are dropped here.
    A stray CR is dropped rather than kept inside a value.
    """
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    # Lines end in CRLF, but some texts carry their own LF ("Message: No Contacts
    # found\n\r\n" in 22.x): split on LF and drop the CR.
    keys = _KEYS
    for line in block.replace("\r\n", "\n").split("\n"):
        raw, sep, value = line.partition(":")
        if not sep:
            continue
        key = keys.get(raw)
        if key is None:
            key = _key(raw)
        if not key:
            continue
        if value[:1] == " ":
            value = value[1:]
        if key in fields:
            if key in lists:
                lists[key].append(value)
            else:
                lists[key] = [fields[key], value]
        else:
            fields[key] = value
            if key in REPEATABLE:
                lists[key] = [value]
    if not fields:
        return None
    return AmiMessage(fields, lists)


def parse_stream(data: bytes) -> list[AmiMessage]:
    """Parse a recorded AMI byte stream (tests and benchmarks); skips the greeting."""
    if data.startswith(b"Asterisk Call Manager/"):
        data = data.partition(b"\r\n")[2]
    out = []
    for raw in data.split(b"\r\n\r\n"):
        message = parse_block(raw.strip(b"\r\n").decode("utf-8", "replace"))
        if message is not None:
            out.append(message)
    return out


# RTCP reports (RTCPSent/RTCPReceived, read class `reporting`): one per call every
# rtcpinterval (5 s by default) each way, ~35 headers each, of which calls/quality.py
# reads these. 500 calls are ~200 such events a second: they are read by finding these
# headers in the raw bytes instead of splitting every line (about half the cost).
RTCP_PREFIX = b"Event: RTCP"
RTCP_EVENTS: frozenset[str] = frozenset({"RTCPSent", "RTCPReceived"})
RTCP_HEADERS: tuple[tuple[bytes, str], ...] = tuple(
    (f"\n{name}:".encode(), name.lower()) for name in (
        "Channel", "Uniqueid", "RTT", "Report0FractionLost", "Report0CumulativeLost",
        "Report0HighestSequence", "Report0SequenceNumberCycles", "Report0IAJitter"))


def parse_rtcp(block: bytes) -> AmiMessage | None:
    """The headers calls/quality.py reads from one RTCPSent/RTCPReceived block (None for
    any other block: parse it with parse_block). Values as parse_block gives them (one
    space after the colon dropped, a stray CR dropped, invalid UTF-8 replaced)."""
    end = block.find(b"\n")
    first = block[:end] if end >= 0 else block
    event = first[len(b"Event: "):].rstrip(b"\r").decode("utf-8", "replace")
    if not first.startswith(RTCP_PREFIX) or event not in RTCP_EVENTS:
        return None
    fields = {"event": event}
    for mark, key in RTCP_HEADERS:
        at = block.find(mark)
        if at < 0:
            continue
        at += len(mark)
        stop = block.find(b"\n", at)
        value = block[at:stop if stop >= 0 else len(block)]
        if value[-1:] == b"\r":  # the CR of CRLF
            value = value[:-1]
        fields[key] = (value[1:] if value[:1] == b" " else value).decode("utf-8", "replace")
    return AmiMessage(fields)
