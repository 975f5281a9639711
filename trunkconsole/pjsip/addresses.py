"""Validating a provider address an operator types, and reading Asterisk's match lists."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.matches import Match, parse_match

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::\d{1,5})?\Z")
_FORBIDDEN = re.compile(r"[\s,;\"'\\\[\]<>=\x00-\x1f\x7f]")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ProviderAddress:
    """A validated identify match entry: IP, CIDR, IP/mask or hostname, maybe a port."""

    text: str  # as it will be written into match=
    match: Match

    @property
    def is_hostname(self) -> bool:
        return self.match.is_host

    @property
    def size(self) -> int:
        return 0 if self.match.is_host else self.match.size

    def network(self) -> Network | None:
        m = self.match
        if m.address is None:
            return None
        prefix = m.prefix_length
        if prefix is None:
            return None
        return ipaddress.ip_network(f"{m.address}/{prefix}", strict=False)


def parse_provider_address(text: str, *, force: bool = False) -> ProviderAddress:
    """Check what an operator typed; refuse junk, CR/LF, lists and huge ranges (unless forced).

    Asterisk accepts IP, IP/prefix, IP/dotted-mask, IP:port and hostnames in `match`
    (res_pjsip_endpoint_identifier_ip.c); a hostname is resolved only at (re)load.
    """
    value = text.strip()
    bracketed_v6 = value.startswith("[") and "]" in value
    if not value or (_FORBIDDEN.search(value) and not bracketed_v6):
        raise OperatorError(f"{text!r} is not a provider address",
                            fix="give one IP (203.0.113.10), network (203.0.113.0/24), "
                            "IP/mask or hostname, without spaces or commas")
    if bracketed_v6 and re.search(r"[\s,;\"'\\<>=\x00-\x1f\x7f]", value):
        raise OperatorError(f"{text!r} is not a provider address")
    match = parse_match(value)
    if match.error:
        raise OperatorError(f"{text!r} is not a provider address", evidence=match.error)
    if match.is_host and not _HOSTNAME.match(value):
        raise OperatorError(f"{text!r} is neither an IP address nor a valid hostname")
    if match.address is not None:
        ones = bin(match.mask).count("1")
        if match.prefix_length is None:
            raise OperatorError(f"{text!r} has a non-contiguous netmask",
                                fix="write the network as address/prefix")
        limit = 16 if match.version == 4 else 48
        if ones < limit and not force:
            raise OperatorError(
                f"{text!r} covers {match.size} addresses: anyone there could call in as "
                "this trunk", fix="match only the provider's documented addresses, or "
                "pass --force if this range really is the provider's")
    return ProviderAddress(value, match)


def parse_ami_matches(value: str) -> list[tuple[Network, int | None]]:
    """IdentifyDetail `Match:` (ast_ha_join: `addr[:port]/dotted-mask,...`) to networks."""
    out: list[tuple[Network, int | None]] = []
    for entry in filter(None, (e.strip() for e in value.split(","))):
        parsed = parse_match(entry)
        if parsed.address is None or parsed.prefix_length is None:
            continue
        net = ipaddress.ip_network(
            f"{ipaddress.ip_address(int(parsed.address) & parsed.mask)}/{parsed.prefix_length}")
        out.append((net, parsed.port))
    return out
