"""`trunkconsole preflight` against the lab carrier: 403 with the From sent, then after the
from_user fix "ringing: accepted", cancelled before answer (no 200 from the carrier)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trunkconsole.lab import scenarios
from trunkconsole.lab.carrier import ASSIGNED_CALLER_ID
from trunkconsole.lab.lab import Lab

from .helpers import run_cli


@pytest.fixture
def scenario_lab(lab_config: Lab) -> Iterator[Lab]:
    yield lab_config
    scenarios.apply(lab_config, "reset", log=lambda _m: None)


def preflight(lab: Lab, *args: str) -> tuple[int, dict[str, Any]]:
    out = run_cli(lab, "preflight", "carrier", "--to", "15550001111", "--json", *args)
    assert out.returncode in (0, 2), out.stdout + out.stderr
    return out.returncode, json.loads(out.stdout)


def test_preflight_403_then_fix_then_accepted(scenario_lab: Lab, tmp_path: Path) -> None:
    lab = scenario_lab
    scenarios.apply(lab, "callerid-rejected", log=lambda _m: None)
    lab.stop_background_calls()  # only our own calls
    code, result = preflight(lab, "--caller-id", "15551239999")
    assert code == 2
    assert result["code"] == 403
    assert result["answer"] == "403 Forbidden"
    assert "sip:15551239999@" in result["sent"]["From"]
    assert "config set endpoint carrier from_user" in result["fix"]
    text = run_cli(lab, "preflight", "carrier", "--to", "15550001111", "--caller-id",
                   "15551239999")
    assert "403 Forbidden" in text.stdout
    assert "sent From: <sip:15551239999@203.0.113.1>" in text.stdout

    fixed = run_cli(lab, "config", "set", "endpoint", "carrier", "from_user",
                    ASSIGNED_CALLER_ID, "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    code, result = preflight(lab, "--caller-id", "15551239999")
    assert code == 0, result
    assert result["answer"] == "ringing: accepted (180 Ringing)"
    assert result["cancelled"] is True
    assert result["answered"] is False
    assert f"sip:{ASSIGNED_CALLER_ID}@" in result["sent"]["From"]


def test_preflight_refuses_bad_input_and_places_nothing(lab: Lab) -> None:
    for args in (["--to", "1555;x"], ["--to", "15550001111", "--caller-id", "1\r\nAction: X"],
                 ["--to", ""]):
        out = run_cli(lab, "preflight", "carrier", *args)
        assert out.returncode == 3, out.stdout + out.stderr
        assert "not a dialable number" in out.stderr
    unknown = run_cli(lab, "preflight", "no-such-trunk", "--to", "15550001111")
    assert unknown.returncode == 3
    assert "not known" in unknown.stderr
    readonly = run_cli(lab, "preflight", "carrier", "--to", "15550001111",
                       global_args=("--readonly",))
    assert readonly.returncode != 0
    assert "read-only" in readonly.stderr


def test_preflight_without_caller_id_sends_what_a_real_call_sends(scenario_lab: Lab,
                                                                  tmp_path: Path) -> None:
    """No --caller-id: not `anonymous` but the number the lab's outbound route sets
    (Set(CALLERID(num)=...15551239999) before Dial(PJSIP/${EXTEN}@${TRUNK})), which the
    carrier refuses; after the from_user fix, from_user (the assigned number)."""
    lab = scenario_lab
    scenarios.apply(lab, "callerid-rejected", log=lambda _m: None)
    lab.stop_background_calls()
    code, result = preflight(lab)
    assert code == 2
    assert result["caller_id"] == "15551239999"
    assert result["caller_id_basis"].startswith("what the outbound route [outbound] sets "
                                                "before dialling carrier")
    assert "sip:15551239999@" in result["sent"]["From"]
    assert "anonymous" not in result["sent"]["From"]
    assert result["code"] == 403
    text = run_cli(lab, "preflight", "carrier", "--to", "15550001111").stdout
    assert "caller ID 15551239999: what the outbound route [outbound] sets" in text
    fixed = run_cli(lab, "config", "set", "endpoint", "carrier", "from_user",
                    ASSIGNED_CALLER_ID, "--yes", state=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    code, result = preflight(lab)
    assert code == 0, result
    assert result["caller_id"] == ASSIGNED_CALLER_ID
    assert result["caller_id_basis"].startswith("the trunk's from_user")
    assert result["cancelled"] is True
