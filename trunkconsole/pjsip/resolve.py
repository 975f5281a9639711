"""Turn loaded pjsip.conf categories into sorcery objects, as res_sorcery_config does.

- The type is the value of the first `type` variable (it may come from a template);
  it must match a known type exactly, otherwise the section is silently ignored.
- Every option name (case-insensitive) must be known for that type, or Asterisk refuses
  the whole object: "Could not find option suitable for category ..." (reference 5.2).
- Two sections with the same id and type make the whole type fail to load.
- Templates are never objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from trunkconsole.conf.tree import Category, LoadedConfig
from trunkconsole.pjsip.matches import Match, parse_match
from trunkconsole.pjsip.objects import OBJECT_TYPES, Option, PjsipObject
from trunkconsole.pjsip.options_table import OPTIONS

PJSIP_OPTIONS = OPTIONS["pjsip.conf"]
_LOWER_OPTIONS = {kind: frozenset(name.lower() for name in names)
                  for kind, names in PJSIP_OPTIONS.items()}


_KNOWN: dict[str, dict[str, bool]] = {}


def known_option(kind: str, name: str) -> bool:
    """True when Asterisk accepts option name for objects of type kind (cached)."""
    cache = _KNOWN.get(kind)
    if cache is None:
        cache = _KNOWN[kind] = {}
    known = cache.get(name)
    if known is None:
        known = cache[name] = _known_option(kind, name)
    return known


def _known_option(kind: str, name: str) -> bool:
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
        self._by_type: dict[str, list[PjsipObject]] = {}

    def add(self, obj: PjsipObject) -> None:
        """Add an object; a second pjsip.conf object with the same type and id is a duplicate."""
        self.add_all((obj,))

    def add_all(self, objects: Iterable[PjsipObject]) -> None:
        """add() each object, in order (one loop for 30,000 objects)."""
        append = self.objects.append
        indexes = self._index
        by_type = self._by_type
        for obj in objects:
            append(obj)
            kind = obj.type
            index = indexes.get(kind)
            if index is None:
                index = indexes[kind] = {}
                by_type[kind] = [obj]
            else:
                by_type[kind].append(obj)
            first = index.get(obj.id)
            if first is None:
                index[obj.id] = obj
            else:
                self.duplicate(first, obj)

    def duplicate(self, first: PjsipObject, obj: PjsipObject) -> None:
        """obj has the type and id of first, which came before: two pjsip.conf sections
        make a duplicate (a wizard's objects do not)."""
        if obj.wizard is None and first.wizard is None:
            groups = self.duplicates.setdefault(obj.type, [])
            for group in groups:
                if group[0] is first:
                    group.append(obj)
                    break
            else:
                groups.append([first, obj])

    def of_type(self, kind: str) -> list[PjsipObject]:
        """Objects of one type, in file order (do not modify the list)."""
        return self._by_type.get(kind, [])

    def usable_ids(self, kind: str) -> frozenset[str]:
        """Ids of objects of this type that Asterisk actually loads."""
        if self.type_failed(kind):
            return frozenset()
        return frozenset(obj.id for obj in self.of_type(kind) if not obj.rejected)

    def get(self, kind: str, object_id: str) -> PjsipObject | None:
        """The (first) object of that type and id."""
        return self._index.get(kind, {}).get(object_id)

    def type_failed(self, kind: str) -> bool:
        """True when duplicates make Asterisk drop every object of this type."""
        return bool(self.duplicates.get(kind))

    def identifies_for(self, endpoint_id: str) -> list[PjsipObject]:
        """Identify objects pointing at an endpoint."""
        return [obj for obj in self.of_type("identify") if obj.value("endpoint") == endpoint_id]

    def endpoints_with_identifies(self) -> dict[str, list[PjsipObject]]:
        """Endpoint id -> the identifies that point at it (any match kind)."""
        out: dict[str, list[PjsipObject]] = {}
        for identify in self.of_type("identify"):
            out.setdefault(identify.value("endpoint"), []).append(identify)
        return out

    def matches(self, identify: PjsipObject) -> list[tuple[Match, Option]]:
        """Parsed match entries of an identify, with the line each came from (cached)."""
        return identify_matches(identify)


def object_type(cat: Category) -> str | None:
    """The first `type` variable's value, as sorcery's criteria match finds it."""
    for var in cat.variables:
        if var.key == "type":
            return var.value
    return None


# Per type, the option names (lower case) already known to be accepted: an object whose
# every name is in it needs no look-up per line (10,000 trunks repeat the same few names).
# Whether Asterisk knows an option depends on its lower-case name only (_known_option).
_ACCEPTED: dict[str, set[str]] = {}


def validate(obj: PjsipObject) -> None:
    """Mark unknown options and what Asterisk rejects."""
    accepted = _ACCEPTED.get(obj.type)
    if accepted is None:
        accepted = _ACCEPTED[obj.type] = set()
    # The object's option index has every name once.
    if not accepted.issuperset(obj.index):
        _mark_unknown(obj, accepted)
    if obj.type == "identify":
        _validate_identify(obj)


def _mark_unknown(obj: PjsipObject, accepted: set[str]) -> None:
    cache = _KNOWN.get(obj.type)
    if cache is None:
        cache = _KNOWN[obj.type] = {}
    unknown = []
    for option in obj.options:
        known = cache.get(option.name)
        if known is None:
            known = cache[option.name] = _known_option(obj.type, option.name)
        if known:
            accepted.add(option.key)
        else:
            unknown.append(option)
    if unknown:
        obj.unknown = unknown
        obj.rejected.append("unknown option " + ", ".join(sorted({o.name for o in unknown})))


def identify_matches(identify: PjsipObject) -> list[tuple[Match, Option]]:
    """Parsed match entries of an identify, computed once per object."""
    matches = identify.matches
    if matches is None:
        # items("match") without its cache: match accumulates, so every line, split on ','
        matches = identify.matches = []
        for option in identify.options:
            if option.key == "match":
                value = option.value
                if "," not in value:  # one entry: no list to split
                    value = value.strip()
                    if value:
                        matches.append((parse_match(value), option))
                    continue
                for part in value.split(","):
                    part = part.strip()
                    if part:
                        matches.append((parse_match(part), option))
    return matches


def _validate_identify(obj: PjsipObject) -> None:
    """res_pjsip_endpoint_identifier_ip.c: bad addresses, no endpoint, nothing to match."""
    matches = identify_matches(obj)
    for match, option in matches:
        if match.error:
            obj.invalid.append((option, match.error))
    if obj.invalid:
        obj.rejected.append("invalid match " + ", ".join(o.value for o, _ in obj.invalid))
    if not obj.value("endpoint"):
        obj.rejected.append(f"Identify '{obj.id}' missing required endpoint name.")
    if not (matches or obj.last("match_header") or obj.last("match_request_uri")):
        obj.rejected.append(f"Identify '{obj.id}' is not configured to match anything.")


def resolve(pjsip: LoadedConfig, wizard: LoadedConfig | None = None) -> PjsipConfig:
    """Build the object model from loaded pjsip.conf (and pjsip_wizard.conf)."""
    from trunkconsole.pjsip.wizard import expand_wizards

    config = PjsipConfig(pjsip=pjsip, wizard=wizard)
    add = config.objects.append
    # validate() and add_all(), inlined: one call and one loop fewer for each of 30,000
    # sections
    accepted_by_type = _ACCEPTED
    indexes = config._index
    by_type = config._by_type
    for cat in pjsip.categories:
        if cat.template:
            continue
        for var in cat.variables:  # object_type(cat), inlined
            if var.key == "type":
                kind: str | None = var.value
                break
        else:
            kind = None
        if kind is None or kind not in OBJECT_TYPES:
            config.untyped.append(Untyped(cat, kind))
            continue
        # Its options are the category's own Variables. Positional: a keyword call to a
        # class costs twice as much (30,000 sections).
        obj = PjsipObject(kind, cat.name, cat.file, cat.line, cat.variables, cat.bases)
        accepted = accepted_by_type.get(kind)
        if accepted is None or not accepted.issuperset(obj.index):
            validate(obj)
        elif kind == "identify":
            _validate_identify(obj)
        add(obj)
        index = indexes.get(kind)
        if index is None:
            indexes[kind] = {obj.id: obj}
            by_type[kind] = [obj]
            continue
        by_type[kind].append(obj)
        first = index.setdefault(obj.id, obj)
        if first is not obj:
            config.duplicate(first, obj)
    if wizard is not None and wizard.found:
        for obj in expand_wizards(wizard):
            validate(obj)
            config.add(obj)
    return config
