"""Would the firewall let SIP from a new provider address in? A warning for the diff review.

Reads this host's ruleset (needs CAP_NET_ADMIN) and asks the verdict engine about a new
UDP packet to 5060; a DROP names the rule, a DEPENDS the assumption.
"""

from __future__ import annotations

from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.addresses import ProviderAddress


def sip_firewall_note(address: ProviderAddress, port: int = 5060) -> str | None:
    """A warning when SIP from address would not simply be accepted; None when it would."""
    network = address.network()
    if network is None:
        return None  # a hostname: resolved by Asterisk at reload, not here
    from trunkconsole.net.collect import read_ruleset
    from trunkconsole.net.engine import Engine
    from trunkconsole.net.inputs import ProviderAddress as NetAddress
    from trunkconsole.net.packet import Probe
    from trunkconsole.net.verdict import Decision

    source = NetAddress(provider="", address=str(network)).probe_address()
    if source is None:
        return None
    try:
        ruleset = read_ruleset()
    except OperatorError as exc:
        return f"firewall not checked: {exc.what}"
    verdict = Engine(ruleset).evaluate(Probe(source, address.match.port or port, None))
    if verdict.decision is Decision.ACCEPT:
        return None
    if verdict.decision is Decision.DROP:
        return (f"the firewall would drop SIP from {source}: {verdict.summary()} "
                "- the identify alone will not bring the calls back")
    return f"the firewall may drop SIP from {source}: {verdict.summary()}"
