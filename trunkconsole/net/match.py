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

from trunkconsole.net.fields import (
    ABSENT,
    LOCAL_UNICAST,
    REMOTE_IF,
    UNKNOWN,
    Getter,
    MssSpan,
    Unsupported,
    getter,
)
from trunkconsole.net.ir import (
    AnonSet,
    Concat,
    ConcatValue,
    Expr,
    Field,
    Flags,
    Match,
    NamedSet,
    Prefix,
    Range,
    SetRef,
    Table,
    Value,
    Verdict,
)
from trunkconsole.net.packet import Packet
from trunkconsole.net.values import (
    MAX,
    STRING_SPACES,
    ConcatMap,
    IntervalMap,
    Part,
    PortSpan,
    PortSplit,
    StrMap,
    ValueError_,
    interval,
)

# Never a local unicast address: limited broadcast, IPv4 and IPv6 multicast
NOT_UNICAST = ((0xE0000000, 0xFFFFFFFF), (0xFF << 120, (1 << 128) - 1))
Predicate = Callable[[Packet], "bool | None"]
BITMASK_SPACES = frozenset({"ctstate", "ctstatus", "tcpflags"})

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
