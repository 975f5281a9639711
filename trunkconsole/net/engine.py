"""The verdict engine: walk every base chain an inbound packet meets, three-valued.

Kernel facts this depends on (nft(8) "VERDICT STATEMENT", reference §5.2, checked by
tests/netns/test_kernel_agreement.py): base chains on a hook run in ascending priority
across tables and families (ip + inet, or ip6 + inet, plus legacy xtables); `accept` ends
only the current base chain, `drop`/`reject` end the packet; a base chain that runs out
of rules applies its policy; a `return` in a goto'd chain returns to the caller of the
chain that jumped; nat chains see only the first packet of a connection, and the first
nat chain that binds ends NAT for that hook.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from trunkconsole.conf.gcpause import gc_paused
from trunkconsole.net.ir import (
    Chain,
    CtHelper,
    Match,
    Nat,
    Nop,
    NoTrack,
    Rule,
    Ruleset,
    SetMark,
    SetRef,
    Statement,
    Table,
    Unknown,
    Verdict,
    VMap,
)
from trunkconsole.net.match import (
    ABSENT,
    LOCAL_UNICAST,
    REMOTE_IF,
    UNKNOWN,
    SetCache,
    Unsupported,
    compile_lookup,
    compile_match,
    find,
    key_reader,
)
from trunkconsole.net.packet import Packet, Probe
from trunkconsole.net.unknowns import Condition
from trunkconsole.net.values import ValueError_
from trunkconsole.net.verdict import (
    Decision,
    Outcome,
    PacketVerdict,
    PortClass,
    RangeVerdict,
    RuleRef,
    Step,
)

MAX_PATHS = 256
PRE_HOOKS = ("prerouting",)
FAMILIES = {4: ("ip", "inet"), 6: ("ip6", "inet")}


class TooManyPaths(Exception):
    pass


@dataclass(slots=True)
class Branch:
    """One way through the rules so far: the packet as rewritten, assumptions, the path."""

    packet: Packet
    assumptions: tuple[str, ...] = ()
    path: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    accepted: tuple[RuleRef, ...] = ()
    conditions: tuple[Condition, ...] = ()

    def fork(self, assumption: str, condition: Condition | None = None) -> Branch:
        conditions = self.conditions if condition is None or condition in self.conditions \
            else (*self.conditions, condition)
        return replace(self, packet=self.packet.copy(),
                       assumptions=(*self.assumptions, assumption), conditions=conditions)

    def step(self, step: Step) -> None:
        self.path = (*self.path, step)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes = (*self.notes, text)


@dataclass(slots=True)
class CRule:
    """A rule compiled to ops, plus for each op whether anything decisive follows it."""

    rule: Rule
    ops: list[tuple[Any, ...]]
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


def _is_decisive(op: tuple[Any, ...]) -> bool:
    return op[0] in ("v", "vm", "vmu", "nat", "mark", "helper", "notrack")


class Engine:
    """Compiled once per ruleset; evaluate() and evaluate_range() are then cheap."""

    def __init__(self, ruleset: Ruleset, *, local_addresses: Iterable[str] | None = None,
                 max_paths: int = MAX_PATHS) -> None:
        self.ruleset = ruleset
        self.max_paths = max_paths
        self.local = None if local_addresses is None else {
            int(ipaddress.ip_address(a)) for a in local_addresses}
        with gc_paused():  # 50,000 set elements: generation scans would double the time
            self._compile(ruleset)

    def _compile(self, ruleset: Ruleset) -> None:
        self._sets = SetCache()
        self._preds: dict[tuple[Match, int], Any] = {}
        self._chains: dict[tuple[str, str, str, str], CChain] = {}
        for table in ruleset.tables:
            owner = table.owner
            for chain in table.chains.values():
                self._chains[(table.source, table.family, table.name, chain.name)] = \
                    self._compile_chain(table, chain, owner)
        self._hooks: dict[tuple[int, str], list[CChain]] = {}
        for family in (4, 6):
            for hook in ("ingress", "prerouting", "input", "forward"):
                chains = [c for c in self._chains.values()
                          if c.chain.hook == hook and self._family_ok(c.chain.family, family,
                                                                      hook)]
                chains.sort(key=lambda c: c.chain.prio)
                self._hooks[(family, hook)] = chains

    @staticmethod
    def _family_ok(table_family: str, family: int, hook: str) -> bool:
        if hook == "ingress":
            return table_family in ("netdev", "inet")
        return table_family in FAMILIES[family]

    # --- compilation ---------------------------------------------------------------------

    def _compile_chain(self, table: Table, chain: Chain, owner: str) -> CChain:
        compiled = CChain(chain, owner=owner)
        for rule in chain.rules:
            ops = [op for s in rule.statements if (op := self._compile_op(s, table)) is not None]
            decisive = [any(_is_decisive(o) for o in ops[i + 1:]) for i in range(len(ops))]
            compiled.rules.append(CRule(rule, ops, decisive, owner))
        return compiled

    def _compile_op(self, stmt: Statement, table: Table) -> tuple[Any, ...] | None:
        if isinstance(stmt, Match):
            volatile = ""
            if isinstance(stmt.right, SetRef):
                named = table.sets.get(stmt.right.name)
                if named is None:
                    return ("u", f"{_match_text(stmt)} (set @{stmt.right.name} is not in "
                                 "the listing)")
                where = f"ipset {named.name}" if named.table == "ipset" else \
                    f"set @{named.name} in {table.label()}"
                if named.volatile:
                    volatile = (f"{where} is filled at run time (fail2ban, meters): the "
                                "verdict holds for its current elements")
            try:
                key = (stmt, id(table))
                pred = self._preds.get(key)
                if pred is None:  # rulesets repeat matches (ct state, ports): compile once
                    pred = self._preds[key] = compile_match(stmt, table, self._sets)
                return ("m", pred, stmt, volatile)
            except (Unsupported, ValueError_) as exc:
                return ("u", f"{_match_text(stmt)} ({exc})")
        if isinstance(stmt, Unknown):
            return ("u", stmt.text)
        if isinstance(stmt, Verdict):
            return ("v", stmt)
        if isinstance(stmt, VMap):
            try:
                read, spaces = key_reader(stmt.key)
                lookup = compile_lookup(stmt.data, spaces, table, self._sets, is_map=True)
                return ("vm", read, lookup)
            except (Unsupported, ValueError_):
                if isinstance(stmt.data, tuple):
                    return ("vmu", tuple(v for _, v in stmt.data))
                named = table.sets.get(stmt.data.name)
                verdicts = tuple(v for v in (named.data if named else ())
                                 if isinstance(v, Verdict))
                return ("vmu", verdicts)
        if isinstance(stmt, Nat):
            return ("nat", stmt)
        if isinstance(stmt, SetMark):
            return ("mark", stmt)
        if isinstance(stmt, CtHelper):
            helper = table.helpers.get(stmt.name)
            return ("helper", stmt.name, helper.type if helper else stmt.name)
        if isinstance(stmt, NoTrack):
            return ("notrack",)
        assert isinstance(stmt, Nop)
        return None

    # --- evaluation ----------------------------------------------------------------------

    def evaluate(self, probe: Probe) -> PacketVerdict:
        """The verdict for one probe; a port span that the rules split raises PortSplit."""
        self._paths = 1
        start = Branch(Packet.from_probe(probe))
        try:
            finals = self._walk(start)
        except TooManyPaths:
            return PacketVerdict(probe, Decision.DEPENDS, (), (
                f"more than {self.max_paths} alternative paths: evaluation stopped",))
        return _verdict(probe, finals)

    def evaluate_range(self, probe: Probe) -> RangeVerdict:
        """Split [dport_lo, dport_hi] into classes the rules treat alike; one verdict each."""
        from trunkconsole.net.values import PortSplit

        pending = [(probe.dport_lo, probe.dport_high)]
        done: list[PortClass] = []
        while pending:
            lo, hi = pending.pop()
            try:
                verdict = self.evaluate(probe.with_ports(lo, hi))
            except PortSplit as split:
                edges = sorted({p for p in split.points if lo < p <= hi})
                bounds = [lo, *edges, hi + 1]
                pending.extend((a, b - 1) for a, b in pairwise(bounds))
                continue
            done.append(PortClass(lo, hi, verdict))
        done.sort(key=lambda c: c.lo)
        merged: list[PortClass] = []
        for cls in done:
            if merged and merged[-1].hi + 1 == cls.lo and \
                    merged[-1].verdict.signature() == cls.verdict.signature():
                first = merged[-1]
                merged[-1] = PortClass(first.lo, cls.hi, replace(
                    first.verdict, probe=probe.with_ports(first.lo, cls.hi)))
            else:
                merged.append(cls)
        return RangeVerdict(probe, tuple(merged))

    def _walk(self, start: Branch) -> list[Branch | tuple[Branch, RuleRef]]:
        finals: list[Branch | tuple[Branch, RuleRef]] = []
        family = start.packet.family
        branches = self._ingress_forks(start, family)
        for hook in ("ingress", "prerouting", "route", "final"):
            if hook == "route":
                branches = [b for br in branches for b in self._route(br)]
                continue
            next_round: list[Branch] = []
            for br in branches:
                name = hook if hook != "final" else ("input" if br.packet.daddr_local
                                                     else "forward")
                chains = self._hooks[(family, name)]
                if name == "ingress":
                    chains = [c for c in chains if br.packet.iif in c.chain.devices]
                survivors = [br]
                for chain in chains:
                    survivors = self._through_chain(chain, survivors, finals)
                next_round.extend(survivors)
            branches = next_round
        finals.extend(branches)
        return finals

    def _ingress_forks(self, start: Branch, family: int) -> list[Branch]:
        devices = sorted({d for c in self._hooks[(family, "ingress")] for d in c.chain.devices})
        if start.packet.iif is not None or not devices:
            return [start]
        forks = []
        for dev in devices:
            br = start.fork(f"the packet arrives on {dev}", Condition(
                "", f"input interface ({', '.join(devices)} have ingress chains)"))
            br.packet.iif = dev
            forks.append(br)
        forks.append(start.fork(f"the packet arrives on none of {', '.join(devices)}",
                                Condition("", f"input interface ({', '.join(devices)} have "
                                              "ingress chains)")))
        self._count(len(forks))
        return forks

    def _route(self, br: Branch) -> list[Branch]:
        if br.packet.daddr_local is not None:
            if not br.packet.daddr_local:
                br.note("destination is not local after DNAT: the forward hook decides")
            return [br]
        where = Condition("", "whether the (translated) destination is local")
        local = br.fork("the (translated) destination is a local address", where)
        local.packet.daddr_local = True
        remote = br.fork("the (translated) destination is another host (forwarded)", where)
        remote.packet.daddr_local = False
        self._count(1)
        return [local, remote]

    def _count(self, extra: int) -> None:
        self._paths += extra
        if self._paths > self.max_paths:
            raise TooManyPaths

    def _through_chain(self, chain: CChain, branches: list[Branch],
                       finals: list[Branch | tuple[Branch, RuleRef]]) -> list[Branch]:
        survivors: list[Branch] = []
        for br in branches:
            pkt = br.packet
            if chain.chain.type == "nat" and (not pkt.state & 8 or pkt.nat_done):
                continue_br = br
                survivors.append(continue_br)
                continue
            for verdict, out, ref in self._run_chain(chain, br):
                if verdict == "drop":
                    finals.append((out, ref))
                else:
                    out.accepted = (*out.accepted, ref)
                    survivors.append(out)
        return survivors

    def _run_chain(self, base: CChain, start: Branch) -> list[tuple[str, Branch, RuleRef]]:
        results: list[tuple[str, Branch, RuleRef]] = []
        work: list[tuple[Branch, list[tuple[CChain, int]]]] = [(start, [(base, 0)])]
        while work:
            br, stack = work.pop()
            while True:
                chain, index = stack[-1]
                if index >= len(chain.rules):
                    stack.pop()
                    if stack:
                        continue
                    ref = RuleRef.of_policy(base.chain, base.owner)
                    br.step(Step(base.chain.label(), f"policy {base.chain.policy}"))
                    results.append(("drop" if base.chain.policy == "drop" else "accept", br, ref))
                    break
                stack[-1] = (chain, index + 1)
                crule = chain.rules[index]
                alternatives = self._apply(crule, 0, br)
                if len(alternatives) > 1:
                    self._count(len(alternatives) - 1)
                    for action, target, alt in alternatives[1:]:
                        alt, alt_stack = self._continue(base, crule, action, target, alt,
                                                        list(stack), results)
                        if alt_stack:
                            work.append((alt, alt_stack))
                action, target, br = alternatives[0]
                br, stack = self._continue(base, crule, action, target, br, stack, results)
                if not stack:
                    break
        return results

    def _continue(self, base: CChain, crule: CRule, action: str, target: str, br: Branch,
                  stack: list[tuple[CChain, int]],
                  results: list[tuple[str, Branch, RuleRef]],
                  ) -> tuple[Branch, list[tuple[CChain, int]]]:
        """Apply one rule's outcome to the call stack; an empty stack means the chain ended."""
        if action == "next":
            return br, stack
        where = crule.ref.label
        if action in ("accept", "drop"):
            br.step(Step(where, action, crule.rule.rendered()))
            results.append((action, br, crule.ref))
            stack.clear()
            return br, stack
        if action in ("jump", "goto"):
            cchain = self._chains.get((crule.rule.source, crule.rule.family, crule.rule.table,
                                       target))
            br.step(Step(where, f"{action} {target}", crule.rule.rendered()))
            if cchain is None:
                br.note(f"{where}: chain {target} is missing; the rule was skipped")
                return br, stack
            if action == "goto":
                stack[-1] = (cchain, 0)
            else:
                stack.append((cchain, 0))
            return br, stack
        if action == "return":
            br.step(Step(where, "return", crule.rule.rendered()))
            stack.pop()
            if not stack:
                ref = RuleRef.of_policy(base.chain, base.owner)
                br.step(Step(base.chain.label(), f"policy {base.chain.policy}"))
                results.append(("drop" if base.chain.policy == "drop" else "accept", br, ref))
            return br, stack
        raise AssertionError(action)

    def _apply(self, crule: CRule, start: int, br: Branch) -> list[tuple[str, str, Branch]]:
        """Run one rule from op `start`: [(action, target, branch)], several when it forks."""
        ops = crule.ops
        for i in range(start, len(ops)):
            op = ops[i]
            kind = op[0]
            if kind == "m":
                hit = op[1](br.packet)
                if op[3]:
                    br.note(op[3])
                if hit:
                    continue
                if hit is False:
                    return [("next", "", br)]
                return self._fork(crule, i, br, _match_text(op[2]))
            if kind == "u":
                return self._fork(crule, i, br, op[1])
            if kind == "v":
                return self._verdict(crule, i, br, op[1])
            if kind == "vm":
                key = op[1](br.packet)
                if key is ABSENT:
                    return [("next", "", br)]
                if key is UNKNOWN or key is REMOTE_IF or key is LOCAL_UNICAST:
                    return self._fork(crule, i, br, f"vmap key {crule.rule.rendered()}")
                hit, verdict = find(op[2], key)
                if not hit:
                    return [("next", "", br)]
                return self._verdict(crule, i, br, verdict)
            if kind == "vmu":
                lookup = Condition(crule.ref.label, f"vmap {crule.rule.rendered()}")
                alts: list[tuple[str, str, Branch]] = [("next", "", br.fork(
                    f"{crule.ref.label}: the vmap key matches no element", lookup))]
                for verdict in op[1]:
                    alt = br.fork(f"{crule.ref.label}: the vmap gives {_verdict_text(verdict)}",
                                  lookup)
                    alts.extend(self._verdict(crule, i, alt, verdict))
                return alts
            if kind == "nat":
                return self._nat(crule, br, op[1])
            if kind == "mark":
                self._mark(br, op[1])
            elif kind == "helper":
                br.packet.helper = op[2]
                br.step(Step(crule.ref.label, f"ct helper {op[1]} (type {op[2]})",
                             crule.rule.rendered()))
                br.note(f"conntrack helper '{op[1]}' (type {op[2]}) assigned by "
                        f"{crule.ref.label}")
            elif kind == "notrack":
                br.packet.state = 64
                br.packet.status = 0
                br.step(Step(crule.ref.label, "notrack", crule.rule.rendered()))
        return [("next", "", br)]

    def _fork(self, crule: CRule, i: int, br: Branch, text: str) -> list[tuple[str, str, Branch]]:
        if not crule.decisive_after[i]:
            return [("next", "", br)]
        # Matches are pure: if a later one is surely false the rule cannot match whatever
        # the unknown one says (`--sport 67 --dport 68` for a packet to 5060).
        for op in crule.ops[i + 1:]:
            if op[0] != "m":
                break
            if op[1](br.packet) is False:
                return [("next", "", br)]
        label = crule.ref.label
        condition = Condition(label, text)
        yes = br.fork(f"{label}: '{text}' matches", condition)
        no = br.fork(f"{label}: '{text}' does not match", condition)
        return [*self._apply(crule, i + 1, yes), ("next", "", no)]

    def _verdict(self, crule: CRule, i: int, br: Branch,
                 verdict: Any) -> list[tuple[str, str, Branch]]:
        kind = verdict.kind
        if kind in ("accept", "drop", "return", "jump", "goto"):
            return [(kind, verdict.target, br)]
        if kind == "reject":
            return [("drop", "", br)]
        if kind == "continue":
            return [("next", "", br)]
        what = "the userspace program on the queue" if kind == "queue" else verdict.target
        label = crule.ref.label
        condition = Condition(label, what)
        return [("accept", "", br.fork(f"{label}: {what} accepts the packet", condition)),
                ("drop", "", br.fork(f"{label}: {what} drops the packet", condition))] \
            if kind == "queue" else [
                ("next", "", br.fork(f"{label}: {what} lets the packet continue", condition)),
                ("drop", "", br.fork(f"{label}: {what} drops the packet", condition))]

    def _nat(self, crule: CRule, br: Branch, nat: Nat) -> list[tuple[str, str, Branch]]:
        pkt = br.packet
        pkt.nat_done = True
        if nat.kind in ("dnat", "redirect"):
            pkt.status |= 32
            if nat.port is not None:
                pkt.dlo = pkt.dhi = nat.port
            if nat.kind == "dnat" and nat.addr is not None:
                try:
                    new = int(ipaddress.ip_address(nat.addr))
                except ValueError:
                    new = None
                if new != pkt.daddr:
                    pkt.daddr = new
                    pkt.daddr_local = None if self.local is None or new is None \
                        else new in self.local
            else:
                pkt.daddr_local = True
            br.note(f"{crule.ref.label} rewrites the destination ({crule.rule.rendered()})")
        else:
            pkt.status |= 16
        br.step(Step(crule.ref.label, nat.kind, crule.rule.rendered()))
        return [("accept", "", br)]

    @staticmethod
    def _mark(br: Branch, stmt: SetMark) -> None:
        pkt = br.packet
        current = pkt.mark if stmt.target == "meta" else pkt.ct_mark
        if stmt.value is None:
            new = None
        elif stmt.mask is None:
            new = stmt.value
        else:
            new = None if current is None else (current & ~stmt.mask) ^ stmt.value
        if stmt.target == "meta":
            pkt.mark = new
        else:
            pkt.ct_mark = new


