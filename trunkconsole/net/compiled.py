"""Rules compiled for the walk: one typed op per statement (issue 12: no positional tuples).

Each op is a slotted dataclass; the engine dispatches on `type(op) is X`, which is as cheap
as the string tags it replaces. Matches that repeat across a ruleset (ct state, ports) are
compiled once per table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trunkconsole.net import contents
from trunkconsole.net.fields import Unsupported
from trunkconsole.net.ir import (
    AnonSet,
    BinOp,
    Chain,
    ConcatValue,
    CtHelper,
    Field,
    Flags,
    Match,
    Nat,
    Nop,
    NoTrack,
    Prefix,
    Range,
    Rule,
    SetMark,
    SetRef,
    Statement,
    Table,
    Unknown,
    Verdict,
    VMap,
)
from trunkconsole.net.match import SetCache, compile_lookup, compile_match, key_reader
from trunkconsole.net.packet import Packet
from trunkconsole.net.values import ValueError_, parse_address
from trunkconsole.net.verdict import RuleRef

Predicate = Callable[[Packet], "bool | None"]


@dataclass(slots=True)
class MatchOp:
    """A compiled match: True, False, or None when the files cannot decide it."""

    pred: Predicate
    match: Match
    volatile: str  # a note when the match reads a set filled at run time, else ""
    iif: str = ""  # `iifname == NAME` / `!= NAME` (no wildcard): the interface named
    iif_equal: bool = True


@dataclass(slots=True)
class UnknownOp:
    """A condition outside what the files decide (limit, recent, an unread expression)."""

    text: str


@dataclass(slots=True)
class VerdictOp:
    verdict: Verdict


@dataclass(slots=True)
class VMapOp:
    """`KEY vmap {...}`: read the key, look it up; a miss continues with the next rule."""

    read: Callable[[Packet], Any]
    lookup: Any  # IntervalMap | StrMap | ConcatMap with Verdict payloads


@dataclass(slots=True)
class VMapUnknownOp:
    """A vmap whose key cannot be read: any of its verdicts, or none, may apply."""

    verdicts: tuple[Verdict, ...]


@dataclass(slots=True)
class NatOp:
    nat: Nat


@dataclass(slots=True)
class MarkOp:
    mark: SetMark


@dataclass(slots=True)
class HelperOp:
    """`ct helper set NAME`; kind is the helper's type (sip) when the object is listed."""

    name: str
    kind: str


@dataclass(slots=True)
class NoTrackOp:
    pass


Op = MatchOp | UnknownOp | VerdictOp | VMapOp | VMapUnknownOp | NatOp | MarkOp | HelperOp | \
    NoTrackOp
DECISIVE = (VerdictOp, VMapOp, VMapUnknownOp, NatOp, MarkOp, HelperOp, NoTrackOp)


@dataclass(slots=True)
class CRule:
    """A rule compiled to ops, plus for each op whether anything decisive follows it."""

    rule: Rule
    ops: list[Op]
    decisive_after: list[bool]
    owner: str
    cached_ref: RuleRef | None = None

    @property
    def ref(self) -> RuleRef:
        if self.cached_ref is None:
            self.cached_ref = RuleRef.of_rule(self.rule, self.owner)
        return self.cached_ref


@dataclass(slots=True)
class CChain:
    chain: Chain
    rules: list[CRule] = field(default_factory=list)
    owner: str = ""
    # index of the first rule of a run -> its SourceRun (rules keyed on one source address)
    runs: dict[int, SourceRun] = field(default_factory=dict)


@dataclass(slots=True)
class SourceRun:
    """Consecutive rules that each start with `ip saddr == ADDR` (firewalld rich rules,
    fail2ban/FreePBX `-s ADDR/32`, ufw per-address rules). Matches are pure, so within
    the run only the rules keyed on the packet's own source can match: the walk visits
    those, in order, and skips the rest (300 rich rules cost a dict lookup, not 300 calls).
    """

    end: int  # index after the run
    by_source: dict[tuple[int, int], list[int]]  # (family, address) -> rule indices


MIN_RUN = 8  # shorter runs are walked rule by rule


def _source_key(ops: list[Op]) -> tuple[int, int] | None:
    """(family, address) when the rule's first op is `ip/ip6 saddr == one address`."""
    if not ops or not isinstance(ops[0], MatchOp):
        return None
    match = ops[0].match
    left, right = match.left, match.right
    if match.op != "==" or not isinstance(left, Field) or left.base != "payload" or \
            left.name != "saddr" or left.proto not in ("ip", "ip6"):
        return None
    family, bits = (4, 32) if left.proto == "ip" else (6, 128)
    if isinstance(right, Prefix):
        if right.length != bits:
            return None
        right = right.addr
    if not isinstance(right, str):
        return None
    try:
        return family, parse_address(right, "ipv4" if family == 4 else "ipv6")
    except ValueError_:
        return None


def index_sources(compiled: CChain) -> None:
    """Find the runs of source-keyed rules in a compiled chain."""
    keys = [_source_key(rule.ops) for rule in compiled.rules]
    start = 0
    while start < len(keys):
        if keys[start] is None:
            start += 1
            continue
        end = start
        while end < len(keys) and keys[end] is not None:
            end += 1
        if end - start >= MIN_RUN:
            by_source: dict[tuple[int, int], list[int]] = {}
            for index in range(start, end):
                key = keys[index]
                assert key is not None
                by_source.setdefault(key, []).append(index)
            compiled.runs[start] = SourceRun(end, by_source)
        start = end


