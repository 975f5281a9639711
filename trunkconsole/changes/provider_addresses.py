"""A trunk's provider addresses as live Asterisk sees them (identify matches, contacts)."""

from __future__ import annotations

import ipaddress
import re

from trunkconsole.changes.changeset import AmiActions
from trunkconsole.errors import OperatorError

_URI_HOST = re.compile(r"^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>]+)")


def match_to_network(entry: str) -> str | None:
    """`203.0.113.10/255.255.255.255` (IdentifyDetail's ast_ha_join form) to CIDR text.

    A port in the entry (`203.0.113.10:5060/255.255.255.255`) is dropped: the logger and
    the firewall look at addresses.
    """
    address, _, mask = entry.strip().partition("/")
    if address.startswith("["):
        address = address[1:].split("]")[0]
    elif address.count(":") == 1:
        address = address.split(":")[0]
    try:
        return str(ipaddress.ip_network(f"{address}/{mask or ''}".rstrip("/"), strict=False))
    except ValueError:
        return None


async def trunk_hosts(ami: AmiActions, endpoint: str) -> list[str]:
    """Identify matches and static contact hosts of an endpoint, from PJSIPShowEndpoint."""
    reply = await ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": endpoint})
    messages = reply if isinstance(reply, list) else [reply]
    first = messages[0] if messages else None
    if first is not None and str(first.get("Response", "")) == "Error":
        raise OperatorError(f"endpoint {endpoint!r} is not known to Asterisk",
                            evidence=str(first.get("Message", "")))
    hosts: list[str] = []
    for message in messages:
        event = str(message.get("Event", ""))
        if event == "IdentifyDetail":
            for entry in str(message.get("Match", "")).split(","):
                network = match_to_network(entry) if entry else None
                if network:
                    hosts.append(network)
        elif event == "ContactStatusDetail":
            uri = _URI_HOST.match(str(message.get("URI", "")))
            if uri:
                network = match_to_network(uri.group(1))
                if network:
                    hosts.append(network)
    if not hosts:
        raise OperatorError(f"endpoint {endpoint!r} has no identify match or contact address",
                            fix="give the provider's address with --host")
    return sorted(set(hosts))