def _match_text(match: Match) -> str:
    from trunkconsole.net.ir import Field

    left = match.left
    if isinstance(left, Field):
        if left.base == "payload":
            name = f"{left.proto} {left.name}".strip()
        elif left.base == "fib":
            name = f"fib {left.proto.replace('.', ' . ')} {left.name}"
        else:
            name = f"{left.base} {left.name}"
    else:
        name = type(left).__name__.lower()
    return f"{name} {match.op} {value_text(match.right)}"


def value_text(value: object) -> str:
    """An IR value as nft writes it: `198.51.100.0/24`, `10000-20000`, `{ 5060, 5061 }`."""
    from trunkconsole.net.ir import AnonSet, ConcatValue, Flags, Prefix, Range

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


def _verdict_text(verdict: Any) -> str:
    return f"{verdict.kind} {verdict.target}".strip() if isinstance(verdict, Verdict) \
        else str(verdict)


def _verdict(probe: Probe, finals: list[Branch | tuple[Branch, RuleRef]]) -> PacketVerdict:
    outcomes: list[Outcome] = []
    notes: dict[str, None] = {}
    for item in finals:
        if isinstance(item, tuple):
            br, ref = item
            decision = Decision.DROP
        else:
            br, decision = item, Decision.ACCEPT
            ref = _deciding_accept(br.accepted)
        for note in br.notes:
            notes.setdefault(note, None)
        outcomes.append(Outcome(decision, ref, br.path, br.assumptions, br.notes,
                                br.conditions))
    decisions = {o.decision for o in outcomes}
    decision = decisions.pop() if len(decisions) == 1 else Decision.DEPENDS
    outcomes.sort(key=lambda o: (o.decision is not Decision.DROP, len(o.assumptions)))
    return PacketVerdict(probe, decision, tuple(outcomes), tuple(notes))


def _deciding_accept(accepted: tuple[RuleRef, ...]) -> RuleRef:
    """The accept that mattered: an explicit rule rather than an accept policy."""
    explicit = [ref for ref in accepted if ref.handle is not None or "policy" not in ref.label]
    if explicit:
        return explicit[-1]
    if accepted:
        return accepted[-1]
    return RuleRef("no base chain on the path", "no rule: the kernel accepts")
