"""Identify `match=` entries: addresses, networks, ports and hostnames.

res/res_pjsip_endpoint_identifier_ip.c: an entry with a '/' or one that parses as an
address (with an optional port, IPv6 in brackets) goes to the ACL
(ast_append_ha_with_port), and a bad one rejects the identify; anything else is a
hostname, resolved once when the config loads and never again. When getaddrinfo()
fails at that moment, 22.10 logs "Identify 'x' failed when adding resolution results of
'host'" and cannot build the identify: at a start it has none, on a reload it keeps the
one it had ("Retaining existing configuration"; both seen in the lab); an empty answer
only warns.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import cached_property, lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Match:
    """One parsed match entry; addresses are integers (version 4 or 6, 0 for none)."""

    raw: str
    version: int = 0
    value: int = 0  # the address as written (host bits kept)
    mask: int = 0  # netmask as an integer; may be non-contiguous (dotted form)
    port: int | None = None
    host: str | None = None  # hostname entry
    error: str | None = None  # why Asterisk rejects it

    @property
    def is_host(self) -> bool:
        return self.host is not None

    @property
    def is_address(self) -> bool:
        return self.version != 0

    @property
    def address(self) -> IPAddress | None:
        """The address as an ipaddress object (None for hostnames and errors)."""
        if not self.version:
            return None
        if self.version == 4:
            return ipaddress.IPv4Address(self.value)
        return ipaddress.IPv6Address(self.value)

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    @property
    def start(self) -> int:
        """First address covered."""
        return self.value & self.mask

    @property
    def end(self) -> int:
        """Last address covered (for a contiguous mask)."""
        return self.start | (((1 << self.bits) - 1) ^ self.mask)

    @cached_property
    def span(self) -> tuple[int, int]:
        """(start, end) for sorting entries of both families in one list: IPv6 ones are
        offset by 2**128, above every IPv4 address (cached: parse_match() keeps Matches)."""
        offset = 0 if self.version == 4 else 1 << 128
        return offset + self.start, offset + self.end

    @property
    def prefix_length(self) -> int | None:
        """The prefix length when the mask is contiguous."""
        if not self.version:
            return None
        ones = bin(self.mask).count("1")
        full = (1 << self.bits) - 1
        return ones if self.mask == full ^ ((1 << (self.bits - ones)) - 1) else None

    @property
    def size(self) -> int:
        """How many addresses the entry covers."""
        return 1 << (self.bits - bin(self.mask).count("1")) if self.version else 0

    def network_text(self) -> str:
        """The entry as network/prefix (port appended if any)."""
        if not self.version:
            return self.raw
        net = ipaddress.IPv4Address(self.start) if self.version == 4 else ipaddress.IPv6Address(
            self.start)
        length = self.prefix_length
        if length is not None:
            text = f"{net}/{length}"
        else:
            text = f"{net}/{ipaddress.IPv4Address(self.mask) if self.version == 4 else self.mask}"
        return f"{text}:{self.port}" if self.port is not None else text

    def overlaps(self, other: Match) -> bool:
        """True when some source address (and port) matches both entries."""
        if not self.version or self.version != other.version:
            return False
        if self.port is not None and other.port is not None and self.port != other.port:
            return False
        return (self.value ^ other.value) & self.mask & other.mask == 0

    def covers(self, other: Match) -> bool:
        """True when every address of `other` matches this entry (ports ignored)."""
        if not self.version or self.version != other.version:
            return False
        return (self.value ^ other.value) & self.mask == 0 and (
            self.mask & ~other.mask) == 0

    def contains(self, address: IPAddress, port: int | None = None) -> bool:
        """True when a packet from address (and port) matches this entry."""
        if not self.version or address.version != self.version:
            return False
        if self.port is not None and port is not None and port != self.port:
            return False
        return (self.value ^ int(address)) & self.mask == 0


def _ip(text: str) -> tuple[int, int] | None:
    """(version, integer) of a numeric address; inet_pton() is faster than ipaddress."""
    try:
        if ":" in text:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, ValueError):
        return None


def _parse_address(text: str) -> tuple[int, int, int | None] | None:
    """ast_sockaddr_parse(): 'a.b.c.d', 'a.b.c.d:port', '[v6]', '[v6]:port' or bare v6."""
    port: int | None = None
    host = text
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        host, rest = text[1:close], text[close + 1:]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text.isdigit():
            return None
        port = int(port_text)
    parsed = _ip(host)
    if parsed is None or (port is not None and port > 65535):
        return None
    return parsed[0], parsed[1], port


def _parse_mask(text: str, version: int) -> int | None:
    bits = 32 if version == 4 else 128
    if text.isdigit():
        length = int(text)
        if length > bits:
            return None
        return ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1)
    parsed = _ip(text)
    if parsed is None or parsed[0] != version:
        return None
    return parsed[1]


@lru_cache(maxsize=1 << 17)
def parse_match(entry: str) -> Match:
    """Parse one element of a match= list (already stripped); cached by text."""
    slash = entry.rfind("/")
    if slash < 0:
        parsed = _parse_address(entry)
        if parsed is None:
            return Match(raw=entry, host=entry)
        version, value, port = parsed
        return Match(raw=entry, version=version, value=value,
                     mask=(1 << (32 if version == 4 else 128)) - 1, port=port)
    parsed = _parse_address(entry[:slash])
    if parsed is None:
        return Match(raw=entry, error=f"'{entry[:slash]}' is not an IP address")
    version, value, port = parsed
    mask = _parse_mask(entry[slash + 1:], version)
    if mask is None:
        return Match(raw=entry, error=f"'{entry[slash + 1:]}' is not a netmask")
    return Match(raw=entry, version=version, value=value, mask=mask, port=port)


def split_host_port(entry: str) -> tuple[str, int | None]:
    """A hostname match with an optional :port (a port disables SRV lookups)."""
    if entry.count(":") == 1:
        host, port = entry.split(":")
        if port.isdigit():
            return host, int(port)
    return entry, None


def resolve_host(host: str) -> set[str] | None:
    """Every address `host` resolves to now, as Asterisk asks for them (any family);
    None when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        return None
    return {str(info[4][0]).split("%", 1)[0] for info in infos} or None
