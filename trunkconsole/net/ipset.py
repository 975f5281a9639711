"""Read `ipset save` so `-m set --match-set NAME src` is decided, not DEPENDS.

ipsets live in the kernel beside both iptables backends: legacy and iptables-nft rules
reference them alike (nft's JSON shows only `{"xt": {"name": "set"}}`; iptables-save
keeps `--match-set NAME FLAGS`). Facts from ipset(8) and real `ipset save` (ipset 7.17):
- `create NAME TYPE [family inet|inet6] [timeout N] ...`; `add NAME ELEMENT [timeout N]
  [packets N bytes N] [comment "..."] [nomatch]`. An element listed is in the set now,
  whatever its timeout says is left.
- Ranges are expanded on save (`192.0.2.10-12` becomes three elements; hash:net ranges
  become prefixes); a port without protocol is saved as `tcp:PORT`.
- The match flags pick, per dimension, the packet's source or destination: for
  `hash:ip,port` with `src,dst` the key is (source address, protocol, destination port).
- `nomatch` elements of hash:net types are exceptions to the covering network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkconsole.errors import OperatorError
from trunkconsole.net.ir import (
    AnonSet,
    Concat,
    ConcatValue,
    Expr,
    Field,
    Match,
    NamedSet,
    Prefix,
    Range,
    SetRef,
    Statement,
    Unknown,
    Value,
)
from trunkconsole.net.values import interval
from trunkconsole.net.words import split_words

NOMATCH = "#nomatch"  # suffix of the companion set holding a set's nomatch elements
_DIMS = {"ip": "addr", "net": "addr", "port": "port", "iface": "iface", "mark": "mark"}


@dataclass(slots=True)
class IpSet:
    """One set from `ipset save`: its type's dimensions, family and listed elements."""

    name: str
    kind: str  # hash:ip, hash:net,port, bitmap:port, list:set ...
    family: str = "inet"
    timeout: bool = False
    elements: list[str] = field(default_factory=list)
    nomatch: list[str] = field(default_factory=list)

    @property
    def dims(self) -> list[str]:
        """`hash:net,port` -> [addr, port]; unknown dimensions keep their name."""
        if self.kind == "bitmap:port":
            return ["bareport"]  # any protocol with ports; elements carry no protocol
        _, _, spec = self.kind.partition(":")
        return [_DIMS.get(d, d) for d in spec.split(",")]


def parse_ipset_save(text: str) -> dict[str, IpSet]:
    """Every set in an `ipset save` dump; a malformed line is an OperatorError."""
    sets: dict[str, IpSet] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tokens = split_words(line)
        except ValueError as exc:
            raise OperatorError(f"ipset save line {number} cannot be split ({exc})",
                                evidence=line[:120]) from exc
        if tokens[0] == "create" and len(tokens) >= 3:
            options = tokens[3:]
            family = options[options.index("family") + 1] if "family" in options[:-1] \
                else "inet"
            sets[tokens[1]] = IpSet(tokens[1], tokens[2], family, "timeout" in options)
        elif tokens[0] == "add" and len(tokens) >= 3:
            ipset = sets.get(tokens[1])
            if ipset is None:
                raise OperatorError(f"ipset save line {number} adds to set {tokens[1]!r} "
                                    "before its `create` line", evidence=line[:120])
            (ipset.nomatch if "nomatch" in tokens[3:] else ipset.elements).append(tokens[2])
        elif tokens[0] not in ("flush", "destroy", "COMMIT"):
            raise OperatorError(f"ipset save line {number} is not `create` or `add`",
                                evidence=line[:120],
                                fix="give the output of `ipset save` unchanged")
    return sets


