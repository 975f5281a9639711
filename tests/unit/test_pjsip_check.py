"""`trunkconsole check` and `config show` on sample configs with known problems."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trunkconsole.findings import Severity
from trunkconsole.pjsip.check import CheckContext, run_checks
from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.resources import sample_configs_dir

SAMPLES = sample_configs_dir()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trunkconsole", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("sample", "status"), [
    ("check-clean", 0), ("check-warnings", 1), ("check-critical", 2), ("lab", 0),
])
def test_check_exit_status(sample: str, status: int) -> None:
    # The config lint alone: this host's firewall and AMI are not the sample's.
    result = run_cli("check", "--no-live", "--no-network", "--config-dir", str(SAMPLES / sample))
    assert result.returncode == status, result.stdout + result.stderr


def test_check_json_and_global_config_dir_flag() -> None:
    result = run_cli("--config-dir", str(SAMPLES / "check-critical"), "check", "--json",
                     "--no-live", "--no-network")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["status"] == 2
    found = {(f["code"], f["severity"]) for f in data["findings"]}
    assert ("unknown-option", "critical") in found
    evidence = next(f for f in data["findings"] if f["code"] == "unknown-option")["evidence"]
    assert evidence == [{"text": "direct_meda=no", "file": "pjsip.conf", "line": 22}]


def test_check_cannot_check_missing_dir(tmp_path: Path) -> None:
    assert run_cli("check", "--config-dir", str(tmp_path / "nope")).returncode == 3
    assert run_cli("check", "--config-dir", str(tmp_path)).returncode == 3  # no pjsip.conf


def test_config_show_json_has_origins() -> None:
    result = run_cli("config", "show", "--json", "--config-dir", str(SAMPLES / "tricky"))
    assert result.returncode == 0
    data = json.loads(result.stdout)
    alpha = next(o for o in data["objects"] if o["type"] == "endpoint" and o["id"] == "alpha")
    assert alpha["templates"] == ["trunk"]
    assert alpha["options"]["context"] == [{"value": "from-trunk", "file": "pjsip.conf",
                                            "line": 24, "template": "trunk"}]
    assert data["rtp"]["start"] == 5000  # no rtp.conf: Asterisk's default range


def codes(sample: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in config_findings(load_asterisk(SAMPLES / sample)):
        out.setdefault(finding.code, []).append(finding.subject)
    return out


def test_critical_sample_findings() -> None:
    found = codes("check-critical")
    assert found["misspelt-type"] == ["provider-d"]
    assert found["unknown-option"] == ["provider-d"]
    assert found["duplicate-object"] == ["dup-aor"]
    assert found["identify-missing-endpoint"] == ["ghost-id"]
    assert sorted(found["endpoint-missing-aor"]) == ["provider-d", "provider-e"]
    assert found["endpoint-missing-auth"] == ["provider-d"]
    assert found["context-missing"] == ["provider-d"]
    assert found["match-huge-range"] == ["provider-e"]


def test_warning_sample_findings() -> None:
    found = codes("check-warnings")
    for code in ("trunk-codecs-order", "trunk-direct-media", "trunk-rtp-symmetric",
                 "trunk-rewrite-contact", "trunk-identify-by", "match-hostname"):
        assert found[code] == ["provider-b"], code
    assert found["match-overlap"] == ["provider-b, provider-c"]
    # provider-b is on public addresses and its context only answers: notes, not warnings
    severity = {f.code: f.severity for f in config_findings(load_asterisk(
        SAMPLES / "check-warnings")) if f.subject == "provider-b"}
    assert {code for code, level in severity.items() if level == Severity.INFO} == {
        "trunk-rtp-symmetric", "trunk-rewrite-contact", "trunk-identify-by", "match-hostname"}
    assert severity["trunk-direct-media"] == severity["trunk-codecs-order"] == Severity.WARNING
    assert found["nat-no-local-net"] == found["nat-half-external"] == ["transport-udp"]
    assert found["rtp-range"] == ["rtp.conf"]
    assert found["missing-type"] == ["not-an-object"]


def test_parse_errors_carry_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text("[a]\ntype=aor\n#include pjsip.d/x.conf\n")
    (tmp_path / "pjsip.d").mkdir()
    (tmp_path / "pjsip.d/x.conf").write_text("[b]\ntype=aor\n[c](nope)\n")
    findings = config_findings(load_asterisk(tmp_path))
    error = next(f for f in findings if f.code == "base-missing")
    assert error.severity == Severity.CRITICAL
    assert (error.evidence[0].file, error.evidence[0].line) == ("pjsip.d/x.conf", 3)
    assert "ignores the rest of pjsip.d/x.conf" in error.title


def test_providers_are_pluggable(tmp_path: Path) -> None:
    result = run_checks(CheckContext(config_dir=SAMPLES / "check-clean"),
                        providers=("trunkconsole.pjsip.check:config_provider",
                                   "tests.unit.test_pjsip_check:failing_provider"))
    assert result.status == 3
    assert result.unavailable == ["no AMI here"]


def failing_provider(context: CheckContext) -> list[object]:
    from trunkconsole.pjsip.check import CheckUnavailable

    raise CheckUnavailable("no AMI here")


def test_core_never_imports_textual() -> None:
    code = ("import sys, trunkconsole.pjsip.lint, trunkconsole.cli.config, "
            "trunkconsole.conf.edit, trunkconsole.pjsip.check; "
            "sys.exit('textual' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_dead_ami_means_could_not_check(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("x\n")
    result = run_cli("--port", "1", "--secret-file", str(secret), "check", "--json",
                     "--no-network", "--config-dir", str(SAMPLES / "lab"))
    assert result.returncode == 3, result.stdout + result.stderr
    data = json.loads(result.stdout)
    [gap] = [f for f in data["findings"] if f["code"] == "check-unavailable"]
    assert "nothing listens on 127.0.0.1:1" in gap["title"]
