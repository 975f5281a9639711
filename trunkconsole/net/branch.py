"""One way through the rules (a Branch), and the verdict assembled from all the ways."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

from trunkconsole.net.compiled import verdict_text
from trunkconsole.net.ir import Nat, SetMark, Verdict
from trunkconsole.net.packet import Packet, Probe
from trunkconsole.net.unknowns import Condition
from trunkconsole.net.values import CT_STATUS_DNAT, CT_STATUS_SNAT
from trunkconsole.net.verdict import Decision, Outcome, PacketVerdict, RuleRef, Step

MAX_PATH = 1_000  # steps kept per outcome; a longer walk is cut in the display
# What accepted a packet that met no base chain: the kernel itself (no hook, no policy).
NO_BASE_CHAIN = RuleRef("no base chain on the path", "no rule: the kernel accepts")


class TooManyPaths(Exception):
    pass


class Alternative(NamedTuple):
    """One way a rule can end: next | accept | drop | return | jump | goto, and the branch."""

    action: str
    target: str
    branch: Branch


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
        if len(self.path) < MAX_PATH:
            self.path = (*self.path, step)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes = (*self.notes, text)


def set_mark(br: Branch, stmt: SetMark) -> None:
    """`meta mark set` / `ct mark set` / iptables MARK --set-xmark on the branch's packet."""
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


def packet_verdict(probe: Probe, finals: list[Branch | tuple[Branch, RuleRef]]) -> PacketVerdict:
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
    return NO_BASE_CHAIN


def rewrite(br: Branch, nat: Nat, local: set[int] | None, label: str, text: str) -> None:
    """A NAT statement on the branch's packet: dnat/redirect change the destination (and
    whether it is still local: the forward hook decides otherwise), snat only the status.
    nat chains see only a connection's first packet, and the first binding ends NAT."""
    pkt = br.packet
    pkt.nat_done = True
    if nat.kind in ("dnat", "redirect"):
        pkt.status |= CT_STATUS_DNAT
        if nat.port is not None:
            pkt.dlo = pkt.dhi = nat.port
        if nat.kind == "dnat" and nat.addr is not None:
            try:
                new: int | None = int(ipaddress.ip_address(nat.addr))
            except ValueError:
                new = None
            if new != pkt.daddr:
                pkt.daddr = new
                pkt.daddr_local = None if local is None or new is None else new in local
        else:
            pkt.daddr_local = True
        br.note(f"{label} rewrites the destination ({text})")
    else:
        pkt.status |= CT_STATUS_SNAT
    br.step(Step(label, nat.kind, text))


def verdict_alternatives(label: str, br: Branch, verdict: Verdict) -> list[Alternative]:
    """What a verdict statement does to the branch: one way, or several when the verdict
    is decided outside the rules (a queue's userspace program, an unreadable target)."""
    kind = verdict.kind
    if kind in ("accept", "drop", "return", "jump", "goto"):
        return [Alternative(kind, verdict.target, br)]
    if kind == "reject":
        return [Alternative("drop", "", br)]
    if kind == "continue":
        return [Alternative("next", "", br)]
    what = "the userspace program on the queue" if kind == "queue" else verdict.target
    condition = Condition(label, what)
    if kind == "queue":
        return [Alternative("accept", "", br.fork(f"{label}: {what} accepts the packet",
                                                  condition)),
                Alternative("drop", "", br.fork(f"{label}: {what} drops the packet",
                                                condition))]
    more = [Alternative("accept", "", br.fork(f"{label}: {what} accepts the packet",
                                              condition))] if kind == "unreadable" else []
    return [*more,
            Alternative("next", "", br.fork(f"{label}: {what} lets the packet continue",
                                            condition)),
            Alternative("drop", "", br.fork(f"{label}: {what} drops the packet",
                                            condition))]


def vmap_alternatives(label: str, rendered: str, br: Branch,
                      verdicts: Iterable[Verdict]) -> list[Alternative]:
    """A vmap whose key cannot be read: no element, or any of its verdicts."""
    lookup = Condition(label, f"vmap {rendered}")
    alts = [Alternative("next", "", br.fork(f"{label}: the vmap key matches no element",
                                            lookup))]
    for verdict in verdicts:
        alt = br.fork(f"{label}: the vmap gives {verdict_text(verdict)}", lookup)
        alts.extend(verdict_alternatives(label, alt, verdict))
    return alts
