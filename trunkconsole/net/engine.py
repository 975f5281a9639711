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
from bisect import bisect_left
from collections.abc import Iterable

from trunkconsole.conf.gcpause import gc_paused
from trunkconsole.net.branch import (
    Alternative,
    Branch,
    TooManyPaths,
    packet_verdict,
    rewrite,
    set_mark,
    verdict_alternatives,
    vmap_alternatives,
)
from trunkconsole.net.compiled import (
    CChain,
    Compiler,
    CRule,
    HelperOp,
    MarkOp,
    MatchOp,
    NatOp,
    NoTrackOp,
    SourceRun,
    UnknownOp,
    VerdictOp,
    VMapOp,
    VMapUnknownOp,
    match_text,
)
from trunkconsole.net.cycles import check_loops
from trunkconsole.net.fields import ABSENT, LOCAL_UNICAST, REMOTE_IF, UNKNOWN
from trunkconsole.net.ir import Nat, Ruleset
from trunkconsole.net.match import find
from trunkconsole.net.packet import Packet, Probe
from trunkconsole.net.ranges import evaluate_range
from trunkconsole.net.unknowns import Condition
from trunkconsole.net.values import CT_NEW, CT_UNTRACKED
from trunkconsole.net.verdict import (
    Decision,
    PacketVerdict,
    RangeVerdict,
    RuleRef,
    Step,
)

MAX_PATHS = 256
# Rule visits per probe: a loop-free ruleset can still make a walk exponential (each
# chain jumping twice to the next); a hostile file must end, not hang (issue 11).
MAX_STEPS = 20_000
PRE_HOOKS = ("prerouting",)
FAMILIES = {4: ("ip", "inet"), 6: ("ip6", "inet")}


