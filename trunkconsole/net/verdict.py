"""What the verdict engine answers: accept, drop or depends, with the rule and path behind it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from trunkconsole.net.ir import Chain, Rule
from trunkconsole.net.packet import Probe


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

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "deciding": self.deciding.to_json(),
                "path": [s.render() for s in self.path],
                "assumptions": list(self.assumptions), "notes": list(self.notes)}


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

    def signature(self) -> tuple[object, ...]:
        """Equal for port classes that can be merged into one line."""
        return (self.decision, tuple((o.decision, o.deciding.label, o.assumptions)
                                     for o in self.outcomes), self.notes)

    def summary(self) -> str:
        """`accepted by inet filter input #12` / `dropped by ...` / `depends: ...`."""
        if self.decision is Decision.DEPENDS:
            parts = []
            for outcome in self.outcomes:
                why = "; ".join(outcome.assumptions) or "no assumption"
                parts.append(f"{outcome.decision.value} by {outcome.deciding.label} if {why}")
            return "depends: " + " | ".join(parts)
        word = "accepted" if self.decision is Decision.ACCEPT else "dropped"
        labels = list(dict.fromkeys(o.deciding.label for o in self.outcomes))
        if len(labels) > 1:
            return f"{word} (by {' or by '.join(labels)}, depending on {self._unknowns()})"
        return f"{word} by {labels[0]}" if labels else word

    def _unknowns(self) -> str:
        texts = {a.split(": '", 1)[-1].rsplit("' ", 1)[0] for a in self.assumptions}
        return ", ".join(sorted(texts)) or "the path"

    def to_json(self) -> dict[str, Any]:
        return {"probe": self.probe.describe(), "decision": self.decision.value,
                "summary": self.summary(),
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
        return ", ".join(f"{c.ports()} {c.verdict.summary()}" for c in self.classes)

    def ports_with(self, decision: Decision) -> int:
        return sum(c.hi - c.lo + 1 for c in self.classes if c.verdict.decision is decision)

    def to_json(self) -> dict[str, Any]:
        return {"probe": self.probe.describe(), "decision": self.decision.value,
                "summary": self.summary(),
                "classes": [{"ports": c.ports(), "lo": c.lo, "hi": c.hi,
                             **c.verdict.to_json()} for c in self.classes]}
