"""`identify add` up to the review: the one path the CLI twin and the console's dialog share."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.changes.addresses import parse_provider_address
from trunkconsole.changes.firewall_note import sip_firewall_note
from trunkconsole.changes.identify import IdentifyPlan, plan_identify_add


def plan_identify_add_reviewed(config_dir: Path, trunk: str, text: str, *,
                               force: bool = False) -> IdentifyPlan:
    """Parse the address, plan the identify change, and note what the firewall would do
    with SIP from the new address (an identify alone does not let a dropped packet in).

    Slow on a big host (a config parse, nft/iptables-save): the console calls it from a
    worker, never on its event loop. Raises OperatorError for bad input, nothing changed.
    """
    address = parse_provider_address(text, force=force)
    plan = plan_identify_add(config_dir, trunk, address)
    note = sip_firewall_note(address)
    if note:
        plan.changeset.notes.append(note)
    return plan
