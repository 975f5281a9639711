"""Values as the kernel compares them: addresses and ports as integers, names as numbers.

nft sets hold intervals after auto-merge (reference §2.2), so every int-like set here is
a sorted list of disjoint [lo, hi] intervals searched with bisect; 50,000 elements cost a
few microseconds per lookup.
"""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import itemgetter
from typing import Generic, TypeVar

from trunkconsole.net.ir import Flags, Prefix, Range

T = TypeVar("T")

PROTOCOLS: dict[str, int] = {
    "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
    "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "udplite": 136, "dccp": 33,
}
PROTOCOL_NAMES: dict[int, str] = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp"}
# conntrack state and status bits as nft's `ct state` / `ct status` (nft describe)
CT_INVALID, CT_ESTABLISHED, CT_RELATED, CT_NEW, CT_UNTRACKED = 1, 2, 4, 8, 64
CT_STATUS_SEEN_REPLY, CT_STATUS_CONFIRMED, CT_STATUS_SNAT, CT_STATUS_DNAT = 2, 8, 16, 32
CT_STATE: dict[str, int] = {
    "invalid": CT_INVALID, "established": CT_ESTABLISHED, "related": CT_RELATED,
    "new": CT_NEW, "untracked": CT_UNTRACKED,
}
CT_STATUS: dict[str, int] = {
    "expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16, "dnat": 32,
    "dying": 512,
}
TCP_FLAGS: dict[str, int] = {
    "fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64, "cwr": 128,
}
# `nft describe icmp type` / `icmpv6 type` / `icmp code` / `icmpv6 code` (nft 1.0.6)
ICMP_TYPE: dict[str, int] = {
    "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
    "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10,
    "time-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
    "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
    "address-mask-request": 17, "address-mask-reply": 18,
}
ICMPV6_TYPE: dict[str, int] = {
    "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
    "parameter-problem": 4, "echo-request": 128, "echo-reply": 129,
    "mld-listener-query": 130, "mld-listener-report": 131, "mld-listener-done": 132,
    "mld-listener-reduction": 132, "nd-router-solicit": 133, "nd-router-advert": 134,
    "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136, "nd-redirect": 137,
    "router-renumbering": 138, "ind-neighbor-solicit": 141, "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
ICMP_CODE: dict[str, int] = {
    "net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2,
    "port-unreachable": 3, "frag-needed": 4, "net-prohibited": 9, "host-prohibited": 10,
    "admin-prohibited": 13,
}
ICMPV6_CODE: dict[str, int] = {
    "no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
    "policy-fail": 5, "reject-route": 6,
}
NAMED: dict[str, dict[str, int]] = {
    "icmptype": ICMP_TYPE,
    "icmpv6type": ICMPV6_TYPE,
    "icmpcode": ICMP_CODE,
    "icmpv6code": ICMPV6_CODE,
    "proto": PROTOCOLS,
    "ctstate": CT_STATE,
    "ctstatus": CT_STATUS,
    "tcpflags": TCP_FLAGS,
    "nfproto": {"ipv4": 2, "ipv6": 10},
    "ethertype": {"ip": 0x0800, "ip6": 0x86DD, "arp": 0x0806, "vlan": 0x8100},
    "pkttype": {"host": 0, "unicast": 0, "broadcast": 1, "multicast": 2, "other": 3},
    "fibtype": {
        "unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5,
        "blackhole": 6, "unreachable": 7, "prohibit": 8,
    },
    "ctdir": {"original": 0, "reply": 1},
    "iftype": {"ether": 1, "loopback": 772},
    "int": {
        "sip": 5060, "sips": 5061, "sip-tls": 5061, "ssh": 22, "http": 80, "https": 443,
        "domain": 53,
    },
}
STRING_SPACES = frozenset({"ifname", "str"})
MAX = (1 << 128) - 1


class ValueError_(ValueError):
    """A value that does not fit its field (e.g. an IPv6 address in an ipv4 set)."""


@dataclass(frozen=True, slots=True)
class PortSpan:
    """A destination port interval standing for a whole RTP class during evaluation."""

    lo: int
    hi: int


class PortSplit(Exception):
    """The port span straddles a rule boundary: split it at these points and re-evaluate."""

    def __init__(self, points: list[int]) -> None:
        super().__init__(points)
        self.points = points


def parse_address(text: str, space: str) -> int:
    """An address literal as an integer (inet_pton: 50,000 set elements must parse fast)."""
    try:
        family = socket.AF_INET6 if space == "ipv6" else socket.AF_INET
        return int.from_bytes(socket.inet_pton(family, text), "big")
    except OSError:
        pass
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise ValueError_(f"not an address: {text!r}") from exc
    if space == "ipv4" and address.version != 4:
        raise ValueError_(f"not an IPv4 address: {text!r}")
    if space == "ipv6" and address.version != 6:
        raise ValueError_(f"not an IPv6 address: {text!r}")
    return int(address)


def scalar(value: int | str | bool, space: str) -> int | str:
    """One scalar in the integer (or string) form of its key space."""
    if space in STRING_SPACES:
        return str(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if space in ("ipv4", "ipv6"):
        return parse_address(value, space)
    names = NAMED.get(space, {})
    if value in names:
        return names[value]
    try:
        return int(value, 0)
    except ValueError:
        pass
    if space == "int" and value in PROTOCOLS:
        return PROTOCOLS[value]
    if space == "proto":
        try:  # nft names protocols from /etc/protocols (`ip protocol ethernet` is 143)
            return socket.getprotobyname(value)
        except (OSError, ValueError):  # ValueError: a NUL in the name (a fuzzed save)
            pass
    raise ValueError_(f"unknown {space} value {value!r}")


def interval(atom: int | str | bool | Prefix | Range | Flags, space: str) -> tuple[int, int]:
    """An atom as a closed integer interval: a prefix, a range, a flag combination or one value."""
    if isinstance(atom, Prefix):
        if space in ("ipv4", "ipv6"):
            bits = 32 if space == "ipv4" else 128
            base = parse_address(atom.addr, space)
            host = (1 << (bits - atom.length)) - 1
            return base & ~host, (base & ~host) | host
        net = ipaddress.ip_network(f"{atom.addr}/{atom.length}", strict=False)
        expected = 4 if space == "ipv4" else 6
        if net.version != expected:
            raise ValueError_(f"prefix {atom.addr}/{atom.length} is not {space}")
        return int(net.network_address), int(net.broadcast_address)
    if isinstance(atom, Range):
        lo, hi = scalar(atom.lo, space), scalar(atom.hi, space)
        if not isinstance(lo, int) or not isinstance(hi, int):
            raise ValueError_(f"range {atom.lo}-{atom.hi} is not numeric in {space}")
        return lo, hi
    if isinstance(atom, Flags):
        bits = 0
        for name in atom.names:
            part = scalar(name, space)
            assert isinstance(part, int)
            bits |= part
        return bits, bits
    value = scalar(atom, space)
    if isinstance(value, str):
        raise ValueError_(f"{value!r} is not numeric in {space}")
    return value, value


class IntervalMap(Generic[T]):
    """Disjoint sorted integer intervals, each with a payload (None for plain sets)."""

    __slots__ = ("_his", "_los", "_payloads")

    def __init__(self, items: list[tuple[int, int, T]], *, merge: bool) -> None:
        items = sorted(items, key=itemgetter(0, 1))
        los: list[int] = []
        his: list[int] = []
        payloads: list[T] = []
        for lo, hi, payload in items:
            if los and lo <= his[-1] + (1 if merge else 0):
                if merge:
                    his[-1] = max(his[-1], hi)
                    continue
                lo = his[-1] + 1  # overlapping map keys: the earlier interval wins
                if lo > hi:
                    continue
            los.append(lo)
            his.append(hi)
            payloads.append(payload)
        self._los = los
        self._his = his
        self._payloads = payloads

    def __len__(self) -> int:
        return len(self._los)

    def find(self, value: int) -> tuple[bool, T | None]:
        """(True, payload) when value lies in an interval."""
        i = bisect_right(self._los, value) - 1
        if i >= 0 and value <= self._his[i]:
            return True, self._payloads[i]
        return False, None

    def find_span(self, lo: int, hi: int) -> tuple[bool, T | None]:
        """Like find for a whole span; raises PortSplit when the span is not uniform."""
        if lo == hi:
            return self.find(lo)
        i = bisect_right(self._los, lo) - 1
        if i >= 0 and lo <= self._his[i]:
            if hi <= self._his[i]:
                return True, self._payloads[i]
            raise PortSplit([self._his[i] + 1])
        j = i + 1
        if j < len(self._los) and self._los[j] <= hi:
            raise PortSplit([self._los[j]])
        return False, None

    def boundaries(self) -> list[int]:
        """Every point where membership changes (interval starts and ends + 1)."""
        return [p for lo, hi in zip(self._los, self._his, strict=True) for p in (lo, hi + 1)]


class StrMap(Generic[T]):
    """Interface names and other strings; `eth*` (nft) and `eth+` (iptables) are prefixes."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, items: list[tuple[str, T]]) -> None:
        self._exact: dict[str, T] = {}
        self._prefixes: list[tuple[str, T]] = []
        for key, payload in items:
            if key.endswith(("*", "+")):
                self._prefixes.append((key[:-1], payload))
            else:
                self._exact.setdefault(key, payload)

    def only(self, name: str) -> bool:
        """True when the only key is `name` (e.g. a loopback-only rule)."""
        return not self._prefixes and set(self._exact) == {name}

    def find(self, value: str) -> tuple[bool, T | None]:
        if value in self._exact:
            return True, self._exact[value]
        for prefix, payload in self._prefixes:
            if value.startswith(prefix):
                return True, payload
        return False, None


Part = tuple[int, int] | str


def part_contains(part: Part, value: int | str | PortSpan) -> bool | None:
    """Does one concat component hold value? None when a span is partly inside (split)."""
    if isinstance(part, str):
        if not isinstance(value, str):
            return False
        return value == part or (part.endswith(("*", "+")) and value.startswith(part[:-1]))
    if isinstance(value, str):
        return False
    if isinstance(value, PortSpan):
        if part[0] <= value.lo and value.hi <= part[1]:
            return True
        if value.hi < part[0] or value.lo > part[1]:
            return False
        points = [p for p in (part[0], part[1] + 1) if value.lo < p <= value.hi]
        raise PortSplit(points)
    return part[0] <= value <= part[1]


class ConcatMap(Generic[T]):
    """Concatenated keys (`ip saddr . tcp dport`): exact tuples hashed, the rest scanned.

    A port span in one position is looked up through an index of the other positions, so
    RTP-range probes against a 5,000-element concat set stay cheap.
    """

    __slots__ = ("_exact", "_ranged", "_span_index")

    def __init__(self, items: list[tuple[tuple[Part, ...], T]]) -> None:
        self._exact: dict[tuple[int | str, ...], T] = {}
        self._ranged: list[tuple[tuple[Part, ...], T]] = []
        for parts, payload in items:
            if all((isinstance(p, str) and not p.endswith(("*", "+"))) or
                   (isinstance(p, tuple) and p[0] == p[1]) for p in parts):
                key = tuple(p if isinstance(p, str) else p[0] for p in parts)
                self._exact.setdefault(key, payload)
            else:
                self._ranged.append((parts, payload))
        self._span_index: dict[int, dict[tuple[int | str, ...], list[tuple[int, T]]]] = {}

    def _index_for(self, position: int) -> dict[tuple[int | str, ...], list[tuple[int, T]]]:
        index = self._span_index.get(position)
        if index is None:
            index = {}
            for key, payload in self._exact.items():
                rest = key[:position] + key[position + 1:]
                value = key[position]
                if isinstance(value, int):
                    index.setdefault(rest, []).append((value, payload))
            for items in index.values():
                items.sort(key=lambda item: item[0])
            self._span_index[position] = index
        return index

    def find(self, values: tuple[int | str | PortSpan, ...]) -> tuple[bool, T | None]:
        if not any(isinstance(v, PortSpan) for v in values):
            key = tuple(v for v in values if not isinstance(v, PortSpan))
            if key in self._exact:
                return True, self._exact[key]
            for parts, payload in self._ranged:
                if all(part_contains(p, v) for p, v in zip(parts, values, strict=True)):
                    return True, payload
            return False, None
        position = next(i for i, v in enumerate(values) if isinstance(v, PortSpan))
        span = values[position]
        assert isinstance(span, PortSpan)
        rest = tuple(v for i, v in enumerate(values) if i != position)
        points = self._index_for(position).get(rest, [])  # type: ignore[arg-type]
        if points:
            keys = [p for p, _ in points]
            i = bisect_left(keys, span.lo)
            if i < len(keys) and keys[i] <= span.hi:
                if span.lo == span.hi:
                    return True, points[i][1]
                inner = [k for k in (keys[i], keys[i] + 1) if span.lo < k <= span.hi]
                raise PortSplit(inner)
        for parts, payload in self._ranged:
            if all(part_contains(p, v) for p, v in zip(parts, values, strict=True)):
                return True, payload
        return False, None