class Compiler:
    """Turns a table's chains into CChains; set lookups are shared through one SetCache."""

    def __init__(self) -> None:
        self.sets = SetCache()
        self._preds: dict[tuple[Match, int], Predicate] = {}

    def chain(self, table: Table, chain: Chain, owner: str) -> CChain:
        compiled = CChain(chain, owner=owner)
        for rule in chain.rules:
            ops = [op for s in rule.statements if (op := self.op(s, table)) is not None]
            decisive = [any(isinstance(o, DECISIVE) for o in ops[i + 1:])
                        for i in range(len(ops))]
            compiled.rules.append(CRule(rule, ops, decisive, owner))
        index_sources(compiled)
        return compiled

    def op(self, stmt: Statement, table: Table) -> Op | None:
        try:
            return self._op(stmt, table)
        except (Unsupported, ValueError, TypeError, KeyError, IndexError, OverflowError,
                AttributeError) as exc:  # a malformed value: undecided, named
            return UnknownOp(f"{type(stmt).__name__.lower()} the engine cannot read ({exc})")

    def _op(self, stmt: Statement, table: Table) -> Op | None:
        if isinstance(stmt, Match):
            return self._match(stmt, table)
        if isinstance(stmt, Unknown):
            return UnknownOp(stmt.text)
        if isinstance(stmt, Verdict):
            target = table.chains.get(stmt.target) if stmt.kind == "jump" else None
            if target is not None and not target.rules:
                # firewalld jumps into a dozen empty _pre/_log/_deny/_post chains per
                # packet: a jump to an empty chain returns at once, so it does nothing
                return None
            return VerdictOp(stmt)
        if isinstance(stmt, VMap):
            try:
                read, spaces = key_reader(stmt.key)
                return VMapOp(read, compile_lookup(stmt.data, spaces, table, self.sets,
                                                   is_map=True))
            except (Unsupported, ValueError_):
                if isinstance(stmt.data, tuple):
                    return VMapUnknownOp(tuple(v for _, v in stmt.data))
                named = table.sets.get(stmt.data.name)
                return VMapUnknownOp(tuple(v for v in (named.data if named else ())
                                           if isinstance(v, Verdict)))
        if isinstance(stmt, Nat):
            return NatOp(stmt)
        if isinstance(stmt, SetMark):
            return MarkOp(stmt)
        if isinstance(stmt, CtHelper):
            helper = table.helpers.get(stmt.name)
            return HelperOp(stmt.name, helper.type if helper else stmt.name)
        if isinstance(stmt, NoTrack):
            return NoTrackOp()
        assert isinstance(stmt, Nop)
        return None

    def _match(self, stmt: Match, table: Table) -> Op:
        volatile = ""
        if isinstance(stmt.right, SetRef):
            named = table.sets.get(stmt.right.name)
            if named is None:
                return UnknownOp(f"{match_text(stmt)} (set @{stmt.right.name} is not in the "
                                 "listing)")
            where = f"ipset {named.name}" if named.table == "ipset" else \
                f"set @{named.name} in {table.label()}"
            if named.volatile:
                volatile = (f"{where} is filled at run time (fail2ban, meters): the verdict "
                            "holds for its current elements")
        left = stmt.left
        if isinstance(left, BinOp):
            left = left.left
        if isinstance(left, Field) and left.base in ("probe", "raw", "tcpopt"):
            volatile = contents.MODEL_NOTE
        try:
            key = (stmt, id(table))
            pred = self._preds.get(key)
            if pred is None:  # rulesets repeat matches (ct state, ports): compile once
                pred = self._preds[key] = compile_match(stmt, table, self.sets)
            left, right = stmt.left, stmt.right
            if isinstance(left, Field) and left.base == "meta" and left.name in (
                    "iif", "iifname") and isinstance(right, str) and stmt.op in ("==", "!=") \
                    and not right.endswith(("*", "+")):
                return MatchOp(pred, stmt, volatile, right, stmt.op == "==")
            return MatchOp(pred, stmt, volatile)
        except (Unsupported, ValueError_) as exc:
            return UnknownOp(f"{match_text(stmt)} ({exc})")


def match_text(match: Match) -> str:
    """`ip saddr == 198.51.100.0/24`, `fib saddr . mark . iif oif == False`."""
    left = match.left
    if isinstance(left, Field) and left.base == "probe":
        return ("" if match.op == "==" else "not ") + contents.describe(left)
    if isinstance(left, Field):
        if left.base == "raw":
            name = f"@{left.proto},{left.name}"
        elif left.base == "tcpopt":
            name = "tcp option maxseg size"
        elif left.base == "payload":
            name = f"{left.proto} {left.name}".strip()
        elif left.base == "fib":
            name = f"fib {left.proto.replace('.', ' . ')} {left.name}"
        else:
            name = f"{left.base} {left.name}"
    elif isinstance(left, BinOp) and isinstance(left.left, Field):
        inner = Match(match.op, left.left, 0)
        name = f"{match_text(inner).rsplit(' ', 2)[0]} {left.op} {value_text(left.right)}"
    else:
        name = type(left).__name__.lower()
    return f"{name} {match.op} {value_text(match.right)}"


def value_text(value: object) -> str:
    """An IR value as nft writes it: `198.51.100.0/24`, `10000-20000`, `{ 5060, 5061 }`."""
    if isinstance(value, Prefix):
        return f"{value.addr}/{value.length}"
    if isinstance(value, Range):
        return f"{value.lo}-{value.hi}"
    if isinstance(value, Flags):
        return ",".join(str(n) for n in value.names)
    if isinstance(value, ConcatValue):
        return " . ".join(value_text(p) for p in value.parts)
    if isinstance(value, AnonSet):
        return "{ " + ", ".join(value_text(e) for e in value.elements) + " }"
    if isinstance(value, SetRef):
        return f"@{value.name}"
    return str(value)


def verdict_text(verdict: Verdict) -> str:
    return f"{verdict.kind} {verdict.target}".strip()
