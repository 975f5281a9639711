"""The straightforward versions of the fast paths in pjsip/, kept to check them.

Every accessor here scans the object's options on each call (no index, no cache), and
the lint functions are the plain loops the fast ones replaced (issue 12's config bench):
the tests compare both on random configurations.
"""

from __future__ import annotations

from collections.abc import Iterator

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.pjsip.dialplan_reach import DialplanReach
from trunkconsole.pjsip.lint_nat import private_address, uri_host
from trunkconsole.pjsip.lint_objects import _usable
from trunkconsole.pjsip.lint_trunks import (
    CHECKLIST,
    _evidence,
    checklist_finding,
    hostname_finding,
    identify_by_finding,
)
from trunkconsole.pjsip.matches import Match, parse_match, split_host_port
from trunkconsole.pjsip.objects import ACCUMULATING, Option, PjsipObject, is_false, is_true
from trunkconsole.pjsip.resolve import PjsipConfig, _known_option
from trunkconsole.pjsip.system import AsteriskConfig


def all_lines(obj: PjsipObject, name: str) -> list[Option]:
    low = name.lower()
    return [option for option in obj.options if option.name.lower() == low]


def last(obj: PjsipObject, name: str) -> Option | None:
    found = all_lines(obj, name)
    return found[-1] if found else None


def value(obj: PjsipObject, name: str) -> str:
    option = last(obj, name)
    return option.value if option is not None else ""


def items(obj: PjsipObject, name: str) -> list[tuple[str, Option]]:
    found = all_lines(obj, name)
    if name.lower() not in ACCUMULATING:
        found = found[-1:]
    return [(part.strip(), option) for option in found for part in option.value.split(",")
            if part.strip()]


def matches(identify: PjsipObject) -> list[tuple[Match, Option]]:
    return [(parse_match(item), option) for item, option in items(identify, "match")]


def unknown_options(obj: PjsipObject) -> list[Option]:
    return [option for option in obj.options if not _known_option(obj.type, option.name)]


def ip_trunks(pjsip: PjsipConfig) -> list[tuple[PjsipObject, list[PjsipObject]]]:
    by_endpoint: dict[str, list[PjsipObject]] = {}
    for identify in pjsip.of_type("identify"):
        if items(identify, "match"):
            by_endpoint.setdefault(value(identify, "endpoint"), []).append(identify)
    return [(endpoint, by_endpoint[endpoint.id]) for endpoint in pjsip.of_type("endpoint")
            if by_endpoint.get(endpoint.id) and not items(endpoint, "auth")]


def provider_behind_nat(endpoint: PjsipObject, identifies: list[PjsipObject],
                        pjsip: PjsipConfig) -> list[Evidence]:
    found = [Evidence(f"match={item} is a private address", option.file, option.line)
             for identify in identifies for item, option in items(identify, "match")
             if private_address(item)]
    for name, _ in items(endpoint, "aors"):
        for aor in pjsip.of_type("aor"):
            if aor.id == name:
                found += [Evidence(f"contact={item} is a private address", option.file,
                                   option.line) for item, option in items(aor, "contact")
                          if private_address(uri_host(item))]
                break
    return found


def checklist_findings(endpoint: PjsipObject, nat: list[Evidence],
                       plan: DialplanReach | None, managed: bool) -> Iterator[Finding]:
    codecs = [o for o in endpoint.options if o.name.lower() in ("allow", "disallow")]
    if not any(o.name.lower() == "allow" for o in codecs):
        yield Finding(
            code="trunk-no-codecs", severity=Severity.CRITICAL,
            title=f"trunk {endpoint.id} allows no codec: calls fail with 488",
            subject=endpoint.id, evidence=(_evidence(endpoint, None, "allow unset"),),
            fix="add disallow=all then allow=alaw,ulaw (the codecs the provider uses)")
    elif not (codecs[0].name.lower() == "disallow" and "all" in codecs[0].value.lower()):
        yield Finding(
            code="trunk-codecs-order", severity=Severity.WARNING,
            title=f"trunk {endpoint.id}: allow= comes without a disallow=all before it",
            subject=endpoint.id, evidence=(_evidence(endpoint, codecs[0], ""),),
            fix="put disallow=all before the first allow= line")
    for name, wanted, default, why in CHECKLIST:
        option = last(endpoint, name)
        setting = option.value if option is not None else default
        if is_true(setting) if wanted else is_false(setting):
            continue
        yield checklist_finding(endpoint, name, option, setting, wanted, why, nat, managed)
    option = last(endpoint, "identify_by")
    methods = [m.strip() for m in (option.value if option else "username,ip").split(",")]
    if "username" in methods or "auth_username" in methods:
        reach = plan.reach(value(endpoint, "context") or "default") if plan else None
        yield identify_by_finding(endpoint, option, reach, managed)


