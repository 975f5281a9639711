"""Compile `match` statements into predicates over a Packet: True, False or None (unknown).

Payload matches carry an implicit protocol dependency: `tcp dport 22` on a UDP packet, or
`ip saddr X` on an IPv6 packet in an inet table, is false for `==` and `!=` alike, because
nft inserts a separate `meta l4proto`/`meta nfproto` check before the comparison
(reference §2.2, "Payload matches have implicit protocol dependencies").
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from trunkconsole.net import contents
from trunkconsole.net.ir import (
    AnonSet,
    BinOp,
    Concat,
    ConcatValue,
    Expr,
    Field,
    Flags,
    Match,
    NamedSet,
    Opaque,
    Prefix,
    Range,
    SetRef,
    Table,
    Value,
    Verdict,
)
from trunkconsole.net.packet import Packet
from trunkconsole.net.values import (
    CT_NEW,
    MAX,
    STRING_SPACES,
    TCP_FLAGS,
    ConcatMap,
    IntervalMap,
    Part,
    PortSpan,
    PortSplit,
    StrMap,
    ValueError_,
    interval,
)


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT = _Sentinel("ABSENT")  # protocol dependency not met: the match is false
UNKNOWN = _Sentinel("UNKNOWN")  # cannot be known statically: the match is undecided
# The input interface is not known, but the packet comes from another host, so it is not lo.
REMOTE_IF = _Sentinel("REMOTE_IF")
# The destination is one of this host's unicast addresses, which one is not known.
LOCAL_UNICAST = _Sentinel("LOCAL_UNICAST")
# Never a local unicast address: limited broadcast, IPv4 and IPv6 multicast
NOT_UNICAST = ((0xE0000000, 0xFFFFFFFF), (0xFF << 120, (1 << 128) - 1))

Getter = Callable[[Packet], Any]
Predicate = Callable[[Packet], "bool | None"]
BITMASK_SPACES = frozenset({"ctstate", "ctstatus", "tcpflags"})
TRANSPORT = frozenset({6, 17, 132, 33, 136})
L4_BY_NAME = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136}


class Unsupported(Exception):
    """The expression is outside what the evaluator decides; the match becomes unknown."""


def _payload(field: Field) -> tuple[Getter, str]:
    proto, name = field.proto, field.name
    if proto in ("ip", "ip6"):
        fam = 4 if proto == "ip" else 6
        space = "ipv4" if fam == 4 else "ipv6"
        if name == "saddr":
            return (lambda p: p.saddr if p.family == fam else ABSENT), space
        if name == "daddr":
            # no --dst: some local unicast address (never broadcast nor multicast)
            return (lambda p: ((LOCAL_UNICAST if p.daddr_local else UNKNOWN)
                               if p.daddr is None else p.daddr)
                    if p.family == fam else ABSENT), space
        if name in ("protocol", "nexthdr"):
            # assumes no IPv6 extension headers between the fixed header and UDP/TCP
            return (lambda p: p.l4 if p.family == fam else ABSENT), "proto"
        if name == "version":
            return (lambda p: fam if p.family == fam else ABSENT), "int"
        return (lambda p: UNKNOWN if p.family == fam else ABSENT), "int"
    if proto in L4_BY_NAME or proto == "th":
        wanted = TRANSPORT if proto == "th" else frozenset({L4_BY_NAME[proto]})
        if name == "dport":
            return (lambda p: p.dport() if p.l4 in wanted else ABSENT), "int"
        if name == "sport":
            return (lambda p: (UNKNOWN if p.sport is None else p.sport)
                    if p.l4 in wanted else ABSENT), "int"
        if proto == "tcp" and name == "flags":
            # a new TCP connection starts with a bare SYN; an established one carries ACK
            return (lambda p: (TCP_FLAGS["syn"] if p.state & CT_NEW else TCP_FLAGS["ack"])
                    if p.l4 == 6 else ABSENT), "tcpflags"
        return (lambda p: UNKNOWN if p.l4 in wanted else ABSENT), "int"
    if proto in ("icmp", "icmpv6"):
        # `icmp type X` implies `meta nfproto ipv4 meta l4proto icmp` (icmpv6: ipv6 and 58):
        # never true for UDP/TCP nor for the other family, whatever the type names
        fam, number = (4, 1) if proto == "icmp" else (6, 58)
        space = f"{proto}{name}" if name in ("type", "code") else "int"
        return (lambda p: UNKNOWN if p.l4 == number and p.family == fam else ABSENT), space
    if proto in ("igmp", "ah", "esp", "comp", "gre"):
        number = {"igmp": 2, "ah": 51, "esp": 50, "comp": 108, "gre": 47}[proto]
        return (lambda p: UNKNOWN if p.l4 == number else ABSENT), "int"
    raise Unsupported(f"payload {proto} {name}")


def _meta(name: str) -> tuple[Getter, str]:
    if name == "l4proto":
        return (lambda p: p.l4), "proto"
    if name == "nfproto":
        return (lambda p: 2 if p.family == 4 else 10), "nfproto"
    if name == "protocol":
        return (lambda p: 0x0800 if p.family == 4 else 0x86DD), "ethertype"
    if name in ("iif", "iifname"):
        return (lambda p: REMOTE_IF if p.iif is None else p.iif), "ifname"
    if name in ("oif", "oifname", "skuid", "skgid"):
        # no output device (or socket) on the way in: the expression breaks the rule
        return (lambda p: ABSENT), "ifname" if name.startswith("oif") else "int"
    if name == "mark":
        return (lambda p: UNKNOWN if p.mark is None else p.mark), "int"
    if name == "pkttype":
        return (lambda p: 0), "pkttype"
    if name == "iiftype":
        return (lambda p: UNKNOWN if p.iif is None else (772 if p.iif == "lo" else 1)), "iftype"
    raise Unsupported(f"meta {name}")


def _ct(name: str) -> tuple[Getter, str]:
    if name == "state":
        return (lambda p: p.state), "ctstate"
    if name == "status":
        return (lambda p: p.status), "ctstatus"
    if name == "mark":
        return (lambda p: UNKNOWN if p.ct_mark is None else p.ct_mark), "int"
    if name == "direction":
        return (lambda p: 0 if p.state & CT_NEW else UNKNOWN), "ctdir"
    if name in ("l3proto",):
        return (lambda p: 2 if p.family == 4 else 10), "nfproto"
    if name == "protocol":
        return (lambda p: p.l4), "proto"
    if name == "zone":
        return (lambda p: 0), "int"
    if name == "helper":
        return (lambda p: p.helper if p.state & CT_NEW else UNKNOWN), "str"
    raise Unsupported(f"ct {name}")


def _fib(field: Field) -> tuple[Getter, str]:
    flags = set(field.proto.split("."))
    if field.name == "type" and "daddr" in flags:
        return (lambda p: UNKNOWN if p.daddr_local is None else (2 if p.daddr_local else 1)
                ), "fibtype"
    if field.name == "type" and "saddr" in flags:
        return (lambda p: UNKNOWN if p.iif is None else (2 if p.iif == "lo" else 1)), "fibtype"
    if field.name in ("oif", "oifname") and "saddr" in flags:
        # reverse-path filter: is there a route back to saddr (through iif)?
        return (lambda p: UNKNOWN if p.rpf_ok is None else int(p.rpf_ok)), "bool"
    raise Unsupported(f"fib {field.proto} {field.name}")


def _mss(p: Packet) -> Any:
    """`tcp option maxseg size`: a span (contents.MSS_SPAN) on a SYN; the membership test
    decides it when the whole span falls on one side, else it stays unknown."""
    if p.l4 != 6:
        return ABSENT
    bounds = contents.mss_bounds(p)
    return UNKNOWN if bounds is None else MssSpan(*bounds)


class MssSpan(PortSpan):
    """A span of possible values that must not split the probe (it is not a port)."""


def getter(expr: Expr) -> tuple[Getter, str]:
    """A function reading expr from a packet, and the key space its values live in."""
    if isinstance(expr, Field):
        if expr.base == "payload":
            return _payload(expr)
        if expr.base == "meta":
            return _meta(expr.name)
        if expr.base == "ct":
            return _ct(expr.name)
        if expr.base == "fib":
            return _fib(expr)
        if expr.base == "exthdr":
            # SIP and RTP packets carry no IPv6 extension headers (reference §5.3)
            return (lambda p: ABSENT), "int"
        if expr.base == "probe":
            return contents.probe_getter(expr), "bool"
        if expr.base == "raw":
            return contents.raw_getter(expr), "int"
        if expr.base == "tcpopt":
            return _mss, "int"
        if expr.base == "const":
            value = expr.name == "true"
            return (lambda p: int(value)), "bool"
        raise Unsupported(f"{expr.base} {expr.name}")
    if isinstance(expr, BinOp):
        inner, space = getter(expr.left)
        if expr.op != "&" or isinstance(expr.right, (AnonSet, SetRef, ConcatValue)):
            raise Unsupported(f"binop {expr.op}")
        mask = interval(expr.right, space)[0]
        left = expr.left
        if isinstance(left, Field) and left.base == "payload" and left.proto == "ip" and \
                left.name == "frag-off" and isinstance(mask, int) and not mask & 0x4000:
            # probes are unfragmented: MF, the offset and the reserved bit are 0; only DF
            # (0x4000) depends on the sender's path MTU discovery
            return (lambda p: 0 if p.family == 4 else ABSENT), space

        def masked(p: Packet) -> Any:
            value = inner(p)
            if value is LOCAL_UNICAST:
                return UNKNOWN
            if isinstance(value, int):
                return value & mask
            if isinstance(value, PortSpan):
                raise Unsupported("mask on a port span")
            return value

        return masked, space
    if isinstance(expr, Opaque):
        raise Unsupported(expr.text)
    raise Unsupported("concatenation outside a set lookup")


Membership = Callable[[Any], "bool | None"]


def _int_members(imap: IntervalMap[Any]) -> Membership:
    def member(value: Any) -> bool | None:
        if isinstance(value, PortSpan):
            return imap.find_span(value.lo, value.hi)[0]
        if isinstance(value, int):
            return imap.find(value)[0]
        return None if value is LOCAL_UNICAST else False

    return member


def atoms_map(atoms: list[tuple[Value, Any]], space: str, *, merge: bool) -> Any:
    """IntervalMap or StrMap from (atom, payload) pairs of one key space."""
    if space in STRING_SPACES:
        return StrMap([(str(a), payload) for a, payload in atoms])
    items = []
    family = socket.AF_INET6 if space == "ipv6" else socket.AF_INET
    addresses = space in ("ipv4", "ipv6")
    for atom, payload in atoms:
        if isinstance(atom, str) and addresses:
            try:  # fast path: 40,000 banned addresses must compile in milliseconds
                value = int.from_bytes(socket.inet_pton(family, atom), "big")
                items.append((value, value, payload))
                continue
            except OSError:
                pass
        elif isinstance(atom, int) and not isinstance(atom, bool):
            items.append((atom, atom, payload))
            continue
        if isinstance(atom, (ConcatValue, AnonSet, SetRef)):
            raise Unsupported("nested set")
        lo, hi = interval(atom, space)
        items.append((lo, hi, payload))
    return IntervalMap(items, merge=merge)


def concat_map(atoms: list[tuple[Value, Any]], spaces: list[str]) -> ConcatMap[Any]:
    items: list[tuple[tuple[Part, ...], Any]] = []
    for atom, payload in atoms:
        if not isinstance(atom, ConcatValue) or len(atom.parts) != len(spaces):
            raise Unsupported("concatenation does not match the key")
        parts: list[Part] = []
        for part, space in zip(atom.parts, spaces, strict=True):
            parts.append(str(part) if space in STRING_SPACES else interval(part, space))
        items.append((tuple(parts), payload))
    return ConcatMap(items)


def find(lookup: Any, value: Any) -> tuple[bool, Any]:
    """Look value up in an IntervalMap/StrMap/ConcatMap; PortSplit propagates."""
    if isinstance(lookup, ConcatMap):
        return lookup.find(value)
    if isinstance(lookup, StrMap):
        return lookup.find(value) if isinstance(value, str) else (False, None)
    imap: IntervalMap[Any] = lookup
    if isinstance(value, PortSpan):
        return imap.find_span(value.lo, value.hi)
    if isinstance(value, int):
        return imap.find(value)
    return False, None


class SetCache:
    """Named sets compiled once per ruleset (50,000 elements must not be rebuilt per probe)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str, tuple[str, ...]], Any] = {}

    def lookup(self, named: NamedSet, spaces: list[str]) -> Any:
        key = (id(named), named.name, tuple(spaces))
        if key not in self._cache:
            payloads: list[Any] = list(named.data) if named.map_type else [None] * len(
                named.elements)
            pairs = list(zip(named.elements, payloads, strict=True))
            if len(spaces) > 1:
                self._cache[key] = concat_map(pairs, spaces)
            else:
                self._cache[key] = atoms_map(pairs, spaces[0], merge=not named.map_type)
        return self._cache[key]


