"""What a caller who lands in a context can make Asterisk do: dial out, or only ring inside.

The caller picks the dialled number (${EXTEN}): pbx.c matches it against the context's
extensions and then, in order, against every context it includes (`include =>`, followed
transitively), so all of those extensions are open to the caller. A jump that carries the
caller's number on (Goto/GotoIf/Gosub/GosubIf/Macro or Dial(Local/...) with ${EXTEN} in it,
e.g. FreePBX's from-pstn-e164-us `Goto(from-pstn,${EXTEN:2},1)`) opens the target context
too. A jump to a fixed extension (FreePBX's ext-did `Goto(from-did-direct,1001,1)`) lands
on a destination the configuration chose: it is not followed, and the result says so,
because a destination such as a follow-me or a call forward may still call out to the
number the configuration holds (never to one the caller picks).

Dialling out is a Dial() through a trunk (`PJSIP/num@trunk`, `PJSIP/trunk/sip:...`,
`SIP/peer/num`, `IAX2/peer/num`, `DAHDI/...`), FreePBX's outbound routes (`outrt-N`,
`outbound-allroutes`, macro-dialout-trunk / sub-dialout-trunk), or DISA(). What cannot be
followed (a jump or Dial whose context or technology is a variable and carries the
caller's number, a `switch =>`) leaves the answer open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from trunkconsole.conf.tree import LoadedConfig, Variable
from trunkconsole.pjsip.dialplan import RESERVED

OUTBOUND = "outbound"  # the caller can make Asterisk dial out through a trunk
INBOUND = "inbound"  # every open extension stays inside the PBX (as far as followed)
UNKNOWN = "unknown"  # something on the way cannot be followed

_JUMPS = frozenset({"goto", "gotoif", "gosub", "gosubif", "macro"})
_ROUTE_CONTEXTS = re.compile(r"^(outrt-|outbound-allroutes$|macro-dialout|sub-dialout)",
                             re.IGNORECASE)
_TRUNK_TECH = frozenset({"pjsip", "sip", "iax2", "dahdi", "chan_dahdi"})
# The dialled number, or a macro/subroutine argument that may carry it on.
_CALLER_NUMBER = re.compile(r"\$\{(EXTEN|MACRO_EXTEN|ARG\d)", re.IGNORECASE)


@dataclass(frozen=True)
class Reach:
    """The answer for one context, with the line that decided it."""

    kind: str  # OUTBOUND | INBOUND | UNKNOWN
    start: str
    followed: tuple[str, ...]  # contexts open to the caller, in the order reached
    line: Variable | None = None  # the Dial/jump that dials out or cannot be followed
    context: str = ""  # where that line is
    chosen: bool = False  # OUTBOUND: the dialled number is the caller's (${EXTEN})
    fixed: int = 0  # jumps to fixed destinations, not followed

    def summary(self) -> str:
        """One clause for a finding's title."""
        where = f"{self.line.file}:{self.line.line}" if self.line is not None else ""
        if self.kind == OUTBOUND:
            return (f"context {self.start} reaches a call out through a trunk in "
                    f"[{self.context}]"
                    + (f" ({where}: {_app_text(self.line)})" if self.line is not None
                       else " (an outbound route)")
                    + ("" if self.chosen else ", to a number the configuration holds"))
        if self.kind == UNKNOWN:
            return (f"context {self.start} cannot be followed to the end: [{self.context}] "
                    + (f"{where}: {_app_text(self.line)}" if self.line is not None
                       else "is not in extensions.conf"))
        return (f"context {self.start} only routes calls inside the PBX (followed: "
                + ", ".join(self.followed[:6]) + (" ..." if len(self.followed) > 6 else "")
                + (f"; {self.fixed} jumps to fixed destinations not followed" if self.fixed
                   else "") + ")")


def _app_text(line: Variable | None) -> str:
    if line is None:
        return ""
    app = f"include => {line.value}" if line.key == "include" else _application(line)
    return app if len(app) <= 80 else app[:77] + "..."


def _application(var: Variable) -> str:
    """`exten => pattern,prio,App(args)` / `same => prio,App(args)` -> `App(args)`."""
    parts = var.value.split(",", 2 if var.key == "exten" else 1)
    return parts[-1].strip() if len(parts) == (3 if var.key == "exten" else 2) else ""


