"""What the verdict engine answers: accept, drop or depends, with the rule and path behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from trunkconsole.net.ir import Chain, Rule
from trunkconsole.net.packet import Probe
from trunkconsole.net.unknowns import Condition, clip

MAX_SUMMARY_CLASSES = 6  # a range summary names at most this many port classes


class Decision(str, Enum):
    ACCEPT = "accept"
    DROP = "drop"
    DEPENDS = "depends"


@dataclass(frozen=True)
class RuleRef:
    """Where to find the deciding rule: `inet filter input #12` and its text."""

    label: str
    text: str
    table: str = ""
    chain: str = ""
    handle: int | None = None
    owner: str = ""

    @classmethod
    def of_rule(cls, rule: Rule, owner: str = "") -> RuleRef:
        return cls(rule.label(), rule.rendered(), f"{rule.family} {rule.table}", rule.chain,
                   rule.handle, owner)

    @classmethod
    def of_policy(cls, chain: Chain, owner: str = "") -> RuleRef:
        return cls(f"{chain.label()} policy", f"policy {chain.policy}",
                   f"{chain.family} {chain.table}", chain.name, None, owner)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "text": self.text, "table": self.table,
                "chain": self.chain, "handle": self.handle, "owner": self.owner}


@dataclass(frozen=True)
class Step:
    """One thing that happened on the way: a jump, a vmap hit, an accept, a policy."""

    where: str
    action: str
    text: str = ""

    def render(self) -> str:
        if not self.text:
            return f"{self.where}: {self.action}"
        if self.text.endswith(self.action):
            return f"{self.where}: {self.text}"
        return f"{self.where}: {self.text} -> {self.action}"


@dataclass(frozen=True)
class Outcome:
    """One way the packet can go; several when an undecidable rule forks the walk."""

    decision: Decision  # ACCEPT or DROP
    deciding: RuleRef
    path: tuple[Step, ...]
    assumptions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "deciding": self.deciding.to_json(),
                "path": [s.render() for s in self.path],
                "assumptions": list(self.assumptions), "notes": list(self.notes)}

    def route(self) -> str:
        """The chains the packet went through, compactly: `input > sip_in`."""
        chains: list[str] = []
        for step in self.path:
            name = step.where.split(" #")[0].split(" rule ")[0].split(" policy")[0]
            name = name.rsplit(" ", 1)[-1]
            if not chains or chains[-1] != name:
                chains.append(name)
        return " > ".join(chains)


@dataclass(frozen=True)
class PacketVerdict:
    """The answer for one probe (one port or a uniform port class)."""

    probe: Probe
    decision: Decision
    outcomes: tuple[Outcome, ...]
    notes: tuple[str, ...] = ()

    @property
    def deciding(self) -> RuleRef | None:
        return self.outcomes[0].deciding if self.outcomes else None

    @property
    def assumptions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for outcome in self.outcomes:
            for text in outcome.assumptions:
                seen.setdefault(text, None)
        return tuple(seen)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every distinct unknown the outcomes hang on, in the order the walk met them."""
        seen: dict[Condition, None] = {}
        for outcome in self.outcomes:
            for condition in outcome.conditions:
                seen.setdefault(condition, None)
        return tuple(seen)

    def signature(self) -> tuple[object, ...]:
        """Equal for port classes that can be merged into one line."""
        return (self.decision, tuple((o.decision, o.deciding.label, o.assumptions)
                                     for o in self.outcomes), self.notes)

    def summary(self) -> str:
        """`accepted by inet filter input #12` / `dropped by ...` / `depends: ...`."""
        if self.decision is Decision.DEPENDS and not self.outcomes:
            return f"undecided: {self.notes[0]}" if self.notes else "undecided"
        if self.decision is Decision.DEPENDS:
            ways = []
            for decision, word in ((Decision.ACCEPT, "accepted"), (Decision.DROP, "dropped")):
                labels = list(dict.fromkeys(o.deciding.label for o in self.outcomes
                                            if o.decision is decision))
                if labels:
                    more = f" (or {len(labels) - 1} other)" if len(labels) > 1 else ""
                    ways.append(f"{word} by {labels[0]}{more}")
            conditions = self.conditions
            what = "the path"
            if conditions:
                first = conditions[0]
                what = first.state().split(":")[0]
                if first.where:
                    what += f" at {first.where}"
                if len(conditions) > 1:
                    what += f" (+{len(conditions) - 1} more)"
            return f"depends on {what}: {', or '.join(ways)}"
        word = "accepted" if self.decision is Decision.ACCEPT else "dropped"
        labels = list(dict.fromkeys(o.deciding.label for o in self.outcomes))
        if len(labels) > 1:
            return f"{word} (by {' or by '.join(labels)}, depending on {self._unknowns()})"
        return f"{word} by {labels[0]}" if labels else word

    def _unknowns(self) -> str:
        texts = list(dict.fromkeys(c.state().split(":")[0] for c in self.conditions))
        return clip(", ".join(texts), 120) or "the path"

    def unknown_lines(self, width: int = 160) -> list[str]:
        """One line per unknown: where, what the rule says, the state it depends on."""
        return [c.line(width) for c in self.conditions]

    def to_json(self) -> dict[str, Any]:
        return {"probe": self.probe.describe(), "decision": self.decision.value,
                "summary": self.summary(), "unknowns": self.unknown_lines(),
                "outcomes": [o.to_json() for o in self.outcomes], "notes": list(self.notes)}


@dataclass(frozen=True)
class PortClass:
    lo: int
    hi: int
    verdict: PacketVerdict

    def ports(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


@dataclass(frozen=True)
class RangeVerdict:
    """A port range split where the rules change their mind: one verdict per class."""

    probe: Probe
    classes: tuple[PortClass, ...]

    @property
    def decision(self) -> Decision:
        decisions = {c.verdict.decision for c in self.classes}
        if decisions == {Decision.ACCEPT}:
            return Decision.ACCEPT
        if decisions == {Decision.DROP}:
            return Decision.DROP
        return Decision.DEPENDS

    @property
    def uniform(self) -> bool:
        return len(self.classes) == 1

    def summary(self) -> str:
        """`10000-10049 accepted by ..., 10050-20000 dropped by inet filter input #12`."""
        shown = self.classes[:MAX_SUMMARY_CLASSES]
        text = ", ".join(f"{c.ports()} {c.verdict.summary()}" for c in shown)
        rest = self.classes[MAX_SUMMARY_CLASSES:]
        if rest:
            text += f", and {len(rest)} more port classes ({rest[0].lo}-{rest[-1].hi})"
        return text

    def ports_with(self, decision: Decision) -> int:
        return sum(c.hi - c.lo + 1 for c in self.classes if c.verdict.decision is decision)

    def to_json(self) -> dict[str, Any]:
        return {"probe": self.probe.describe(), "decision": self.decision.value,
                "summary": self.summary(),
                "classes": [{"ports": c.ports(), "lo": c.lo, "hi": c.hi,
                             **c.verdict.to_json()} for c in self.classes]}
