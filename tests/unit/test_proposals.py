"""Typed fix proposals: each kind is planned by its CLI twin's planner into a reviewed diff.

Run on a copy of the lab's config directory (the one the lab Asterisk 22 loads); nothing
is written by planning.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trunkconsole.changes.changeset import Unchanged
from trunkconsole.changes.proposal import plan_proposal
from trunkconsole.errors import OperatorError
from trunkconsole.findings import (
    AddProviderAddress,
    EnableLogs,
    Finding,
    RouteDid,
    SetOption,
    Severity,
)
from trunkconsole.resources import sample_configs_dir


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    shutil.copytree(sample_configs_dir() / "lab", etc, ignore=shutil.ignore_patterns("sipp"))
    return etc


def files(etc: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(etc.iterdir()) if p.is_file()}


def test_each_kind_plans_its_reviewed_change(etc: Path) -> None:
    before = files(etc)
    identify = plan_proposal(etc, AddProviderAddress(trunk="carrier", address="203.0.113.12"))
    assert "+match = 203.0.113.12" in identify.diff()
    did = plan_proposal(etc, RouteDid(trunk="carrier", pilot="15551239000",
                                      header="P-Called-Party-ID"))
    assert "extensions.conf" in did.diff()
    assert "P-Called-Party-ID" in did.diff()
    option = plan_proposal(etc, SetOption(kind="endpoint", name="carrier", option="allow",
                                          value="g729"))
    assert "+allow = g729" in option.diff() or "allow = g729" in option.diff()
    assert files(etc) == before  # planning writes nothing


def test_enable_logs_when_logging_is_on_is_unchanged(etc: Path) -> None:
    # The lab's logger.conf already carries security and notice lines.
    with pytest.raises(Unchanged):
        plan_proposal(etc, EnableLogs())
    (etc / "logger.conf").write_text("[general]\n\n[logfiles]\nconsole => notice\n")
    assert "+security.log => security" in plan_proposal(etc, EnableLogs()).diff()


def test_bad_proposals_are_refused(etc: Path) -> None:
    before = files(etc)
    with pytest.raises(OperatorError):
        plan_proposal(etc, AddProviderAddress(address="203.0.113.12"))  # no trunk
    with pytest.raises(OperatorError):
        plan_proposal(etc, AddProviderAddress(trunk="carrier", address="203.0.113.300"))
    with pytest.raises(OperatorError):
        plan_proposal(etc, SetOption(kind="endpoint", name="nosuch", option="allow",
                                     value="ulaw"))
    assert files(etc) == before


def test_the_proposal_shows_in_json_with_its_kind() -> None:
    finding = Finding("did-not-routed", Severity.WARNING, "DID in a header", "carrier",
                      proposal=RouteDid(trunk="carrier", pilot="1555", header="To"))
    assert finding.to_json()["proposal"] == {"kind": "did-route", "trunk": "carrier",
                                             "pilot": "1555", "header": "To", "why": ""}
    assert Finding("x", Severity.INFO, "t").to_json()["proposal"] is None