def _fields(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside ${...}, $[...] and (...) (Asterisk's argument parser nests)."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "({[":
            depth += 1
        elif char in ")}]" and depth:
            depth -= 1
        elif char == sep and not depth:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _split_app(app: str) -> tuple[str, str]:
    name, _, rest = app.partition("(")
    return name.strip().lower(), rest[:rest.rfind(")")] if ")" in rest else rest


def _jump_targets(name: str, args: str) -> list[tuple[str, str]]:
    """(context, extension) of each branch; context "" for one in the same context."""
    if name in ("gotoif", "gosubif"):
        branches = _fields(args, "?")[-1]
        parts = [b for b in _fields(branches, ":") if b.strip()]
    elif name == "macro":
        macro, *rest = _fields(args)
        return [(f"macro-{macro.strip()}", ",".join(rest))]
    else:
        parts = [args]
    out = []
    for part in parts:
        fields = [f.strip() for f in _fields(part)]
        # Gosub(ctx,exten,prio(args)): arguments carry the number on as ${ARGn}
        carried = ",".join(fields[1:] if name.startswith("gosub") else fields[1:2])
        if len(fields) >= 3:
            out.append((fields[0], carried))
        elif len(fields) == 2:
            out.append(("", fields[0]))
    return out


def _dial_targets(args: str) -> list[tuple[str, str]]:
    """(technology, resource) of each `&`-joined Dial() target."""
    first = _fields(args)[0]
    out = []
    for target in _fields(first, "&"):
        tech, _, resource = target.strip().partition("/")
        out.append((tech.strip(), resource.strip()))
    return out


def _trunk_of(tech: str, resource: str) -> str | None:
    """The endpoint/peer a Dial target sends a number through; None for a plain device."""
    if tech.lower() == "pjsip":
        if "@" in resource:
            return resource.rsplit("@", 1)[1].split("/", 1)[0]
        if "/" in resource:  # PJSIP/endpoint/sip:number@host
            return resource.split("/", 1)[0]
        return None
    if tech.lower() in ("dahdi", "chan_dahdi"):
        return "DAHDI"
    return resource.split("/", 1)[0] if "/" in resource else None


class DialplanReach:
    """Answers reach(context) over one loaded extensions.conf (cached per context)."""

    def __init__(self, conf: LoadedConfig, is_trunk: Callable[[str], bool]) -> None:
        self.lines: dict[str, list[Variable]] = {}
        self.includes: dict[str, list[tuple[str, Variable]]] = {}
        self.switches: dict[str, Variable] = {}
        for cat in conf.categories:
            if cat.template or cat.name.lower() in RESERVED:
                continue
            lines = self.lines.setdefault(cat.name, [])
            for var in cat.variables:
                if var.key in ("exten", "same"):
                    lines.append(var)
                elif var.key == "include":
                    self.includes.setdefault(cat.name, []).append(
                        (var.value.split(",", 1)[0].strip(), var))
                elif var.key in ("switch", "eswitch", "lswitch"):
                    self.switches.setdefault(cat.name, var)
        self.is_trunk = is_trunk
        self._cache: dict[str, Reach] = {}

    def reach(self, start: str) -> Reach:
        """Follow includes and number-carrying jumps from `start`; stop at the first call out."""
        if start not in self._cache:
            self._cache[start] = self._walk(start)
        return self._cache[start]

    def _walk(self, start: str) -> Reach:
        if start not in self.lines:
            return Reach(UNKNOWN, start, (), context=start)
        queue, seen, fixed = [start], [start], 0
        unknown: Reach | None = None
        while queue:
            context = queue.pop(0)
            if _ROUTE_CONTEXTS.match(context):
                return Reach(OUTBOUND, start, tuple(seen), None, context, chosen=True)
            switch = self.switches.get(context)
            if switch is not None and unknown is None:
                unknown = Reach(UNKNOWN, start, (), switch, context)
            nexts = list(self.includes.get(context, []))  # (context, the line leading there)
            for var in self.lines.get(context, []):
                name, args = _split_app(_application(var))
                carries = "${EXTEN" in args.upper()
                if name == "disa":
                    return Reach(OUTBOUND, start, tuple(seen), var, context, chosen=True)
                if name == "dial":
                    for tech, resource in _dial_targets(args):
                        if tech.lower() == "local":
                            target = resource.split("/", 1)[0].rpartition("@")[2]
                            if not carries:
                                fixed += 1
                            elif "${" in target:
                                unknown = unknown or Reach(UNKNOWN, start, (), var, context)
                            else:
                                nexts.append((target, var))
                            continue
                        trunk = _trunk_of(tech, resource)
                        if "${" in tech or (trunk is not None and "${" in trunk):
                            if carries and unknown is None:
                                unknown = Reach(UNKNOWN, start, (), var, context)
                        elif trunk is not None and tech.lower() in _TRUNK_TECH and (
                                trunk == "DAHDI" or self.is_trunk(trunk)):
                            return Reach(OUTBOUND, start, tuple(seen), var, context,
                                         chosen=_CALLER_NUMBER.search(resource) is not None)
                elif name in _JUMPS:
                    for target, exten in _jump_targets(name, args):
                        if _ROUTE_CONTEXTS.match(target):
                            return Reach(OUTBOUND, start, tuple(seen), var, context,
                                         chosen=carries)
                        if not target or "${EXTEN" not in exten.upper():
                            fixed += bool(target)
                        elif "${" in target:
                            if unknown is None:
                                unknown = Reach(UNKNOWN, start, (), var, context)
                        else:
                            nexts.append((target, var))
            for name, via in nexts:
                if _ROUTE_CONTEXTS.match(name):
                    return Reach(OUTBOUND, start, tuple(seen), via, context, chosen=True)
                if name in self.lines and name not in seen:
                    seen.append(name)
                    queue.append(name)
        if unknown is not None:
            return Reach(UNKNOWN, start, tuple(seen), unknown.line, unknown.context)
        return Reach(INBOUND, start, tuple(seen), fixed=fixed)