def is_ipset_save(text: str) -> bool:
    """True for `ipset save` output (its first command is `create`)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line.startswith("create ")
    return False


def _address(text: str) -> Value:
    addr, _, length = text.partition("/")
    return Prefix(addr, int(length)) if length else addr


def _port(text: str) -> tuple[Value, Value]:
    proto, _, port = text.rpartition(":")
    proto = proto or "tcp"
    lo, _, hi = port.partition("-")
    value: Value = Range(int(lo), int(hi)) if hi else int(lo)
    return proto, value


def _element(ipset: IpSet, text: str) -> Value:
    """One element in IR form, split per dimension (`192.0.2.1,udp:5060`)."""
    parts: list[Value] = []
    for dim, raw in zip(ipset.dims, text.split(","), strict=True):
        if dim == "addr":
            parts.append(_address(raw))
        elif dim == "port":
            parts.extend(_port(raw))
        elif dim == "bareport":
            parts.append(_port(raw)[1])
        elif dim == "mark":
            parts.append(int(raw, 0))
        else:
            parts.append(raw)
    if len(parts) == 1:
        return parts[0]
    atoms = tuple(p for p in parts if not isinstance(p, (SetRef, ConcatValue)))
    return ConcatValue(atoms)  # type: ignore[arg-type]


def _subtract(elements: tuple[Value, ...], exceptions: tuple[Value, ...],
              space: str) -> tuple[Value, ...]:
    """hash:net with `nomatch` networks: the covering networks minus the exceptions, as
    ranges (ipset(8): a nomatch element is an exception to the set's other networks)."""
    holes = sorted(interval(e, space) for e in exceptions if not isinstance(
        e, (ConcatValue, SetRef, AnonSet)))
    out: list[Value] = []
    for element in elements:
        if isinstance(element, (ConcatValue, SetRef, AnonSet)):
            continue
        pieces = [interval(element, space)]
        for hole_lo, hole_hi in holes:
            pieces = [part for lo, hi in pieces for part in (
                ((lo, hi),) if hole_hi < lo or hole_lo > hi else
                tuple(p for p in ((lo, hole_lo - 1), (hole_hi + 1, hi)) if p[0] <= p[1]))]
        out.extend(Range(lo, hi) for lo, hi in pieces)
    return tuple(out)


def named_sets(ipsets: dict[str, IpSet], family: str) -> dict[str, NamedSet]:
    """The ipsets of one address family as NamedSets (plus `NAME#nomatch` companions)."""
    wanted = "inet6" if family == "ip6" else "inet"
    out: dict[str, NamedSet] = {}
    for ipset in ipsets.values():
        if ipset.kind == "list:set" or ("addr" in ipset.dims and ipset.family != wanted):
            continue
        flags = frozenset({"timeout"} if ipset.timeout else set())
        try:
            elements = tuple(_element(ipset, e) for e in ipset.elements)
            exceptions = tuple(_element(ipset, e) for e in ipset.nomatch)
            if exceptions and ipset.dims == ["addr"]:
                space = "ipv6" if family == "ip6" else "ipv4"
                elements = _subtract(elements, exceptions, space)
                exceptions = ()
        except ValueError:
            continue  # a dimension we do not read (mac...), or not an element: unknown
        out[ipset.name] = NamedSet(family, "ipset", ipset.name, tuple(ipset.dims), flags,
                                   elements)
        if exceptions:
            out[ipset.name + NOMATCH] = NamedSet(family, "ipset", ipset.name + NOMATCH,
                                                 tuple(ipset.dims), flags, exceptions)
    for ipset in ipsets.values():  # list:set: the union of its members of one type
        if ipset.kind != "list:set":
            continue
        members = [out.get(name) for name in ipset.elements]
        if members and all(m is not None for m in members) and \
                len({m.key_types for m in members if m is not None}) == 1:
            first = members[0]
            assert first is not None
            out[ipset.name] = NamedSet(
                family, "ipset", ipset.name, first.key_types,
                frozenset().union(*(m.flags for m in members if m is not None)),
                tuple(e for m in members if m is not None for e in m.elements))
    return out


def match_set(name: str, flags_text: str, family: str, negate: bool,
              sets: dict[str, NamedSet] | None, extra: list[str]) -> list[Statement]:
    """Statements for `[!] --match-set NAME FLAGS` against the listed ipsets."""
    text = f"-m set {'! ' if negate else ''}--match-set {name} {flags_text}"
    named = None if sets is None else sets.get(name)
    if named is None:  # no `ipset save` given, or the set is not in it
        return [Unknown(text)]
    counters = [o for o in extra if o.startswith(("--packets", "--bytes"))]
    if counters:
        return [Unknown(f"{text} {' '.join(extra)} (ipset counters)")]
    sides = flags_text.split(",")
    if len(sides) < len(named.key_types):
        return [Unknown(f"{text} (fewer flags than the set's dimensions)")]
    key: list[Expr] = []
    proto = "ip6" if family == "ip6" else "ip"
    for dim, side in zip(named.key_types, sides, strict=False):
        src = side == "src"
        if dim == "addr":
            key.append(Field("payload", proto, "saddr" if src else "daddr"))
        elif dim == "port":
            key += [Field("meta", "", "l4proto"), Field("payload", "th",
                                                         "sport" if src else "dport")]
        elif dim == "bareport":
            key.append(Field("payload", "th", "sport" if src else "dport"))
        elif dim == "iface":
            key.append(Field("meta", "", "iifname" if src else "oifname"))
        elif dim == "mark":
            key.append(Field("meta", "", "mark"))
        else:
            return [Unknown(f"{text} (ipset dimension {dim})")]
    left: Expr = key[0] if len(key) == 1 else Concat(tuple(key))
    has_exceptions = name + NOMATCH in (sets or {})
    if negate:
        if has_exceptions:
            return [Unknown(f"{text} (negated match on a set with nomatch elements)")]
        return [Match("!=", left, SetRef(name))]
    statements: list[Statement] = [Match("==", left, SetRef(name))]
    if has_exceptions and "--return-nomatch" not in extra:
        statements.append(Match("!=", left, SetRef(name + NOMATCH)))
    return statements
