"""extensions.conf: which contexts and extensions exist (enough to check endpoint contexts).

pbx_config.c: every non-template section except [general] and [globals] is a context;
`exten =>` adds an extension, `same =>` continues the previous one, `include =>` pulls
in another context. Context names are compared case-sensitively by the PBX core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkconsole.conf.tree import LoadedConfig, Variable

RESERVED = frozenset({"general", "globals"})


@dataclass
class Context:
    """A dialplan context: its extensions and includes, with the lines they came from."""

    name: str
    file: str
    line: int
    extensions: dict[str, Variable] = field(default_factory=dict)  # pattern -> first line
    includes: list[str] = field(default_factory=list)


@dataclass
class Dialplan:
    """Contexts from extensions.conf (found=False: no extensions.conf to check against)."""

    contexts: dict[str, Context] = field(default_factory=dict)
    found: bool = False

    def has(self, name: str) -> bool:
        return name in self.contexts

    def similar(self, name: str) -> str | None:
        """A context whose name differs only in letter case."""
        for other in self.contexts:
            if other.lower() == name.lower():
                return other
        return None


def dialplan(conf: LoadedConfig | None) -> Dialplan:
    """Contexts and extension patterns from a loaded extensions.conf."""
    plan = Dialplan(found=conf is not None and conf.found and conf.valid)
    if conf is None or not plan.found:
        return plan
    for cat in conf.categories:
        if cat.template or cat.name.lower() in RESERVED:
            continue
        context = plan.contexts.setdefault(cat.name, Context(cat.name, cat.file, cat.line))
        for var in cat.variables:
            name = var.name.lower()
            if name == "exten":
                pattern = var.value.split(",", 1)[0].strip()
                pattern = pattern.split("/", 1)[0]  # exten => 100/callerid,...
                context.extensions.setdefault(pattern, var)
            elif name == "include":
                context.includes.append(var.value.split(",", 1)[0].strip())
    return plan