def key_reader(expr: Expr) -> tuple[Getter, list[str]]:
    """Getter for a lookup key (single field or concatenation) and its key spaces."""
    if isinstance(expr, Concat):
        parts = [getter(part) for part in expr.parts]
        funcs = [g for g, _ in parts]
        spaces = [s for _, s in parts]

        def read(p: Packet) -> Any:
            values = tuple(f(p) for f in funcs)
            if any(v is ABSENT for v in values):
                return ABSENT
            if any(v is UNKNOWN or v is REMOTE_IF or v is LOCAL_UNICAST for v in values):
                return UNKNOWN
            return values

        return read, spaces
    func, space = getter(expr)
    return func, [space]


def compile_lookup(data: Value | tuple[tuple[Value, Verdict], ...], spaces: list[str],
                   table: Table, cache: SetCache, *, is_map: bool) -> Any:
    """The lookup structure for a set reference, anonymous set or vmap data."""
    if isinstance(data, SetRef):
        named = table.sets.get(data.name)
        if named is None:
            raise Unsupported(f"set @{data.name} is not in the listing")
        return cache.lookup(named, spaces)
    if isinstance(data, tuple):
        pairs: list[tuple[Value, Any]] = list(data)
    elif isinstance(data, AnonSet):
        pairs = [(element, None) for element in data.elements]
    else:
        pairs = [(data, None)]
    if len(spaces) > 1:
        return concat_map(pairs, spaces)
    return atoms_map(pairs, spaces[0], merge=not is_map)


