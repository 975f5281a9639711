"""Turn loaded pjsip.conf categories into sorcery objects, as res_sorcery_config does.

- The type is the value of the first `type` variable (it may come from a template);
  it must match a known type exactly, otherwise the section is silently ignored.
- Every option name (case-insensitive) must be known for that type, or Asterisk refuses
  the whole object: "Could not find option suitable for category ..." (reference 5.2).
- Two sections with the same id and type make the whole type fail to load.
- Templates are never objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkconsole.conf.tree import Category, LoadedConfig
from trunkconsole.pjsip.matches import Match, parse_match
from trunkconsole.pjsip.objects import OBJECT_TYPES, Option, PjsipObject
from trunkconsole.pjsip.options_table import OPTIONS

PJSIP_OPTIONS = OPTIONS["pjsip.conf"]
_LOWER_OPTIONS = {kind: frozenset(name.lower() for name in names)
                  for kind, names in PJSIP_OPTIONS.items()}


def known_option(kind: str, name: str) -> bool:
    """True when Asterisk accepts option name for objects of type kind."""
    options = _LOWER_OPTIONS.get(kind)
    if options is None:
        return True
    if name.startswith("@") or "*" in options:
        return True  # sorcery extended fields; phoneprov takes any variable
    return name.lower() in options or name.lower() == "type"


@dataclass
class Untyped:
    """A non-template section that creates no object, and why."""

    category: Category
    type_value: str | None  # None: no type= at all


@dataclass
class PjsipConfig:
    """Every PJSIP object from pjsip.conf and pjsip_wizard.conf, and what went wrong."""

    objects: list[PjsipObject] = field(default_factory=list)
    untyped: list[Untyped] = field(default_factory=list)
    duplicates: dict[str, list[list[PjsipObject]]] = field(default_factory=dict)
    pjsip: LoadedConfig | None = None
    wizard: LoadedConfig | None = None

    def __post_init__(self) -> None:
        self._index: dict[str, dict[str, PjsipObject]] = {}

    def add(self, obj: PjsipObject) -> None:
        self.objects.append(obj)
        self._index.setdefault(obj.type, {}).setdefault(obj.id, obj)

    def of_type(self, kind: str) -> list[PjsipObject]:
        """Objects of one type, in file order."""
        return [obj for obj in self.objects if obj.type == kind]

    def get(self, kind: str, object_id: str) -> PjsipObject | None:
        """The (first) object of that type and id."""
        return self._index.get(kind, {}).get(object_id)

    def type_failed(self, kind: str) -> bool:
        """True when duplicates make Asterisk drop every object of this type."""
        return bool(self.duplicates.get(kind))

    def identifies_for(self, endpoint_id: str) -> list[PjsipObject]:
        """Identify objects pointing at an endpoint."""
        return [obj for obj in self.of_type("identify") if obj.value("endpoint") == endpoint_id]

    def matches(self, identify: PjsipObject) -> list[tuple[Match, Option]]:
        """Parsed match entries of an identify, with the line each came from."""
        return [(parse_match(item), option) for item, option in identify.items("match")]


def object_type(cat: Category) -> str | None:
    """The first `type` variable's value, as sorcery's criteria match finds it."""
    for var in cat.variables:
        if var.name.lower() == "type":
            return var.value
    return None


def category_object(cat: Category, kind: str) -> PjsipObject:
    """A PjsipObject from a category, each option remembering its template."""
    obj = PjsipObject(type=kind, id=cat.name, file=cat.file, line=cat.line, bases=cat.bases)
    low = cat.name.lower()
    options = obj.options
    for var in cat.variables:
        template = var.section if var.section.lower() != low else None
        options.append(Option(var.name, var.value, var.file, var.line, template))
    return obj


def validate(obj: PjsipObject) -> None:
    """Mark unknown options and what Asterisk rejects."""
    unknown = [option for option in obj.options if not known_option(obj.type, option.name)]
    if unknown:
        obj.unknown = unknown
        obj.rejected.append("unknown option " + ", ".join(sorted({o.name for o in unknown})))
    if obj.type == "identify":
        _validate_identify(obj)


def _validate_identify(obj: PjsipObject) -> None:
    """res_pjsip_endpoint_identifier_ip.c: bad addresses, no endpoint, nothing to match."""
    for item, option in obj.items("match"):
        error = parse_match(item).error
        if error:
            obj.invalid.append((option, error))
    if obj.invalid:
        obj.rejected.append("invalid match " + ", ".join(o.value for o, _ in obj.invalid))
    if not obj.value("endpoint"):
        obj.rejected.append(f"Identify '{obj.id}' missing required endpoint name.")
    if not (obj.names("match") or obj.all("match_header") or obj.all("match_request_uri")):
        obj.rejected.append(f"Identify '{obj.id}' is not configured to match anything.")


def resolve(pjsip: LoadedConfig, wizard: LoadedConfig | None = None) -> PjsipConfig:
    """Build the object model from loaded pjsip.conf (and pjsip_wizard.conf)."""
    from trunkconsole.pjsip.wizard import expand_wizards

    config = PjsipConfig(pjsip=pjsip, wizard=wizard)
    for cat in pjsip.categories:
        if cat.template:
            continue
        kind = object_type(cat)
        if kind is None or kind not in OBJECT_TYPES:
            config.untyped.append(Untyped(cat, kind))
            continue
        obj = category_object(cat, kind)
        validate(obj)
        config.add(obj)
    if wizard is not None and wizard.found:
        for obj in expand_wizards(wizard):
            validate(obj)
            config.add(obj)
    _find_duplicates(config)
    return config


def _find_duplicates(config: PjsipConfig) -> None:
    seen: dict[tuple[str, str], list[PjsipObject]] = {}
    for obj in config.objects:
        if obj.wizard is None:
            seen.setdefault((obj.type, obj.id), []).append(obj)
    for (kind, _), group in seen.items():
        if len(group) > 1:
            config.duplicates.setdefault(kind, []).append(group)
