"""One intermediate form for nftables JSON, iptables-nft and legacy iptables rules.

Every reader (nft JSON, iptables-save) produces these objects, so a single evaluator
decides verdicts for all of them. The shape follows nft's JSON (reference §8.2:
"normalise everything into one IR with the nft-JSON shape"), typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["nft", "iptables-nft", "iptables-legacy"]


# --- expressions (left-hand sides) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """A packet or state attribute: `ip saddr`, `meta l4proto`, `ct state`, `fib daddr type`.

    base is payload | meta | ct | fib | exthdr | const | other; for fib, proto holds the
    flags joined with '.' and name the result.
    """

    base: str
    proto: str
    name: str


@dataclass(frozen=True, slots=True)
class Concat:
    """`ip saddr . tcp dport`."""

    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class BinOp:
    """`meta mark & 0xff`, `tcp flags & (syn | ack)`."""

    op: str
    left: Expr
    right: Value


@dataclass(frozen=True, slots=True)
class Opaque:
    """An expression the evaluator cannot compute (socket, numgen, raw payload...)."""

    text: str


Expr = Field | Concat | BinOp | Opaque


# --- values (right-hand sides, set elements) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Prefix:
    addr: str
    length: int


@dataclass(frozen=True, slots=True)
class Range:
    lo: int | str
    hi: int | str


@dataclass(frozen=True, slots=True)
class Flags:
    """A bitmask written as names: `established,related` or `syn | ack`."""

    names: tuple[int | str, ...]


@dataclass(frozen=True, slots=True)
class ConcatValue:
    parts: tuple[Atom, ...]


@dataclass(frozen=True, slots=True)
class SetRef:
    """`@name`: a named set or map in the rule's own table."""

    name: str


@dataclass(frozen=True, slots=True)
class AnonSet:
    elements: tuple[Value, ...]


Atom = int | str | bool | Prefix | Range | Flags
Value = int | str | bool | Prefix | Range | Flags | ConcatValue | SetRef | AnonSet


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """`left op right`; op is one of == != < > <= >= in (in: bitmask overlap)."""

    op: str
    left: Expr
    right: Value


@dataclass(frozen=True, slots=True)
class Verdict:
    """accept | drop | reject | return | continue | jump | goto | queue | unknown.

    `unknown` is an iptables target the evaluator does not know (it may end the packet).
    """

    kind: str
    target: str = ""


@dataclass(frozen=True, slots=True)
class VMap:
    """`KEY vmap { k : verdict, ... }` or `vmap @map`; a miss continues with the next rule."""

    key: Expr
    data: tuple[tuple[Value, Verdict], ...] | SetRef


@dataclass(frozen=True, slots=True)
class Nat:
    """dnat | snat | masquerade | redirect; addr/port None when unchanged."""

    kind: str
    addr: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class SetMark:
    """`meta mark set V` / `ct mark set V`; value None when computed (unknown)."""

    target: str  # "meta" | "ct"
    value: int | None
    mask: int | None = None  # iptables --set-xmark value/mask: mark = (mark & ~mask) ^ value


@dataclass(frozen=True, slots=True)
class CtHelper:
    """`ct helper set "name"`: assigns a conntrack helper (the SIP ALG when its type is sip)."""

    name: str