def compile_match(match: Match, table: Table, cache: SetCache) -> Predicate:
    """A predicate for one match; Unsupported when it cannot be decided at all."""
    read, spaces = key_reader(match.left)
    try:
        return _compile_match(match, read, spaces, table, cache)
    except (Unsupported, ValueError_, ValueError, TypeError):
        # the value is beyond us, but a protocol dependency the packet does not meet still
        # decides: `icmpv6 type { ... }` is false for UDP whatever the names say
        def dependency_only(p: Packet) -> bool | None:
            return False if read(p) is ABSENT else None

        return dependency_only


def _compile_match(match: Match, read: Getter, spaces: list[str], table: Table,
                   cache: SetCache) -> Predicate:
    op, right = match.op, match.right
    space = spaces[0]
    member: Membership
    plain_flags = (len(spaces) == 1 and space in BITMASK_SPACES and isinstance(match.left, Field)
                   and op in ("in", "==", "!=", "!"))
    if plain_flags and isinstance(right, (int, str, Flags)) and not isinstance(right, bool):
        # `ct state established,related`, `ct status dnat`: bitmask overlap (reference §2.2)
        bits = interval(right, space)[0]
        # `tcp flags & (fin|syn|...) == 0` lists in JSON as op "!": none of the bits set
        return _bitmask(read, bits, negate=op in ("!=", "!"))
    if op in ("<", ">", "<=", ">="):
        if len(spaces) > 1 or not isinstance(right, (int, str)) or isinstance(right, bool):
            raise Unsupported(f"comparison {op}")
        value = interval(right, space)[0]
        lo, hi = {"<": (0, value - 1), "<=": (0, value), ">": (value + 1, MAX),
                  ">=": (value, MAX)}[op]
        member = _int_members(IntervalMap([(lo, hi, None)], merge=True))
        return _membership(read, member, negate=False)
    if op not in ("==", "!=", "in"):
        raise Unsupported(f"operator {op}")
    if len(spaces) == 1 and space not in STRING_SPACES and isinstance(
            right, (int, str, Prefix, Range)) and not isinstance(right, bool):
        try:
            lo, hi = interval(right, space)
        except ValueError_ as exc:
            raise Unsupported(str(exc)) from exc
        return _membership(read, _between(lo, hi), negate=op == "!=")
    try:
        lookup = compile_lookup(right, spaces, table, cache, is_map=False)
    except ValueError_ as exc:
        raise Unsupported(str(exc)) from exc

    only_lo = isinstance(lookup, StrMap) and lookup.only("lo")

    def member_of(value: Any) -> bool | None:
        if value is REMOTE_IF:
            return False if only_lo else None
        if value is LOCAL_UNICAST:
            return None
        return find(lookup, value)[0]

    return _membership(read, member_of, negate=op == "!=")


