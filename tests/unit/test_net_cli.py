"""`trunkconsole firewall verdict` on ruleset files: exit codes, text, JSON, input checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trunkconsole.cli import main

FIX = Path(__file__).parent.parent / "fixtures" / "net"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["firewall", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_rtp_range_verdict_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verdict", "--src", "192.0.2.110", "--dport", "10000-20000",
                       "--dst", "203.0.113.1", "--iif", "eth0",
                       "--ruleset", str(FIX / "native.json"))
    assert code == 1  # part accepted, part dropped
    assert "10000-10049: accepted by inet pbx input #17" in out
    assert "10050-20000: dropped by inet pbx input #20" in out
    assert 'reject with icmpx admin-prohibited' in out


def test_drop_exit_code_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verdict", "--src", "192.0.2.66", "--dport", "5060", "--dst",
                       "203.0.113.1", "--ruleset", str(FIX / "native.json"), "--json")
    data = json.loads(out)
    assert code == 2
    assert data["decision"] == "drop"
    assert data["classes"][0]["outcomes"][0]["deciding"]["label"] == "ip blocklist check #5"


def test_iptables_save_files_decide_ufw(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verdict", "--src", "192.0.2.77", "--dport", "15000",
                       "--dst", "203.0.113.1", "--iif", "wan0", "--ruleset",
                       str(FIX / "ufw.json"), "--iptables-save", str(FIX / "ufw.save"))
    assert code == 0
    assert "accepted by ip filter ufw-user-input rule 4 (iptables-nft)" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--src", "198.51.100.0/24", "--dport", "5060"], "is not an IP address"),
    (["--src", "198.51.100.7\r\nX", "--dport", "5060"], "must not contain CR, LF"),
    (["--src", "198.51.100.7", "--dport", "70000"], "ports are 1-65535"),
    (["--src", "198.51.100.7", "--dport", "20000-10000"], "low before high"),
    (["--src", "198.51.100.7", "--dport", "sip"], "is not a port or range"),
    (["--src", "198.51.100.7", "--dport", "5060", "--iif", "eth0; rm"], "not an interface"),
])
def test_bad_input_is_refused_clearly(capsys: pytest.CaptureFixture[str], argv: list[str],
                                      message: str) -> None:
    code, _, err = run(capsys, "verdict", *argv, "--ruleset", str(FIX / "native.json"))
    assert code == 2
    assert message in err


def test_missing_file_is_an_operator_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "verdict", "--src", "198.51.100.7", "--dport", "5060",
                       "--ruleset", "/nonexistent/rules.json")
    assert code == 3
    assert "cannot read /nonexistent/rules.json" in err