class Engine:
    """Compiled once per ruleset; evaluate() and evaluate_range() are then cheap."""

    def __init__(self, ruleset: Ruleset, *, local_addresses: Iterable[str] | None = None,
                 max_paths: int = MAX_PATHS) -> None:
        self.ruleset = ruleset
        self.max_paths = max_paths
        self.local = None if local_addresses is None else {
            int(ipaddress.ip_address(a)) for a in local_addresses}
        check_loops(ruleset.tables)
        with gc_paused():  # 50,000 set elements: generation scans would double the time
            self._compile(ruleset)

    def _compile(self, ruleset: Ruleset) -> None:
        compiler = Compiler()
        self._chains: dict[tuple[str, str, str, str], CChain] = {}
        for table in ruleset.tables:
            owner = table.owner
            for chain in table.chains.values():
                self._chains[(table.source, table.family, table.name, chain.name)] = \
                    compiler.chain(table, chain, owner)
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

    # --- evaluation ----------------------------------------------------------------------

    def evaluate(self, probe: Probe) -> PacketVerdict:
        """The verdict for one probe; a port span that the rules split raises PortSplit."""
        self._paths = 1
        self._steps = 0
        start = Branch(Packet.from_probe(probe))
        try:
            finals = self._walk(start)
        except TooManyPaths:
            return PacketVerdict(probe, Decision.DEPENDS, (), (
                f"more than {self.max_paths} alternative paths or {MAX_STEPS} rule visits: "
                "evaluation stopped",))
        return packet_verdict(probe, finals)

    def evaluate_range(self, probe: Probe) -> RangeVerdict:
        """Split [dport_lo, dport_hi] into classes the rules treat alike; one verdict each."""
        return evaluate_range(self.evaluate, probe)

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
                    chains = [c for c in chains if br.packet.iif in c.chain.devices
                              or not c.chain.devices]
                survivors = [br]
                for chain in chains:
                    if name == "ingress" and not chain.chain.devices:
                        survivors = self._maybe_attached(chain, survivors, finals)
                        continue
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

    def _maybe_attached(self, chain: CChain, branches: list[Branch],
                        finals: list[Branch | tuple[Branch, RuleRef]]) -> list[Branch]:
        """An ingress chain listed without its device (nft 1.0.6 JSON): it runs only if it
        is attached to the packet's input interface, which the listing does not say."""
        where = Condition(chain.chain.label(), "ingress chain device not in the listing")
        skipped = [br.fork(f"{chain.chain.label()} is not attached to the input interface",
                           where) for br in branches]
        attached = [br.fork(f"{chain.chain.label()} is attached to the input interface",
                            where) for br in branches]
        self._count(len(branches))
        return skipped + self._through_chain(chain, attached, finals)

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
            if chain.chain.type == "nat" and (not pkt.state & CT_NEW or pkt.nat_done):
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
        apply = self._apply
        while work:
            br, stack = work.pop()
            while True:
                chain, index = stack[-1]
                rules = chain.rules
                runs = chain.runs
                alternatives = None
                visits = 0
                while index < len(rules):  # the hot loop: rules that do not match
                    if index in runs:
                        index, alternatives, crule = self._through_run(
                            chain, runs[index], index, br)
                        visits += 1
                        if alternatives is not None:
                            break
                        continue
                    crule = rules[index]
                    index += 1
                    visits += 1
                    alternatives = apply(crule, 0, br)
                    if alternatives is not None:
                        break
                self._steps += visits
                if self._steps > MAX_STEPS:
                    raise TooManyPaths
                stack[-1] = (chain, index)
                if alternatives is None:  # the chain ran out of rules
                    stack.pop()
                    if stack:
                        continue
                    ref = RuleRef.of_policy(base.chain, base.owner)
                    br.step(Step(base.chain.label(), f"policy {base.chain.policy}"))
                    results.append(("drop" if base.chain.policy == "drop" else "accept", br, ref))
                    break
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

    def _through_run(self, chain: CChain, run: SourceRun, index: int, br: Branch,
                     ) -> tuple[int, list[Alternative] | None, CRule]:
        """The rules of a source run that can match this packet, in order; the index after
        the deciding rule, or after the run when none decides."""
        pkt = br.packet
        candidates = run.by_source.get((pkt.family, pkt.saddr), ())
        start = bisect_left(candidates, index)
        crule = chain.rules[index]
        for position in candidates[start:]:
            crule = chain.rules[position]
            alternatives = self._apply(crule, 0, br)
            if alternatives is not None:
                return position + 1, alternatives, crule
        return run.end, None, crule

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

    def _apply(self, crule: CRule, start: int, br: Branch,
               ) -> list[Alternative] | None:
        """Run one rule from op `start`: the alternatives, several when it forks;
        None when the rule does not match (the walk goes on with the same branch)."""
        ops = crule.ops
        for i in range(start, len(ops)):
            op = ops[i]
            if isinstance(op, MatchOp):  # the common case first: most ops are matches
                hit = op.pred(br.packet)
                if op.volatile:
                    br.note(op.volatile)
                if hit:
                    continue
                if hit is False:
                    return None
                if op.iif and br.packet.iif is None:
                    if op.iif in br.packet.iif_not:  # ruled out by an earlier fork
                        if op.iif_equal:
                            return None
                        continue
                    return self._fork(crule, i, br, match_text(op.match), iif=op)
                return self._fork(crule, i, br, match_text(op.match))
            if isinstance(op, UnknownOp):
                return self._fork(crule, i, br, op.text)
            if isinstance(op, VerdictOp):
                return verdict_alternatives(crule.ref.label, br, op.verdict)
            if isinstance(op, VMapOp):
                key = op.read(br.packet)
                if key is ABSENT:
                    return None
                if key is UNKNOWN or key is REMOTE_IF or key is LOCAL_UNICAST:
                    return self._fork(crule, i, br, f"vmap key {crule.rule.rendered()}")
                hit, verdict = find(op.lookup, key)
                if not hit:
                    return None
                return verdict_alternatives(crule.ref.label, br, verdict)
            if isinstance(op, VMapUnknownOp):
                return vmap_alternatives(crule.ref.label, crule.rule.rendered(), br,
                                         op.verdicts)
            if isinstance(op, NatOp):
                return self._nat(crule, br, op.nat)
            if isinstance(op, MarkOp):
                set_mark(br, op.mark)
            elif isinstance(op, HelperOp):
                br.packet.helper = op.kind
                br.step(Step(crule.ref.label, f"ct helper {op.name} (type {op.kind})",
                             crule.rule.rendered()))
                br.note(f"conntrack helper '{op.name}' (type {op.kind}) assigned by "
                        f"{crule.ref.label}")
            elif isinstance(op, NoTrackOp):
                br.packet.state = CT_UNTRACKED
                br.packet.status = 0
                br.step(Step(crule.ref.label, "notrack", crule.rule.rendered()))
        return None

    def _fork(self, crule: CRule, i: int, br: Branch, text: str,
              iif: MatchOp | None = None) -> list[Alternative] | None:
        if not crule.decisive_after[i]:
            return None
        # Matches are pure: if a later one is surely false the rule cannot match whatever
        # the unknown one says (`--sport 67 --dport 68` for a packet to 5060).
        for op in crule.ops[i + 1:]:
            if not isinstance(op, MatchOp):
                break
            if op.pred(br.packet) is False:
                return None
        label = crule.ref.label
        condition = Condition(label, text)
        yes = br.fork(f"{label}: '{text}' matches", condition)
        no = br.fork(f"{label}: '{text}' does not match", condition)
        if iif is not None:  # later iif matches then follow this answer
            named, other = (yes, no) if iif.iif_equal else (no, yes)
            named.packet.iif = iif.iif
            other.packet.iif_not = other.packet.iif_not | {iif.iif}
        return [*(self._apply(crule, i + 1, yes) or [Alternative("next", "", yes)]),
                Alternative("next", "", no)]

    def _nat(self, crule: CRule, br: Branch, nat: Nat) -> list[Alternative]:
        rewrite(br, nat, self.local, crule.ref.label, crule.rule.rendered())
        return [Alternative("accept", "", br)]