def _between(lo: int, hi: int) -> Membership:
    """Membership in one interval (one value, prefix or range): no map needed."""
    never_local = any(a <= lo and hi <= b for a, b in NOT_UNICAST)

    def member(value: Any) -> bool | None:
        if isinstance(value, int):
            return lo <= value <= hi
        if value is LOCAL_UNICAST:
            return False if never_local else None
        if isinstance(value, PortSpan):
            if lo <= value.lo and value.hi <= hi:
                return True
            if value.hi < lo or value.lo > hi:
                return False
            raise PortSplit([p for p in (lo, hi + 1) if value.lo < p <= value.hi])
        return False

    return member


def _membership(read: Getter, member: Membership, *, negate: bool) -> Predicate:
    def predicate(p: Packet) -> bool | None:
        value = read(p)
        if value is ABSENT:
            return False
        if value is UNKNOWN:
            return None
        if value is REMOTE_IF or value is LOCAL_UNICAST:
            hit = member(value)
            if hit is None:
                return None
            return (not hit) if negate else hit
        if isinstance(value, MssSpan):
            try:
                hit = member(value)
            except PortSplit:
                return None  # the span straddles the rule's values: the sender decides
            return (not hit) if negate else hit
        hit = member(value)
        return (not hit) if negate else hit

    return predicate


def _bitmask(read: Getter, bits: int, *, negate: bool) -> Predicate:
    def predicate(p: Packet) -> bool | None:
        value = read(p)
        if value is ABSENT:
            return False
        if value is UNKNOWN:
            return None
        hit = bool(value & bits)
        return (not hit) if negate else hit

    return predicate
