"""A trunk's provider addresses as live Asterisk sees them (identify matches, contacts)."""

from __future__ import annotations

import contextlib
import ipaddress

from trunkconsole.ami.action import AmiActions
from trunkconsole.errors import OperatorError
from trunkconsole.net.pjsip_inputs import contact_host
from trunkconsole.pjsip.addresses import parse_ami_matches


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
            # Ports are dropped: the logger and the firewall look at addresses.
            hosts += [str(net) for net, _port in parse_ami_matches(str(message.get("Match", "")))]
        elif event == "ContactStatusDetail":
            host = contact_host(str(message.get("URI", "")))
            if host:
                with contextlib.suppress(ValueError):  # a hostname contact: nothing to log by
                    hosts.append(str(ipaddress.ip_network(host)))
    if not hosts:
        raise OperatorError(f"endpoint {endpoint!r} has no identify match or contact address",
                            fix="give the provider's address with --host")
    return sorted(set(hosts))
