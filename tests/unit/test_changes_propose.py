"""Proposing the trunk an unknown sender belongs to, on a real config directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from trunkconsole.diagnose.propose import propose_trunks
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.resources import sample_configs_dir

EXTRA = """
[other]
type = endpoint
context = from-other
aors = other

[other]
type = identify
endpoint = other
match = 198.51.100.0/28
"""


def config_dir(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    shutil.copytree(sample_configs_dir() / "lab", etc, ignore=shutil.ignore_patterns("sipp"))
    with open(etc / "pjsip.conf", "a") as handle:
        handle.write(EXTRA)
    with open(etc / "extensions.conf", "a") as handle:
        handle.write("\n[from-other]\nexten => 15559990000,1,Answer()\n")
    return etc


def test_same_network_wins(tmp_path: Path) -> None:
    config = load_asterisk(config_dir(tmp_path))
    [best, *_rest] = propose_trunks(config, "203.0.113.12")
    assert best.trunk == "carrier"
    assert best.reasons == ["same /24 as its match 203.0.113.10"]


def test_dialled_did_and_from_user(tmp_path: Path) -> None:
    config = load_asterisk(config_dir(tmp_path))
    ranked = propose_trunks(config, "192.0.2.50", dialled=["15559990000"],
                            from_users=["4711"], known_from_users={"carrier": {"4711"}})
    assert [c.trunk for c in ranked] == ["other", "carrier"]
    assert ranked[0].reasons == ["dialled 15559990000, routed by its context from-other"]
    assert ranked[1].reasons == ["From user 4711 seen on its calls before"]


def test_nothing_in_common_proposes_nothing(tmp_path: Path) -> None:
    config = load_asterisk(config_dir(tmp_path))
    assert propose_trunks(config, "192.0.2.99") == []
    assert propose_trunks(config, "not-an-ip") == []
