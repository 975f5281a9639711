"""NetworkInputs from the resolved PJSIP model (trunkconsole.pjsip, issue 4).

Provider addresses are identify `match=` entries and aor `contact=` hosts; transports give
bind, external_*_address and local_net; rtp.conf gives the RTP range.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from trunkconsole.net.inputs import NetworkInputs, ProviderAddress, Transport

_CONTACT_HOST = re.compile(r"^sips?:(?:[^@;]*@)?(\[[^\]]+\]|[^:;>]+)")


def contact_host(uri: str) -> str | None:
    """`sip:198.51.100.7:5060;transport=udp` -> `198.51.100.7`."""
    found = _CONTACT_HOST.match(uri.strip())
    return found.group(1).strip("[]") if found else None


def _split_bind(bind: str, protocol: str) -> tuple[str, int]:
    default = 5061 if protocol in ("tls", "wss") else 5060
    bind = bind.strip()
    if bind.startswith("["):
        host, _, rest = bind[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default
    if bind.count(":") == 1:
        host, port = bind.split(":")
        return host, int(port)
    return bind or "0.0.0.0", default


def from_system(system: Any) -> NetworkInputs:
    """Inputs from a loaded AsteriskConfig (trunkconsole.pjsip.system.load_asterisk)."""
    pjsip = system.pjsip
    providers: list[ProviderAddress] = []
    for identify in pjsip.of_type("identify"):
        endpoint_id = identify.value("endpoint")
        endpoint = pjsip.get("endpoint", endpoint_id)
        transport = endpoint.value("transport") if endpoint is not None else ""
        for match, option in pjsip.matches(identify):
            if match.error:
                continue
            address = str(match.address) if match.prefix_length == match.bits else \
                match.network_text().split(":")[0] if match.version == 4 else \
                match.network_text()
            if match.is_host:
                address = match.host or match.raw
            providers.append(ProviderAddress(endpoint_id, address,
                                             f"identify '{identify.id}' match",
                                             option.location(), transport))
    for endpoint in pjsip.of_type("endpoint"):
        transport = endpoint.value("transport")
        for aor_id in endpoint.names("aors"):
            aor = pjsip.get("aor", aor_id)
            if aor is None:
                continue
            for uri, option in aor.items("contact"):
                host = contact_host(uri)
                if host and not any(p.provider == endpoint.id and p.address == host
                                    for p in providers):
                    providers.append(ProviderAddress(endpoint.id, host,
                                                     f"aor '{aor_id}' contact",
                                                     option.location(), transport))
    transports: list[Transport] = []
    for obj in pjsip.of_type("transport"):
        protocol = obj.value("protocol", "udp").lower()
        host, port = _split_bind(obj.value("bind", "0.0.0.0"), protocol)
        option = obj.last("bind")
        transports.append(Transport(
            obj.id, protocol, host, port,
            obj.value("external_media_address"), obj.value("external_signaling_address"),
            tuple(net for net, _ in obj.items("local_net")),
            option.location() if option is not None else f"{obj.file}:{obj.line}"))
    rtp = system.rtp
    origin = rtp.start_line.location() if rtp.start_line is not None else "rtp.conf defaults"
    return NetworkInputs(tuple(providers), tuple(transports), rtp.start, rtp.end, origin)


def load_inputs(config_dir: Path) -> NetworkInputs:
    """Load /etc/asterisk (or config_dir) and derive the inputs."""
    from trunkconsole.pjsip.system import load_asterisk

    return from_system(load_asterisk(config_dir))