@dataclass(frozen=True, slots=True)
class NoTrack:
    """`notrack` / `-j CT --notrack`: later `ct state` sees `untracked`."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """A condition that cannot be decided statically: limit, quota, meters, xt leftovers."""

    text: str


@dataclass(frozen=True, slots=True)
class Nop:
    """A statement without effect on the verdict: counter, log, comment."""

    text: str


Statement = Match | Verdict | VMap | Nat | SetMark | CtHelper | NoTrack | Unknown | Nop


# --- containers -----------------------------------------------------------------------------


@dataclass(slots=True)
class Rule:
    """One rule: statements run in order; a false match ends the rule."""

    family: str
    table: str
    chain: str
    handle: int | None
    position: int  # 1-based, as `iptables -L --line-numbers` counts
    statements: tuple[Statement, ...]
    text: str  # "" until rendered() renders `raw` (5,000 rules: render on demand)
    comment: str = ""
    source: Source = "nft"
    raw: list[Any] | None = None  # the nft JSON expressions, for rendering

    def rendered(self) -> str:
        """The rule as `nft list ruleset` (or iptables-save) shows it."""
        if not self.text and self.raw is not None:
            import json

            from trunkconsole.net.render import render_statement

            try:
                self.text = " ".join(render_statement(e) for e in self.raw)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError,
                    RecursionError):
                self.text = json.dumps(self.raw, default=str)[:200]  # malformed: as given
            if self.comment:
                self.text += f' comment "{self.comment}"'
        return self.text

    def label(self) -> str:
        """`inet filter input #12` (nft handle) or `ip filter INPUT rule 3 (iptables-nft)`."""
        prefix = "legacy " if self.source == "iptables-legacy" else ""
        where = f"{prefix}{self.family} {self.table} {self.chain}"
        if self.source == "nft" and self.handle is not None:
            return f"{where} #{self.handle}"
        return f"{where} rule {self.position} ({self.source})"


@dataclass(slots=True)
class Chain:
    """A base chain has hook/prio/policy; a regular chain only rules."""

    family: str
    table: str
    name: str
    rules: list[Rule] = field(default_factory=list)
    hook: str | None = None
    prio: int = 0
    policy: str = "accept"
    type: str = "filter"
    devices: tuple[str, ...] = ()
    handle: int | None = None
    source: Source = "nft"

    def label(self) -> str:
        prefix = "legacy " if self.source == "iptables-legacy" else ""
        return f"{prefix}{self.family} {self.table} {self.name}"


@dataclass(slots=True)
class NamedSet:
    """A named set or map; for maps, `data` holds one value per element (same order)."""

    family: str
    table: str
    name: str
    key_types: tuple[str, ...]
    flags: frozenset[str]
    elements: tuple[Value, ...]
    map_type: str = ""  # "" for a plain set, "verdict" for a vmap, else the data type
    data: tuple[Value | Verdict, ...] = ()

    @property
    def volatile(self) -> bool:
        """Sets filled by the packet path (fail2ban, meters): the verdict is a snapshot."""
        return bool(self.flags & {"dynamic", "timeout"})


@dataclass(frozen=True, slots=True)
class HelperObject:
    """`ct helper NAME { type "sip" protocol udp; }`."""

    family: str
    table: str
    name: str
    type: str
    protocol: str


@dataclass(slots=True)
class Table:
    family: str
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, NamedSet] = field(default_factory=dict)
    helpers: dict[str, HelperObject] = field(default_factory=dict)
    # named quotas: name -> (limit bytes, bytes used when listed, `over`)
    quotas: dict[str, tuple[int, int, bool]] = field(default_factory=dict)
    source: Source = "nft"
    has_xt: bool = False
    handle: int | None = None

    def label(self) -> str:
        prefix = "legacy " if self.source == "iptables-legacy" else ""
        return f"{prefix}{self.family} {self.name}"

    @property
    def owner(self) -> str:
        """Which tool most likely wrote this table (ufw, firewalld, docker, fail2ban...)."""
        names = " ".join(self.chains)
        if self.name == "firewalld" or "filter_IN_" in names:
            return "firewalld"
        if "ufw-" in names or "ufw6-" in names:
            return "ufw"
        if "DOCKER" in names:
            return "docker"
        if "f2b" in self.name or "f2b-" in names or "fail2ban" in self.name:
            return "fail2ban"
        if self.source != "nft":
            return self.source
        return "nftables"


@dataclass(slots=True)
class Ruleset:
    """Everything the kernel runs for a packet: nft tables plus iptables-legacy tables."""

    tables: list[Table] = field(default_factory=list)
    nft_version: str = ""
    notes: list[str] = field(default_factory=list)
    ipsets: dict[str, Any] | None = None  # name -> net.ipset.IpSet; None: not listed

    def table(self, family: str, name: str, source: Source | None = None) -> Table | None:
        for table in self.tables:
            if table.family == family and table.name == name and (
                source is None or table.source == source
            ):
                return table
        return None

    def base_chains(self) -> list[Chain]:
        return [c for t in self.tables for c in t.chains.values() if c.hook is not None]

    def rule_count(self) -> int:
        return sum(len(c.rules) for t in self.tables for c in t.chains.values())

    def element_count(self) -> int:
        return sum(len(s.elements) for t in self.tables for s in t.sets.values())
