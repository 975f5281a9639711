"""The IP-trunk checklist, identify match hygiene, and NAT settings on transports.

An IP-authenticated trunk is an endpoint that an identify points at and that has no
inbound `auth`. Defaults from pjsip_configuration.c (reference 5.2): direct_media=yes,
rtp_symmetric=no, force_rport=yes, rewrite_contact=no, identify_by=username,ip.
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import itemgetter

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.pjsip.matches import Match, parse_match, split_host_port
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


def _evidence(obj: PjsipObject, option: Option | None, text: str) -> Evidence:
    if option is None:
        return Evidence(f"{text} (default)", obj.file, obj.line)
    return Evidence(f"{option.name}={option.value}{obj.provenance(option)}", option.file,
                    option.line)


def ip_trunks(pjsip: PjsipConfig) -> list[tuple[PjsipObject, list[PjsipObject]]]:
    """Endpoints matched by IP (an identify with match=) and without inbound auth."""
    by_endpoint: dict[str, list[PjsipObject]] = {}
    for identify in pjsip.of_type("identify"):
        if pjsip.matches(identify):  # as many as items("match"), parsed once by validate()
            by_endpoint.setdefault(identify.value("endpoint"), []).append(identify)
    trunks = []
    for endpoint in pjsip.of_type("endpoint"):
        identifies = by_endpoint.get(endpoint.id)
        # items("auth") only when there is an auth= line at all
        if identifies and (endpoint.option_index().get("auth") is None
                           or not endpoint.items("auth")):
            trunks.append((endpoint, identifies))
    return trunks


def checklist_findings(endpoint: PjsipObject) -> Iterator[Finding]:
    """disallow/allow, direct_media, rtp_symmetric, force_rport, rewrite_contact, identify_by."""
    options = endpoint.option_index()  # lower-case name -> the winning line
    if options.get("allow") is None:
        yield Finding(
            code="trunk-no-codecs", severity=Severity.CRITICAL,
            title=f"trunk {endpoint.id} allows no codec: calls fail with 488",
            subject=endpoint.id, evidence=(_evidence(endpoint, None, "allow unset"),),
            fix="add disallow=all then allow=alaw,ulaw (the codecs the provider uses)")
    else:
        for first in endpoint.options:  # the first allow= or disallow= line (there is one)
            if first.key == "allow" or first.key == "disallow":
                break
        if not (first.key == "disallow" and "all" in first.value.lower()):
            yield Finding(
                code="trunk-codecs-order", severity=Severity.WARNING,
                title=f"trunk {endpoint.id}: allow= comes without a disallow=all before it",
                subject=endpoint.id, evidence=(_evidence(endpoint, first, ""),),
                fix="put disallow=all before the first allow= line")
    for name, wanted, default, why in CHECKLIST:
        option = options.get(name)
        value = option.value if option is not None else default
        good = is_true(value) if wanted else is_false(value)
        if good:
            continue
        yield Finding(
            code=f"trunk-{name.replace('_', '-')}", severity=Severity.WARNING,
            title=f"trunk {endpoint.id}: {name}={value}; {why}",
            subject=endpoint.id, evidence=(_evidence(endpoint, option, f"{name}={value}"),),
            fix=f"set {name}={'yes' if wanted else 'no'}")
    option = options.get("identify_by")
    text = option.value if option else "username,ip"
    methods = [m.strip() for m in text.split(",")] if "username" in text else []
    if "username" in methods or "auth_username" in methods:
        value = option.value if option else "username,ip"
        yield Finding(
            code="trunk-identify-by", severity=Severity.WARNING,
            title=f"trunk {endpoint.id}: identify_by={value} lets any request whose From "
                  f"user is '{endpoint.id}' match this trunk without the IP check",
            subject=endpoint.id, evidence=(_evidence(endpoint, option, f"identify_by={value}"),),
            fix="set identify_by=ip")


def match_findings(endpoint: PjsipObject, identify: PjsipObject,
                   pjsip: PjsipConfig) -> Iterator[Finding]:
    """Hostname matches and provider ranges that are far too wide."""
    for match, option in pjsip.matches(identify):
        if match.host is not None:  # match.is_host
            host, port = split_host_port(match.raw)
            yield Finding(
                code="match-hostname", severity=Severity.WARNING,
                title=f"identify {identify.id} matches hostname {host}: Asterisk resolves "
                      "it only at (re)load; a DNS change silently unmatches trunk "
                      f"{endpoint.id}, and a lookup failure at reload rejects the whole "
                      "identify",
                subject=endpoint.id,
                evidence=(Evidence(f"match={option.value}{identify.provenance(option)}",
                                   option.file, option.line),),
                fix="match the provider's IP addresses or networks instead",
                details={"host": host, "port": port})
        elif match.version:  # match.is_address
            ones = match.mask.bit_count()
            limit = 8 if match.version == 4 else 32
            warn = 16 if match.version == 4 else 48
            if ones <= warn:
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
    """The same address or overlapping networks in identifies of two endpoints.

    A sweep over address ranges sorted by start keeps this linear for disjoint entries
    (10,000 trunks); masks that are not contiguous fall back to pairwise checks.
    """
    entries: list[tuple[int, int, int, Match, Option, str]] = []
    full = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
    for identify in pjsip.of_type("identify"):
        endpoint = identify.value("endpoint")
        for match, option in pjsip.matches(identify):
            version = match.version
            if version:
                mask = match.mask
                start = match.value & mask  # match.start and match.end, inlined
                entries.append((version, start, start | (full[version] ^ mask), match, option,
                                endpoint))
    entries.sort(key=itemgetter(0, 1))
    active: list[tuple[int, int, int, Match, Option, str]] = []
    # The lowest and highest end among the active entries: when every one still reaches
    # `start` (or none does) the list is kept (or emptied) without a pass over it.
    low_end = high_end = -1
    active_version = 0
    reported: set[tuple[str, str]] = set()
    for entry in entries:
        version, start, end = entry[0], entry[1], entry[2]
        if active and (version != active_version or high_end < start):
            active = []
        elif active and low_end < start:
            active = [a for a in active if a[2] >= start]
            low_end = min(a[2] for a in active)
        b_ep = entry[5]
        for other in active:
            a_ep = other[5]
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
        if not active:
            low_end = high_end = end
            active_version = version
        else:
            low_end = min(low_end, end)
            high_end = max(high_end, end)
        active.append(entry)


def trunk_findings(pjsip: PjsipConfig) -> list[Finding]:
    """The checklist for every IP trunk plus match hygiene across identifies."""
    findings: list[Finding] = []
    for endpoint, identifies in ip_trunks(pjsip):
        findings.extend(checklist_findings(endpoint))
        for identify in identifies:
            findings.extend(match_findings(endpoint, identify, pjsip))
    findings.extend(overlap_findings(pjsip))
    return findings


def nat_findings(pjsip: PjsipConfig) -> list[Finding]:
    """external_media_address / external_signaling_address / local_net on transports."""
    findings: list[Finding] = []
    for transport in pjsip.of_type("transport"):
        media = transport.last("external_media_address")
        signaling = transport.last("external_signaling_address")
        nets = [(item, option, parse_match(item)) for item, option in transport.items("local_net")]
        ev = Evidence(f"[{transport.id}] type=transport", transport.file, transport.line)
        for item, option, net in nets:
            if not net.is_address or net.port is not None:
                findings.append(Finding(
                    code="nat-local-net-invalid", severity=Severity.CRITICAL,
                    title=f"transport {transport.id}: local_net={item} is not a network; "
                          "Asterisk rejects the transport",
                    subject=transport.id,
                    evidence=(Evidence(f"local_net={option.value}", option.file, option.line),),
                    fix="write local_net=192.168.0.0/16 or 10.0.0.0/255.0.0.0"))
        external = [o for o in (media, signaling) if o is not None and o.value]
        if external and not nets:
            findings.append(Finding(
                code="nat-no-local-net", severity=Severity.WARNING,
                title=f"transport {transport.id} has external_* addresses but no local_net: "
                      "Asterisk puts the public address in SIP/SDP for local phones too",
                subject=transport.id, evidence=(ev,),
                fix="add local_net= lines for every LAN range (e.g. 192.168.0.0/16)"))
        if nets and not external:
            findings.append(Finding(
                code="nat-local-net-unused", severity=Severity.INFO,
                title=f"transport {transport.id} sets local_net but no external_* address, "
                      "so local_net changes nothing",
                subject=transport.id, evidence=(ev,),
                fix="set external_media_address and external_signaling_address if behind NAT"))
        if (media is None or not media.value) != (signaling is None or not signaling.value):
            have = media if media is not None and media.value else signaling
            missing = "external_signaling_address" if have is media else "external_media_address"
            assert have is not None
            findings.append(Finding(
                code="nat-half-external", severity=Severity.WARNING,
                title=f"transport {transport.id} sets {have.name} but not {missing}: "
                      + ("SIP carries the private address (calls fail or no audio)"
                         if missing == "external_signaling_address"
                         else "SDP carries the private address (no inbound audio)"),
                subject=transport.id,
                evidence=(Evidence(f"{have.name}={have.value}", have.file, have.line),),
                fix=f"set {missing} too (usually the same public address)"))
        for option in external:
            parsed = parse_match(option.value.split(":")[0] if option.value.count(":") == 1
                                 else option.value)
            address = parsed.address
            if address is None:
                continue
            for item, net_option, net in nets:
                if net.contains(address):
                    findings.append(Finding(
                        code="nat-external-is-local", severity=Severity.WARNING,
                        title=f"transport {transport.id}: {option.name}={option.value} lies "
                              f"inside local_net {item}",
                        subject=transport.id,
                        evidence=(Evidence(f"{option.name}={option.value}", option.file,
                                           option.line),
                                  Evidence(f"local_net={net_option.value}", net_option.file,
                                           net_option.line)),
                        fix="external_* must be the public address; local_net the LAN ranges"))
    return findings
