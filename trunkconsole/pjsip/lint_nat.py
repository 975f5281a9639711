"""NAT: the transport's external_*/local_net settings, and whether a trunk's provider is
behind NAT.

Two different problems share the word. Asterisk behind NAT is the transport's job:
local_net, external_media_address, external_signaling_address (Asterisk wiki,
"Configuring res_pjsip to work through NAT": for Asterisk and phones behind NAT talking to
an ITSP "the important config options ... are local_net, external_media_address and
external_signaling_address in the transport type section and direct_media in the
endpoint section"). A REMOTE party behind NAT is the endpoint's: rtp_symmetric (send RTP
back where it comes from), force_rport (answer the source port) and rewrite_contact
(in-dialog requests to the source, not the Contact) -- pjsip.conf's own help says
rewrite_contact "helps servers communicate with endpoints that are behind NATs". For a
provider on a public address those three change nothing, whatever the transport says.
"""

from __future__ import annotations

import ipaddress

from trunkconsole.findings import Evidence, Finding, Severity
from trunkconsole.nat_ranges import in_private_range
from trunkconsole.pjsip.matches import parse_match
from trunkconsole.pjsip.objects import PjsipObject
from trunkconsole.pjsip.resolve import PjsipConfig


def private_address(text: str) -> bool:
    """An address (or the first address of a network) in a private or CGNAT range."""
    match = parse_match(text)
    address = match.address
    if address is None:
        return False
    first = ipaddress.ip_address(match.start) if match.version == 4 else \
        ipaddress.IPv6Address(match.start)
    return in_private_range(first)


def uri_host(uri: str) -> str:
    """`sip:user@host:port;params` -> `host:port` (brackets kept for IPv6)."""
    rest = uri.strip().strip("<>")
    for scheme in ("sips:", "sip:"):
        if rest.lower().startswith(scheme):
            rest = rest[len(scheme):]
            break
    return rest.rpartition("@")[2].split(";", 1)[0].split(">", 1)[0].strip()


def provider_behind_nat(endpoint: PjsipObject, identifies: list[PjsipObject],
                        pjsip: PjsipConfig) -> list[Evidence]:
    """Private addresses among the trunk's matches and AOR contacts: the provider sits
    behind NAT (or on a private network where NAT may be in between)."""
    found: list[Evidence] = []
    for identify in identifies:
        for item, option in identify.items("match"):
            if private_address(item):
                found.append(Evidence(f"match={item} is a private address", option.file,
                                      option.line))
    for name, _ in endpoint.items("aors"):
        aor = pjsip.get("aor", name)
        if aor is None:
            continue
        for item, option in aor.items("contact"):
            if private_address(uri_host(item)):
                found.append(Evidence(f"contact={item} is a private address", option.file,
                                      option.line))
    return found


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
