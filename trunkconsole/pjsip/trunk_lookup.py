"""Name a trunk by its provider's host (`--trunk-by-contact HOST`), the same on every PBX.

Fifty PBXs call the same carrier trunk `carrier`, `sip-provider`, `trunk1`...; the
carrier's host is what they share. A trunk is found by the host of its aor contacts
(`contact=sip:HOST:5060`) or by its identify matches. Exact hits (contact host, or a match
entry that is that address) win over a network that merely contains the address; more
than one trunk left, or none, is an error that lists what was found.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.net.pjsip_inputs import contact_host
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.pjsip.objects import PjsipObject
from trunkconsole.pjsip.system import AsteriskConfig, load_asterisk


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower().rstrip(".") == b.lower().rstrip(".")


def _hits(config: AsteriskConfig, endpoint: PjsipObject, host: str) -> tuple[list[str], list[str]]:
    """(exact, covering) reasons this endpoint is the provider at host."""
    wanted = parse_provider_address(host, force=True)
    exact: list[str] = []
    covering: list[str] = []
    for aor_name in endpoint.names("aors"):
        aor = config.pjsip.get("aor", aor_name)
        for uri, option in aor.items("contact") if aor is not None else []:
            found = contact_host(uri)
            if found and _same_host(found, host):
                exact.append(f"contact {uri} at {option.location()}")
    for identify in config.pjsip.identifies_for(endpoint.id):
        for match, option in config.pjsip.matches(identify):
            where = f"identify match {match.raw} at {option.location()}"
            if match.is_host:
                if wanted.is_hostname and _same_host(match.raw.split(":")[0], host):
                    exact.append(where)
            elif match.version and not wanted.is_hostname \
                    and match.version == wanted.match.version \
                    and match.start <= wanted.match.start <= match.end:
                if match.mask == wanted.match.mask:
                    exact.append(where)
                else:
                    covering.append(where)
    return exact, covering


def trunk_by_contact(config_dir: Path, host: str) -> str:
    """The one endpoint whose contact or identify is host; else a clear error."""
    text = host.strip().rstrip(".")  # a fully qualified name may end in a dot
    if not text or "/" in text or any(c in text for c in " ,;\r\n\t[]"):
        raise OperatorError(f"--trunk-by-contact {host!r} is not a host",
                            fix="give the provider's IP address or hostname")
    if parse_provider_address(text, force=True).match.port is not None:
        raise OperatorError(f"--trunk-by-contact {host!r}: give the host without a port")
    config = load_asterisk(config_dir)
    exact: dict[str, list[str]] = {}
    covering: dict[str, list[str]] = {}
    for endpoint in config.pjsip.of_type("endpoint"):
        hit, near = _hits(config, endpoint, text)
        if hit:
            exact[endpoint.id] = hit
        elif near:
            covering[endpoint.id] = near
    found = exact or covering
    if not found:
        raise OperatorError(
            f"no trunk has {text} as contact or identify match",
            evidence=f"{len(config.pjsip.of_type('endpoint'))} endpoints read from "
            f"{config.config_dir}",
            fix="check the host, or name the trunk itself")
    if len(found) > 1:
        listed = "; ".join(f"{name} ({', '.join(reasons)})"
                           for name, reasons in sorted(found.items()))
        raise OperatorError(f"{text} names {len(found)} trunks, not one",
                            evidence=listed, fix="name the trunk itself on this PBX")
    return next(iter(found))


def trunk_object(config_dir: Path, trunk: str, kind: str) -> str:
    """The name of the trunk's object of a type: the endpoint itself, its one aor or its
    one identify (an identify's name need not be the endpoint's)."""
    config = load_asterisk(config_dir)
    if kind == "endpoint":
        return trunk
    endpoint = config.pjsip.get("endpoint", trunk)
    if kind == "aor" and endpoint is not None:
        names = endpoint.names("aors")
    elif kind == "identify":
        names = [i.id for i in config.pjsip.identifies_for(trunk)]
    else:
        raise OperatorError(f"--trunk-by-contact names an endpoint, its aor or its identify, "
                            f"not a {kind}")
    if len(names) != 1:
        raise OperatorError(f"trunk {trunk} has {len(names)} {kind}s, not one: "
                            f"{', '.join(names) or 'none'}", fix="name the object itself")
    return names[0]
