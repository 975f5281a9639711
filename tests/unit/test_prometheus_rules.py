"""The shipped alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`); the dashboard queries only metrics watch exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import skip_or_fail
from trunkconsole.journal.view import WatchView
from trunkconsole.journal.writer import Health
from trunkconsole.metrics.exporter import render
from trunkconsole.model.state import PbxState

RULES = Path(__file__).resolve().parents[2] / "sample-configs" / "prometheus"


def _promtool() -> str:
    tool = shutil.which("promtool")
    if tool is None:
        skip_or_fail("promtool missing (Debian package prometheus, in setup.sh)")
    assert tool is not None
    return tool


def test_rules_check_and_unit_tests_pass() -> None:
    tool = _promtool()
    check = subprocess.run([tool, "check", "rules", "trunkconsole-alerts.yml"], cwd=RULES,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 8 rules found" in check.stdout
    test = subprocess.run([tool, "test", "rules", "trunkconsole-alerts.test.yml"], cwd=RULES,
                          capture_output=True, text=True, timeout=60)
    assert test.returncode == 0, test.stdout + test.stderr


def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    """The check can fail: an expression error is reported."""
    tool = _promtool()
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n"
                   "        expr: trunkconsole_trunk_reachable ==\n")
    out = subprocess.run([tool, "check", "rules", str(bad)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0


def _exported() -> set[str]:
    view = WatchView(state=PbxState(), health=Health())
    view.calls[("carrier", "normal")] = 1
    text = render(view).decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


@pytest.mark.parametrize("name", ["trunkconsole-alerts.yml", "trunkconsole-grafana.json"])
def test_shipped_queries_use_exported_metrics(name: str) -> None:
    text = (RULES / name).read_text()
    if name.endswith(".json"):
        json.loads(text)
    used = set(re.findall(r"\btrunkconsole_[a-z_]+", text))
    assert used
    assert used <= _exported(), used - _exported()