def sip_servers(endpoint: PjsipObject, pjsip: PjsipConfig) -> set[str]:
    hosts = set()
    for name, _ in items(endpoint, "aors"):
        for aor in pjsip.of_type("aor"):
            if aor.id == name:
                hosts |= {split_host_port(uri_host(item))[0]
                          for item, _ in items(aor, "contact")}
                break
    for registration in pjsip.of_type("registration"):
        if endpoint.id in (registration.id, value(registration, "endpoint")):
            hosts.add(split_host_port(uri_host(value(registration, "server_uri")))[0])
    return hosts


def match_findings(endpoint: PjsipObject, identify: PjsipObject, pjsip: PjsipConfig,
                   managed: frozenset[str]) -> Iterator[Finding]:
    for match, option in matches(identify):
        if match.is_host:
            host, port = split_host_port(match.raw)
            yield hostname_finding(endpoint, identify, option, host, port,
                                   option.file in managed
                                   and host in sip_servers(endpoint, pjsip))
        elif match.is_address:
            ones = bin(match.mask).count("1")
            limit = 8 if match.version == 4 else 32
            if ones <= (16 if match.version == 4 else 48):
                yield Finding(
                    code="match-huge-range",
                    severity=Severity.CRITICAL if ones <= limit else Severity.WARNING,
                    title=f"identify {identify.id} matches {match.network_text()} "
                          f"({match.size} addresses): anyone there can call in as trunk "
                          f"{endpoint.id}",
                    subject=endpoint.id,
                    evidence=(Evidence(f"match={option.value}{identify.provenance(option)}",
                                       option.file, option.line),),
                    fix="match only the provider's documented addresses")


def overlap_findings(pjsip: PjsipConfig) -> Iterator[Finding]:
    """Every earlier entry of the same version whose range reaches this one's start."""
    entries = sorted(((match.version, match.start, match.end, match, option, identify)
                      for identify in pjsip.of_type("identify")
                      for match, option in matches(identify) if match.version),
                     key=lambda entry: (entry[0], entry[1]))
    reported: set[tuple[str, str]] = set()
    for j, entry in enumerate(entries):
        for other in entries[:j]:
            if other[0] != entry[0] or other[2] < entry[1]:
                continue
            a_ep, b_ep = value(other[5], "endpoint"), value(entry[5], "endpoint")
            if a_ep == b_ep or not other[3].overlaps(entry[3]):
                continue
            key = (min(a_ep, b_ep), max(a_ep, b_ep))
            if key in reported:
                continue
            reported.add(key)
            yield Finding(
                code="match-overlap", severity=Severity.WARNING,
                title=f"{other[3].network_text()} ({a_ep}) and {entry[3].network_text()} "
                      f"({b_ep}) overlap: a call from there may land on either trunk",
                subject=f"{a_ep}, {b_ep}",
                evidence=(Evidence(f"match={other[4].value}", other[4].file, other[4].line),
                          Evidence(f"match={entry[4].value}", entry[4].file, entry[4].line)),
                fix="give each trunk its own addresses, or tell them apart with "
                    "match_header / source ports")


def trunk_findings(pjsip: PjsipConfig, plan: DialplanReach | None = None,
                   managed: frozenset[str] = frozenset()) -> list[Finding]:
    findings: list[Finding] = []
    for endpoint, identifies in ip_trunks(pjsip):
        findings.extend(checklist_findings(endpoint,
                                           provider_behind_nat(endpoint, identifies, pjsip),
                                           plan, endpoint.file in managed))
        for identify in identifies:
            findings.extend(match_findings(endpoint, identify, pjsip, managed))
    findings.extend(overlap_findings(pjsip))
    return findings


REFERENCES = (
    ("identify", "endpoint", "endpoint", "identify-missing-endpoint"),
    ("endpoint", "aors", "aor", "endpoint-missing-aor"),
    ("endpoint", "auth", "auth", "endpoint-missing-auth"),
    ("endpoint", "outbound_auth", "auth", "endpoint-missing-auth"),
    ("endpoint", "transport", "transport", "endpoint-missing-transport"),
    ("registration", "outbound_auth", "auth", "registration-missing-auth"),
    ("registration", "transport", "transport", "registration-missing-transport"),
)


def reference_findings(system: AsteriskConfig) -> list[Finding]:
    """The broken references only (context_findings is unchanged and not compared)."""
    pjsip = system.pjsip
    findings = []
    for kind, option_name, target_kind, code in REFERENCES:
        good = pjsip.usable_ids(target_kind)
        for obj in pjsip.of_type(kind):
            for name, option in items(obj, option_name):
                if name in good:
                    continue
                why = _usable(pjsip, target_kind, name)
                if why is None:
                    continue
                findings.append(Finding(
                    code=code, severity=Severity.CRITICAL,
                    title=f"{obj.label} refers to {target_kind} '{name}', but {why}",
                    subject=obj.id,
                    evidence=(Evidence(f"{option.name}={option.value}{obj.provenance(option)}",
                                       option.file, option.line),),
                    fix=f"define [{name}] with type={target_kind}, or fix the name"))
    return findings
