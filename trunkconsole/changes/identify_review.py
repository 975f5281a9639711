"""`identify add` up to the review: the one path the CLI twin and the console's dialog share."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.changes.identify import IdentifyPlan, plan_identify_add
from trunkconsole.net.firewall_note import sip_firewall_note
from trunkconsole.pjsip.addresses import ProviderAddress


def plan_identify_add_reviewed(config_dir: Path, trunk: str, addresses: list[ProviderAddress],
                               *, covered_ok: bool = False) -> IdentifyPlan:
    """Plan the identify change and note what the firewall would do with SIP from each new
    address (an identify alone does not let a dropped packet in).

    Slow on a big host (a config parse, nft/iptables-save): the console calls it from a
    worker, never on its event loop. Raises OperatorError for bad input, nothing changed.
    """
    plan = plan_identify_add(config_dir, trunk, addresses, covered_ok=covered_ok)
    for address in addresses:
        note = sip_firewall_note(address)
        if note:
            plan.changeset.notes.append(note)
    return plan
