"""The IP-trunk checklist and identify match hygiene.

An IP-authenticated trunk is an endpoint that an identify points at and that has no
inbound `auth`. Defaults from pjsip_configuration.c (reference 5.2): direct_media=yes,
rtp_symmetric=no, force_rport=yes, rewrite_contact=no, identify_by=username,ip.

Severities follow what is at stake, so a healthy box checks clean. FreePBX writes a new
PJSIP trunk with identify_by and rewrite_contact unset (Asterisk's defaults), rtp_symmetric
=yes and direct_media=no, and its identify matches the SIP Server (often a hostname) when
Match (Permit) is empty (core Core.class.php $default_settings, PJSip.class.php
genConfig()): each of those is a note unless NAT toward the provider, a dialplan that
dials out, or a name that moved makes it a problem.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from functools import partial
from itertools import accumulate, compress
from operator import and_, gt, le, ne

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.pjsip.dialplan_reach import INBOUND, OUTBOUND, DialplanReach, Reach
from trunkconsole.pjsip.lint_nat import provider_behind_nat, uri_host
from trunkconsole.pjsip.matches import Match, split_host_port
from trunkconsole.pjsip.objects import Option, PjsipObject, is_false, is_true
from trunkconsole.pjsip.resolve import PjsipConfig

# (option, wanted, default, why)
CHECKLIST = (
    ("direct_media", False, "yes",
     "with direct_media=yes Asterisk re-INVITEs the provider to send media elsewhere; "
     "behind NAT or a firewall that loses the audio"),
    ("rtp_symmetric", True, "no",
     "without rtp_symmetric Asterisk sends RTP to the SDP address instead of where the "
     "provider's RTP comes from (one-way audio behind NAT)"),
    ("force_rport", True, "yes",
     "without force_rport replies go to the Via port, not the source port"),
    ("rewrite_contact", True, "no",
     "without rewrite_contact in-dialog requests follow the provider's Contact, which may "
     "be unreachable behind NAT"),
)
# Options that only matter when the provider is behind NAT (lint_nat.py's docstring).
REMOTE_NAT = frozenset({"rtp_symmetric", "force_rport", "rewrite_contact"})

FREEPBX_TRUNK = "Connectivity → Trunks → {name} → pjsip Settings → Advanced"
# The Advanced tab's labels for the checklist options (core views/trunks/pjsip.php).
FREEPBX_LABELS = {"direct_media": "Direct Media", "rtp_symmetric": "RTP Symmetric",
                  "force_rport": "Force rport", "rewrite_contact": "Rewrite Contact"}


def _evidence(obj: PjsipObject, option: Option | None, text: str) -> Evidence:
    if option is None:
        return Evidence(f"{text} (default)", obj.file, obj.line)
    return Evidence(f"{option.name}={option.value}{obj.provenance(option)}", option.file,
                    option.line)


def ip_trunks(pjsip: PjsipConfig) -> list[tuple[PjsipObject, list[PjsipObject]]]:
    """Endpoints matched by IP (an identify with match=) and without inbound auth."""
    by_endpoint: dict[str, list[PjsipObject]] = {}
    for identify in pjsip.of_type("identify"):
        # as many as items("match"), parsed once by validate()
        if identify.matches or (identify.matches is None and pjsip.matches(identify)):
            name = identify.value("endpoint")
            group = by_endpoint.get(name)
            if group is None:
                by_endpoint[name] = [identify]
            else:
                group.append(identify)
    trunks = []
    for endpoint in pjsip.of_type("endpoint"):
        identifies = by_endpoint.get(endpoint.id)
        # items("auth") only when there is an auth= line at all
        if identifies and (endpoint.index.get("auth") is None
                           or not endpoint.items("auth")):
            trunks.append((endpoint, identifies))
    return trunks


def checklist_findings(endpoint: PjsipObject,
                       nat: Callable[[], list[Evidence]] | list[Evidence] | None = None,
                       reach: Callable[[], Reach | None] | Reach | None = None,
                       managed: bool = False) -> list[Finding]:
    """disallow/allow, direct_media, rtp_symmetric, force_rport, rewrite_contact, identify_by.

    nat: the private provider addresses (lint_nat.provider_behind_nat); reach: what the
    endpoint's context lets a caller do (None: not followed); managed: FreePBX writes it.
    Either may be a function, called only when a finding needs it (a healthy trunk needs
    neither: 10,000 trunks paid 0.3 s for addresses no finding used).
    """
    found: list[Finding] = []
    options = endpoint.index  # lower-case name -> the winning line
    if options.get("allow") is None:
        found.append(Finding(
            code="trunk-no-codecs", severity=Severity.CRITICAL,
            title=f"trunk {endpoint.id} allows no codec: calls fail with 488",
            subject=endpoint.id, evidence=(_evidence(endpoint, None, "allow unset"),),
            fix="add disallow=all then allow=alaw,ulaw (the codecs the provider uses)"))
    else:
        for first in endpoint.options:  # the first allow= or disallow= line (there is one)
            if first.key == "allow" or first.key == "disallow":
                break
        if not (first.key == "disallow" and "all" in first.value.lower()):
            found.append(Finding(
                code="trunk-codecs-order", severity=Severity.WARNING,
                title=f"trunk {endpoint.id}: allow= comes without a disallow=all before it",
                subject=endpoint.id, evidence=(_evidence(endpoint, first, ""),),
                fix="put disallow=all before the first allow= line"))
    for name, wanted, default, why in CHECKLIST:
        option = options.get(name)
        value = option.value if option is not None else default
        good = is_true(value) if wanted else is_false(value)
        if not good:
            if callable(nat):
                nat = nat()
            found.append(checklist_finding(endpoint, name, option, value, wanted, why,
                                           nat or [], managed))
    option = options.get("identify_by")
    text = option.value if option else "username,ip"
    methods = [m.strip() for m in text.split(",")] if "username" in text else []
    if "username" in methods or "auth_username" in methods:
        found.append(identify_by_finding(endpoint, option,
                                         reach() if callable(reach) else reach, managed))
    return found


def checklist_finding(endpoint: PjsipObject, name: str, option: Option | None, value: str,
                      wanted: bool, why: str, nat: list[Evidence], managed: bool) -> Finding:
    """One checklist miss: a WARNING, or a note for a NAT-only option with no NAT seen."""
    setting = "yes" if wanted else "no"
    fix = f"set {name}={setting}" + (
        f" (FreePBX: {FREEPBX_TRUNK.format(name=endpoint.id)} → {FREEPBX_LABELS[name]} → "
        f"{setting.capitalize()})" if managed else "")
    own = _evidence(endpoint, option, f"{name}={value}")
    code = f"trunk-{name.replace('_', '-')}"
    if name not in REMOTE_NAT or nat:
        return Finding(code=code, severity=Severity.WARNING,
                       title=f"trunk {endpoint.id}: {name}={value}; {why}"
                             + (" (the provider is on a private address)" if nat else ""),
                       subject=endpoint.id, evidence=(own, *nat[:3]), fix=fix)
    return Finding(
        code=code, severity=Severity.INFO,
        title=f"trunk {endpoint.id}: {name}={value}: no NAT toward the provider is seen (none "
              "of its matches or contacts is a private address; Asterisk's own NAT is the "
              "transport's external_*/local_net), so this changes nothing now; if the "
              f"provider ever sits behind NAT: {why}",
        subject=endpoint.id, evidence=(own,), fix=fix)


def identify_by_finding(endpoint: PjsipObject, option: Option | None, reach: Reach | None,
                        managed: bool) -> Finding:
    """identify_by with username on a trunk without inbound auth, as bad as its context.

    res_pjsip_endpoint_identifier_user.c finds the endpoint whose NAME is the From user;
    an endpoint without auth= is then let in unchallenged, from any address, and the call
    starts in the endpoint's context.
    """
    value = option.value if option else "username,ip"
    context = endpoint.value("context") or "default"
    exposure = (f"trunk {endpoint.id}: identify_by={value}"
                + (" (Asterisk's default)" if option is None else "")
                + f" takes any request whose From user is '{endpoint.id}' for this trunk, "
                  f"from any address and without auth, into context {context}")
    fix = "set identify_by=ip" + (
        f" (FreePBX: {FREEPBX_TRUNK.format(name=endpoint.id)} → Match Inbound "
        "Authentication → Ip)" if managed else "")
    evidence = [_evidence(endpoint, option, f"identify_by={value}")]
    if reach is not None and reach.line is not None:
        line = reach.line
        evidence.append(Evidence(f"[{reach.context}] {line.value}", line.file, line.line))
    if reach is None:
        severity = Severity.WARNING
        title = (f"{exposure}; no extensions.conf to follow {context} in, so what such a "
                 "caller reaches is unknown")
    elif reach.kind == OUTBOUND:
        severity = Severity.CRITICAL if reach.chosen else Severity.WARNING
        title = (f"{exposure}; {reach.summary()}: a spoofed caller can "
                 + ("call any number at your cost (toll fraud)" if reach.chosen
                    else "make the PBX call out"))
    elif reach.kind == INBOUND:
        severity = Severity.INFO
        title = (f"{exposure}; {reach.summary()}, so the exposure is spoofed inbound calls "
                 "that look like the provider's")
    else:
        severity = Severity.WARNING
        title = f"{exposure}; {reach.summary()}, so whether it can dial out is unknown"
    return Finding(code="trunk-identify-by", severity=severity, title=title,
                   subject=endpoint.id, evidence=tuple(evidence), fix=fix,
                   details={"context": context,
                            "reach": reach.kind if reach is not None else "not-followed"})


def sip_servers(endpoint: PjsipObject, pjsip: PjsipConfig) -> set[str]:
    """Hosts of the trunk's AOR contacts and registration server_uri (FreePBX's SIP Server)."""
    hosts = set()
    for name, _ in endpoint.items("aors"):
        aor = pjsip.get("aor", name)
        if aor is not None:
            hosts |= {split_host_port(uri_host(item))[0] for item, _ in aor.items("contact")}
    for registration in pjsip.of_type("registration"):
        if endpoint.id in (registration.id, registration.value("endpoint")):
            hosts.add(split_host_port(uri_host(registration.value("server_uri")))[0])
    return hosts


def hostname_finding(endpoint: PjsipObject, identify: PjsipObject, option: Option,
                     host: str, port: int | None, freepbx: bool) -> Finding:
    """A hostname match: a note offline (the live check compares it with DNS now).

    Asterisk resolves it when the identify loads and never again (matches.py's docstring).
    freepbx: FreePBX generated it from the trunk's SIP Server (Match (Permit) empty).
    """
    return Finding(
        code="match-hostname", severity=Severity.INFO,
        title=f"identify {identify.id} matches hostname {host}: Asterisk resolves it when "
              "the identify loads and keeps those addresses; when the provider's DNS "
              f"changes, calls from trunk {endpoint.id}'s new address go unmatched until a "
              f"reload, and if {host} does not resolve then, a reload keeps the old addresses "
              "and a restart drops the whole identify"
              + ("; FreePBX writes the SIP Server here because Match (Permit) is empty"
                 if freepbx else ""),
        subject=endpoint.id,
        evidence=(Evidence(f"match={option.value}{identify.provenance(option)}",
                           option.file, option.line),),
        fix=("fill Match (Permit) with the provider's signalling addresses (Connectivity → "
             f"Trunks → {endpoint.id} → pjsip Settings → Advanced → Match (Permit))"
             if freepbx else "match the provider's IP addresses or networks instead"),
        details={"host": host, "port": port})


def match_findings(endpoint: PjsipObject, identify: PjsipObject,
                   pjsip: PjsipConfig, managed: frozenset[str] = frozenset()) -> list[Finding]:
    """Hostname matches and provider ranges that are far too wide."""
    found: list[Finding] = []
    for match, option in pjsip.matches(identify):
        if match.host is not None:  # match.is_host
            host, port = split_host_port(match.raw)
            found.append(hostname_finding(endpoint, identify, option, host, port,
                                          option.file in managed
                                          and host in sip_servers(endpoint, pjsip)))
        elif match.version:  # match.is_address
            ones = match.mask.bit_count()
            limit = 8 if match.version == 4 else 32
            warn = 16 if match.version == 4 else 48
            if ones <= warn:
                found.append(Finding(
                    code="match-huge-range",
                    severity=Severity.CRITICAL if ones <= limit else Severity.WARNING,
                    title=f"identify {identify.id} matches {match.network_text()} "
                          f"({match.size} addresses): anyone there can call in as trunk "
                          f"{endpoint.id}",
                    subject=endpoint.id,
                    evidence=(Evidence(f"match={option.value}{identify.provenance(option)}",
                                       option.file, option.line),),
                    fix="match only the provider's documented addresses"))
    return found


def overlap_findings(pjsip: PjsipConfig) -> Iterator[Finding]:
    """The same address or overlapping networks in identifies of two endpoints.

    Entries sorted by first address fall into clusters: runs where each entry starts
    before every earlier one of the run has ended. Only entries of one cluster can
    overlap, and only a cluster holding two endpoints needs a look; the clusters are
    found by C loops (sorted, accumulate, compress), so 10,000 trunks with disjoint
    addresses cost one Python step per entry. Masks that are not contiguous span from
    their lowest to their highest address and are checked pair by pair.
    """
    firsts: list[int] = []
    lasts: list[int] = []
    owners: list[str] = []
    refs: list[tuple[Match, Option]] = []
    for identify in pjsip.of_type("identify"):
        endpoint = identify.value("endpoint")
        for entry in pjsip.matches(identify):
            if entry[0].version:
                first, last = entry[0].span
                firsts.append(first)
                lasts.append(last)
                owners.append(endpoint)
                refs.append(entry)
    order = sorted(range(len(firsts)), key=firsts.__getitem__)  # stable: file order on ties
    firsts = [firsts[i] for i in order]
    lasts = [lasts[i] for i in order]
    owners = [owners[i] for i in order]
    reach = list(accumulate(lasts, max))  # the highest address covered so far
    count = len(firsts)
    # Entry i (i >= 1) opens a cluster when it starts after all before it have ended.
    opens = [0, *compress(range(1, count), map(gt, firsts[1:], reach)), count]
    # Entries that continue their cluster with another endpoint than the entry before.
    mixed = compress(range(1, count), map(and_, map(le, firsts[1:], reach),
                                           map(ne, owners[1:], owners)))
    reported: set[tuple[str, str]] = set()
    swept = -1
    for position in mixed:
        cluster = bisect_right(opens, position) - 1
        if cluster == swept:
            continue
        swept = cluster
        yield from _sweep([(firsts[i], lasts[i], *refs[order[i]], owners[i])
                           for i in range(opens[cluster], opens[cluster + 1])], reported)


def _sweep(entries: list[tuple[int, int, Match, Option, str]],
           reported: set[tuple[str, str]]) -> Iterator[Finding]:
    """Overlaps within one cluster, each pair of endpoints once (reported carries over)."""
    active: list[tuple[int, int, Match, Option, str]] = []
    # The lowest end among the active entries: while every one still reaches `start`,
    # the list is kept without a pass over it.
    low_end = -1
    for entry in entries:
        start, end = entry[0], entry[1]
        if active and low_end < start:
            active = [a for a in active if a[1] >= start]
            low_end = min(a[1] for a in active)
        b_ep = entry[4]
        for other in active:
            a_ep = other[4]
            if a_ep == b_ep or not other[2].overlaps(entry[2]):
                continue
            key = (min(a_ep, b_ep), max(a_ep, b_ep))
            if key in reported:
                continue
            reported.add(key)
            yield Finding(
                code="match-overlap", severity=Severity.WARNING,
                title=f"{other[2].network_text()} ({a_ep}) and {entry[2].network_text()} "
                      f"({b_ep}) overlap: a call from there may land on either trunk",
                subject=f"{a_ep}, {b_ep}",
                evidence=(Evidence(f"match={other[3].value}", other[3].file, other[3].line),
                          Evidence(f"match={entry[3].value}", entry[3].file, entry[3].line)),
                fix="give each trunk its own addresses, or tell them apart with "
                    "match_header / source ports")
        low_end = end if not active else min(low_end, end)
        active.append(entry)


def trunk_findings(pjsip: PjsipConfig, plan: DialplanReach | None = None,
                   managed: frozenset[str] = frozenset()) -> list[Finding]:
    """The checklist for every IP trunk plus match hygiene across identifies.

    plan: extensions.conf to follow each trunk's context in (None: not readable);
    managed: the files FreePBX generates (fixes then name its GUI fields).
    """
    findings: list[Finding] = []
    # Checklist lines (checklist_lines()) that raised nothing: 10,000 trunks of one
    # template share them, and the checklist is run once for all.
    clean: set[tuple[Option | None, ...]] = set()
    for endpoint, identifies in ip_trunks(pjsip):
        lines = checklist_lines(endpoint)
        if lines not in clean:
            found = checklist_findings(
                endpoint, partial(provider_behind_nat, endpoint, identifies, pjsip),
                partial(_reach, plan, endpoint) if plan else None, endpoint.file in managed)
            if found:
                findings += found
            else:
                clean.add(lines)
        for identify in identifies:
            findings += match_findings(endpoint, identify, pjsip, managed)
    findings.extend(overlap_findings(pjsip))
    return findings


def checklist_lines(endpoint: PjsipObject) -> tuple[Option | None, ...]:
    """Every line whose value decides whether checklist_findings() finds anything: the
    first allow/disallow line and the winning lines of the options it checks (None:
    unset). Endpoints with the same lines (the same template's) get the same findings
    but for their names."""
    first = None
    for option in endpoint.options:
        if option.key == "allow" or option.key == "disallow":
            first = option
            break
    return (first, *map(endpoint.index.get, _CHECKLIST_NAMES))


_CHECKLIST_NAMES = ("allow", *(name for name, _, _, _ in CHECKLIST), "identify_by")


def _reach(plan: DialplanReach, endpoint: PjsipObject) -> Reach | None:
    """What the endpoint's context (Asterisk's default: `default`) lets a caller reach."""
    return plan.reach(endpoint.value("context") or "default")
