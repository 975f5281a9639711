"""Findings about PJSIP objects: types, unknown options, duplicates, broken references."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.pjsip.objects import ACCUMULATING, OBJECT_TYPES, PjsipObject
from trunkconsole.pjsip.resolve import PJSIP_OPTIONS, PjsipConfig
from trunkconsole.pjsip.system import AsteriskConfig


def _where(obj: PjsipObject) -> Evidence:
    return Evidence(f"[{obj.id}] type={obj.type}", obj.file, obj.line)


def type_findings(pjsip: PjsipConfig) -> Iterator[Finding]:
    """Sections that create no object: a misspelt type= or none at all."""
    for untyped in pjsip.untyped:
        cat = untyped.category
        if untyped.type_value is None:
            yield Finding(
                code="missing-type", severity=Severity.WARNING,
                title=f"[{cat.name}] has no type= and creates nothing",
                subject=cat.name, evidence=(Evidence(f"[{cat.name}]", cat.file, cat.line),),
                fix="add type=endpoint (or aor, auth, identify, ...), or make it a "
                    "template with (!)")
            continue
        var = cat.get("type")
        guess = difflib.get_close_matches(untyped.type_value.lower(), sorted(OBJECT_TYPES), 1)
        hint = f"type={guess[0]}" if guess else "a valid type"
        yield Finding(
            code="misspelt-type", severity=Severity.CRITICAL,
            title=f"[{cat.name}] has type={untyped.type_value}, which Asterisk silently "
                  "ignores: the section creates nothing",
            subject=cat.name,
            evidence=(Evidence(f"type={untyped.type_value}", var.file if var else cat.file,
                               var.line if var else cat.line),),
            fix=f"write {hint}")


@functools.lru_cache(maxsize=4096)
def _close_option(kind: str, name: str) -> list[str]:
    """The nearest known option name (difflib is slow: a hostile config repeats one typo
    180,000 times)."""
    return difflib.get_close_matches(name, sorted(PJSIP_OPTIONS.get(kind, ())), 1)


def rejection_findings(pjsip: PjsipConfig) -> Iterator[Finding]:
    """Objects Asterisk refuses: unknown options, bad matches, wizard errors."""
    for obj in pjsip.objects:
        if not (obj.unknown or obj.invalid or obj.rejected):
            continue  # nearly every object: no three empty loops
        for option in obj.unknown:
            guess = _close_option(obj.type, option.name.lower())
            fix = f"did you mean {guess[0]}=?" if guess else (
                f"remove it: it is not a {obj.type} option")
            yield Finding(
                code="unknown-option", severity=Severity.CRITICAL,
                title=f"{obj.label} has unknown option '{option.name}': Asterisk rejects "
                      "the whole object",
                subject=obj.id,
                evidence=(Evidence(f"{option.name}={option.value}{obj.provenance(option)}",
                                   option.file, option.line),),
                fix=fix)
        for option, why in obj.invalid:
            yield Finding(
                code="invalid-value", severity=Severity.CRITICAL,
                title=f"{obj.label}: {why}; Asterisk rejects the whole object",
                subject=obj.id,
                evidence=(Evidence(f"{option.name}={option.value}", option.file, option.line),),
                fix="write an IP address, network (a.b.c.d/24 or a.b.c.d/255.255.255.0) "
                    "or hostname")
        for reason in obj.rejected:
            if reason.startswith(("unknown option", "invalid match")):
                continue
            yield Finding(
                code="object-rejected", severity=Severity.CRITICAL,
                title=f"{obj.label} is not created: {reason}", subject=obj.id,
                evidence=(_where(obj),),
                fix="add the missing setting")


def duplicate_findings(pjsip: PjsipConfig) -> Iterator[Finding]:
    """Same id twice in one type: Asterisk drops every object of that type."""
    for kind, groups in pjsip.duplicates.items():
        for group in groups:
            yield Finding(
                code="duplicate-object", severity=Severity.CRITICAL,
                title=f"{kind} '{group[0].id}' is defined {len(group)} times: Asterisk "
                      f"loads no {kind} at all",
                subject=group[0].id,
                evidence=tuple(_where(obj) for obj in group),
                fix=f"rename or merge the sections; use [{group[0].id}](+type={kind}) "
                    "to add to the first")


def _usable(pjsip: PjsipConfig, kind: str, object_id: str) -> str | None:
    """Why a reference to kind/object_id is broken, or None when it is fine."""
    target = pjsip.get(kind, object_id)
    if target is None:
        return f"there is no {kind} '{object_id}'"
    if pjsip.type_failed(kind):
        return f"no {kind} loads (duplicate {kind} ids)"
    if not target.loaded:
        return f"{kind} '{object_id}' is rejected by Asterisk"
    return None


def reference_findings(system: AsteriskConfig) -> Iterator[Finding]:
    """identify->endpoint, endpoint->aors/auth/transport/context, registration->auth."""
    pjsip = system.pjsip
    checks = (
        ("identify", "endpoint", "endpoint", "identify-missing-endpoint", Severity.CRITICAL),
        ("endpoint", "aors", "aor", "endpoint-missing-aor", Severity.CRITICAL),
        ("endpoint", "auth", "auth", "endpoint-missing-auth", Severity.CRITICAL),
        ("endpoint", "outbound_auth", "auth", "endpoint-missing-auth", Severity.CRITICAL),
        ("endpoint", "transport", "transport", "endpoint-missing-transport", Severity.CRITICAL),
        ("registration", "outbound_auth", "auth", "registration-missing-auth",
         Severity.CRITICAL),
        ("registration", "transport", "transport", "registration-missing-transport",
         Severity.CRITICAL),
    )
    usable = {kind: pjsip.usable_ids(kind) for kind in ("endpoint", "aor", "auth", "transport")}
    for kind, option_name, target_kind, code, severity in checks:
        good = usable[target_kind]
        single = option_name not in ACCUMULATING  # items() splits only the last line
        for obj in pjsip.of_type(kind):
            if single:
                last = obj.index.get(option_name)  # obj.last(): names are lower case
                if last is None:
                    continue
                value = last.value
                if "," not in value and value.strip() in good:
                    continue  # items() would be [(that name, last)]: a usable target
            for name, option in obj.items(option_name):
                if name in good:
                    continue
                why = _usable(pjsip, target_kind, name)
                if why is None:
                    continue
                yield Finding(
                    code=code, severity=severity,
                    title=f"{obj.label} refers to {target_kind} '{name}', but {why}",
                    subject=obj.id,
                    evidence=(Evidence(f"{option.name}={option.value}{obj.provenance(option)}",
                                       option.file, option.line),),
                    fix=f"define [{name}] with type={target_kind}, or fix the name")
    yield from context_findings(system)


def context_findings(system: AsteriskConfig) -> Iterator[Finding]:
    """Endpoint contexts that extensions.conf does not define (calls then fail)."""
    plan = system.dialplan
    if not plan.found:
        return
    for obj in system.pjsip.of_type("endpoint"):
        option = obj.last("context")
        name = option.value if option is not None else "default"
        if plan.has(name):
            continue
        similar = plan.similar(name)
        fix = (f"context names are case-sensitive: did you mean {similar}?" if similar
               else f"add [{name}] to extensions.conf or fix context=")
        evidence = (Evidence(f"context={name}{obj.provenance(option)}", option.file, option.line)
                    if option is not None else Evidence("context unset: 'default'",
                                                        obj.file, obj.line))
        yield Finding(
            code="context-missing", severity=Severity.CRITICAL,
            title=f"{obj.label} sends calls to context '{name}', which extensions.conf "
                  "does not define",
            subject=obj.id, evidence=(evidence,), fix=fix)


def object_findings(system: AsteriskConfig) -> list[Finding]:
    """All object-level findings."""
    pjsip = system.pjsip
    return [*type_findings(pjsip), *rejection_findings(pjsip), *duplicate_findings(pjsip),
            *reference_findings(system)]
