"""Identify `match=` entries: addresses, networks, ports and hostnames.

res/res_pjsip_endpoint_identifier_ip.c: an entry with a '/' or one that parses as an
address (with an optional port, IPv6 in brackets) goes to the ACL
(ast_append_ha_with_port), and a bad one rejects the identify; anything else is a
hostname, resolved once when the config loads and never again.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Match:
    """One parsed match entry."""

    raw: str
    address: IPAddress | None = None  # network address (host bits kept as written)
    mask: int = 0  # netmask as an integer; may be non-contiguous (dotted form)
    port: int | None = None
    host: str | None = None  # hostname entry
    error: str | None = None  # why Asterisk rejects it

    @property
    def is_host(self) -> bool:
        return self.host is not None

    @property
    def version(self) -> int:
        return self.address.version if self.address is not None else 0

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    @property
    def prefix_length(self) -> int | None:
        """The prefix length when the mask is contiguous."""
        if self.address is None:
            return None
        ones = bin(self.mask).count("1")
        full = (1 << self.bits) - 1
        contiguous = self.mask == (full ^ ((1 << (self.bits - ones)) - 1)) & full
        return ones if contiguous else None

    @property
    def size(self) -> int:
        """How many addresses the entry covers."""
        if self.address is None:
            return 0
        return 1 << (self.bits - bin(self.mask).count("1"))

    def network_text(self) -> str:
        """The entry as Asterisk shows it: network/prefix (port appended if any)."""
        if self.address is None:
            return self.raw
        net = int(self.address) & self.mask
        addr = ipaddress.ip_address(net) if self.version == 4 else ipaddress.IPv6Address(net)
        length = self.prefix_length
        mask_text = str(length) if length is not None else str(
            ipaddress.ip_address(self.mask) if self.version == 4 else self.mask)
        text = f"{addr}/{mask_text}"
        return f"{text}:{self.port}" if self.port is not None else text

    def overlaps(self, other: Match) -> bool:
        """True when some source address (and port) matches both entries."""
        if self.address is None or other.address is None or self.version != other.version:
            return False
        if self.port is not None and other.port is not None and self.port != other.port:
            return False
        common = self.mask & other.mask
        return (int(self.address) ^ int(other.address)) & common == 0

    def contains(self, address: IPAddress, port: int | None = None) -> bool:
        """True when a packet from address (and port) matches this entry."""
        if self.address is None or address.version != self.version:
            return False
        if self.port is not None and port is not None and port != self.port:
            return False
        return (int(self.address) ^ int(address)) & self.mask == 0


def _parse_address(text: str) -> tuple[IPAddress, int | None] | None:
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
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if port is not None and not 0 <= port <= 65535:
        return None
    return address, port


def _parse_mask(text: str, version: int) -> int | None:
    bits = 32 if version == 4 else 128
    if text.isdigit():
        length = int(text)
        if length > bits:
            return None
        full = (1 << bits) - 1
        return full ^ ((1 << (bits - length)) - 1)
    try:
        mask = ipaddress.ip_address(text)
    except ValueError:
        return None
    if mask.version != version:
        return None
    return int(mask)


def parse_match(entry: str) -> Match:
    """Parse one element of a match= list (already stripped)."""
    slash = entry.rfind("/")
    if slash < 0:
        parsed = _parse_address(entry)
        if parsed is None:
            return Match(raw=entry, host=entry)
        address, port = parsed
        return Match(raw=entry, address=address, mask=(1 << address.max_prefixlen) - 1,
                     port=port)
    parsed = _parse_address(entry[:slash])
    if parsed is None:
        return Match(raw=entry, error=f"'{entry[:slash]}' is not an IP address")
    address, port = parsed
    mask = _parse_mask(entry[slash + 1:], address.version)
    if mask is None:
        return Match(raw=entry, error=f"'{entry[slash + 1:]}' is not a netmask")
    return Match(raw=entry, address=address, mask=mask, port=port)


def split_host_port(entry: str) -> tuple[str, int | None]:
    """A hostname match with an optional :port (a port disables SRV lookups)."""
    if entry.count(":") == 1:
        host, port = entry.split(":")
        if port.isdigit():
            return host, int(port)
    return entry, None
