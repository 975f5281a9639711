"""Host facts through pyroute2: interfaces, addresses (public or private), route per provider.

pyroute2 facts (reference §1.1): `IPRoute(netns=NAME)` silently *creates* a missing
namespace unless flags=0; `route('get', dst=X)` is the kernel's own FIB lookup (policy
routing included); a fresh IPv6 address is tentative (DAD) for about a second.
Reading links, addresses and routes needs no root.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from trunkconsole.net.sockets import ListeningSocket

IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
CGNAT = ipaddress.ip_network("100.64.0.0/10")
# documentation ranges stand in for public addresses in the lab and the tests
DOCUMENTATION = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24",
                                                   "203.0.113.0/24", "2001:db8::/32")]


def is_private(address: str) -> bool:
    """RFC 1918, CGNAT 100.64/10, ULA fc00::/7, loopback and link-local count as private."""
    ip = ipaddress.ip_address(address)
    if any(ip in net for net in DOCUMENTATION):
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or (
        ip.version == 4 and ip in CGNAT)


@dataclass(frozen=True)
class HostAddress:
    ifname: str
    address: str
    prefixlen: int
    tentative: bool = False
    dadfailed: bool = False

    @property
    def private(self) -> bool:
        return is_private(self.address)

    @property
    def network(self) -> str:
        return str(ipaddress.ip_interface(f"{self.address}/{self.prefixlen}").network)


@dataclass(frozen=True)
class RouteFact:
    """`ip route get DST`: which interface and source address reach a provider."""

    dst: str
    oif: str | None
    prefsrc: str | None
    gateway: str | None
    error: str = ""


@dataclass
class HostFacts:
    interfaces: list[str] = field(default_factory=list)
    addresses: list[HostAddress] = field(default_factory=list)
    routes: dict[str, RouteFact] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sockets: list[ListeningSocket] | None = None  # None: not read

    def local(self) -> set[str]:
        return {a.address for a in self.addresses}

    def owner_of(self, address: str) -> HostAddress | None:
        return next((a for a in self.addresses if a.address == address), None)


def _attr(message: Any, name: str) -> Any:
    getter = getattr(message, "get_attr", None)
    return getter(name) if getter is not None else None


# `route get` per provider address costs about 1 ms: a config with 10,000 provider
# addresses spent 10 s here (twice in a bundle). Trunks have a few addresses each.
MAX_ROUTE_LOOKUPS = 500


def read_host(destinations: list[str], netns: str | None = None) -> HostFacts:
    """Addresses, interfaces and `route get` for each destination (pyroute2 IPRoute)."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    facts = HostFacts()
    try:
        ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
    except (OSError, NetlinkError) as exc:
        facts.errors.append(f"cannot open rtnetlink: {exc}")
        return facts
    with ipr:
        names = {link["index"]: _attr(link, "IFLA_IFNAME") for link in ipr.get_links()}
        facts.interfaces = [n for n in names.values() if n]
        for msg in ipr.get_addr():
            address = _attr(msg, "IFA_LOCAL") or _attr(msg, "IFA_ADDRESS")
            if not address:
                continue
            flags = _attr(msg, "IFA_FLAGS") or msg["flags"]
            facts.addresses.append(HostAddress(
                names.get(msg["index"], "?"), address, msg["prefixlen"],
                bool(flags & IFA_F_TENTATIVE), bool(flags & IFA_F_DADFAILED)))
        wanted = list(dict.fromkeys(destinations))
        if len(wanted) > MAX_ROUTE_LOOKUPS:
            facts.errors.append(
                f"routes looked up for the first {MAX_ROUTE_LOOKUPS:,} of {len(wanted):,} "
                "provider addresses only (one netlink query each)")
        for dst in wanted[:MAX_ROUTE_LOOKUPS]:
            try:
                route = ipr.route("get", dst=dst)[0]
            except (NetlinkError, OSError, ValueError) as exc:
                facts.routes[dst] = RouteFact(dst, None, None, None, str(exc))
                continue
            facts.routes[dst] = RouteFact(dst, names.get(_attr(route, "RTA_OIF")),
                                          _attr(route, "RTA_PREFSRC"),
                                          _attr(route, "RTA_GATEWAY"))
    return facts
