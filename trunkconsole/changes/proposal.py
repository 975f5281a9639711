"""A typed fix proposal, planned: the one path from "apply this fix" to a reviewed ChangeSet.

Each proposal kind is planned by the same function as its CLI twin (`identify add`,
`did route`, `config set`, `logs enable`), so the console's review shows the diff the
command would print. A config parse (and for an identify, nft/iptables-save): callers on an
event loop run it in a thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import assert_never

from trunkconsole.changes.changeset import ChangeSet
from trunkconsole.changes.did_route import plan_did_route
from trunkconsole.changes.identify_review import plan_identify_add_reviewed
from trunkconsole.changes.logger_conf import plan_logging
from trunkconsole.changes.option import plan_option_set
from trunkconsole.errors import OperatorError
from trunkconsole.findings import AddProviderAddress, EnableLogs, Proposal, RouteDid, SetOption
from trunkconsole.pjsip.addresses import parse_provider_address


def plan_proposal(config_dir: Path, proposal: Proposal) -> ChangeSet:
    """The ChangeSet of this proposal (OperatorError, Unchanged included: nothing to do)."""
    if isinstance(proposal, AddProviderAddress):
        if not proposal.trunk or not proposal.address:
            raise OperatorError("the proposal names no trunk or no address",
                                fix="choose them in the form (i)")
        address = parse_provider_address(proposal.address)
        return plan_identify_add_reviewed(config_dir, proposal.trunk, [address]).changeset
    if isinstance(proposal, RouteDid):
        return plan_did_route(config_dir, proposal.trunk, proposal.pilot, proposal.header)
    if isinstance(proposal, SetOption):
        return plan_option_set(config_dir, proposal.kind, proposal.name, proposal.option,
                               proposal.value)
    if isinstance(proposal, EnableLogs):
        return plan_logging(config_dir)
    assert_never(proposal)  # mypy: a new kind needs its planner here
