"""sample-configs/ansible/provider-addresses.yml, run by the real ansible-playbook against
the lab PBX: check mode, changed, unchanged, a bad list that changes nothing, and a
rollout that stops at its first rollback.

The PBX is reached with a local connection; trunkconsole_command runs trunkconsole inside
the PBX namespace (`ip netns exec tc-NAME-pbx ...`), as an operator on the PBX would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from trunkconsole.lab.ami_probe import first
from trunkconsole.lab.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "sample-configs" / "ansible" / "provider-addresses.yml"
NEW = ["203.0.113.10", "203.0.113.12", "203.0.113.13"]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=(\d+)", re.MULTILINE)


@pytest.fixture(scope="module")
def ansible_playbook() -> str:
    found = shutil.which("ansible-playbook")
    if found is None:
        skip_or_fail("ansible-playbook is not installed (Debian package ansible-core)")
    assert found is not None
    return found


def command(lab: Lab, config_dir: Path | None = None) -> list[str]:
    """trunkconsole inside the lab PBX's namespace, as an operator on that PBX runs it."""
    return ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
            "--secret-file", str(lab.secret_file),
            "--config-dir", str(config_dir or lab.config_dir)]


def inventory(lab: Lab, tmp: Path, addresses: list[str], hosts: tuple[str, ...] = ("pbx-a",),
              retired: list[str] | None = None,
              config_dirs: dict[str, Path] | None = None) -> Path:
    group_vars: dict[str, object] = {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
        "trunkconsole_become": False, "provider_contact": "203.0.113.10",
        "provider_addresses": addresses,
        "trunkconsole_command": command(lab),
    }
    if retired is not None:
        group_vars["provider_retired_addresses"] = retired
    host_vars: dict[str, dict[str, object]] = {host: {"trunkconsole_environment": {
        "TRUNKCONSOLE_STATE_DIR": str(tmp / f"state-{host}")}} for host in hosts}
    for host, directory in (config_dirs or {}).items():
        host_vars[host]["trunkconsole_command"] = command(lab, directory)
    path = tmp / "inventory.yml"
    # JSON is YAML: the inventory plugin for YAML reads it.
    path.write_text(json.dumps({"all": {"children": {"pbx": {"hosts": host_vars,
                                                              "vars": group_vars}}}}))
    return path


def play(playbook: str, inv: Path, tmp: Path, *extra: str) -> tuple[int, str, dict[str, list[int]]]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOME": str(tmp / "ansible-home"),
           "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "0",
           "ANSIBLE_STDOUT_CALLBACK": "default"}
    out = subprocess.run([playbook, "-i", str(inv), str(PLAYBOOK), *extra], capture_output=True,
                         text=True, timeout=300, env=env, cwd=tmp, stdin=subprocess.DEVNULL)
    text = out.stdout + out.stderr
    recap = {m.group(1): [int(m.group(i)) for i in range(2, 7)] for m in RECAP.finditer(text)}
    return out.returncode, text, recap


def live_matches(lab: Lab) -> str:
    with lab.ami() as ami:
        detail = ami.action({"Action": "PJSIPShowEndpoint", "Endpoint": "carrier"})
    return ";".join(first(m, "match") for m in detail if first(m, "event") == "IdentifyDetail")


def test_check_then_apply_then_unchanged(lab_config: Lab, ansible_playbook: str,
                                         tmp_path: Path) -> None:
    lab = lab_config
    pjsip = lab.config_dir / "pjsip.conf"
    original = pjsip.read_bytes()
    inv = inventory(lab, tmp_path, NEW)
    code, text, recap = play(ansible_playbook, inv, tmp_path, "--syntax-check")
    assert code == 0, text

    code, text, recap = play(ansible_playbook, inv, tmp_path, "--check", "--diff")
    assert code == 0, text
    ok, changed, unreachable, failed, skipped = recap["pbx-a"]
    # the dry run would change (and --diff shows it); the apply tasks are skipped
    assert (ok, changed, unreachable, failed, skipped) == (2, 1, 0, 0, 3), text
    assert '"+match = 203.0.113.12",' in text
    assert pjsip.read_bytes() == original

    code, text, recap = play(ansible_playbook, inv, tmp_path)
    assert code == 0, text
    assert recap["pbx-a"][:4] == [2, 1, 0, 0], text  # the check is ok, the apply changed
    written = pjsip.read_bytes()
    assert b"match = 203.0.113.12\nmatch = 203.0.113.13\n" in written
    assert "203.0.113.12/255.255.255.255" in live_matches(lab)
    assert "203.0.113.13/255.255.255.255" in live_matches(lab)
    assert len(list((tmp_path / "state-pbx-a" / "backups").iterdir())) == 1

    code, text, recap = play(ansible_playbook, inv, tmp_path)
    assert code == 0, text
    assert recap["pbx-a"][:4] == [2, 0, 0, 0], text  # second run: nothing changed
    assert pjsip.read_bytes() == written
    assert len(list((tmp_path / "state-pbx-a" / "backups").iterdir())) == 1
    code, text, recap = play(ansible_playbook, inv, tmp_path, "--check")
    assert code == 0, text
    assert recap["pbx-a"][1] == 0, text  # and --check says nothing would change

    # The provider retires .13: checked in play 1, taken out after the add.
    inv = inventory(lab, tmp_path, NEW, retired=["203.0.113.13"])
    code, text, recap = play(ansible_playbook, inv, tmp_path)
    assert code == 0, text
    assert recap["pbx-a"][:4] == [4, 1, 0, 0], text
    assert b"match = 203.0.113.12\n" in pjsip.read_bytes()
    assert b"203.0.113.13" not in pjsip.read_bytes()
    assert "203.0.113.13" not in live_matches(lab)


def test_bad_address_fails_before_anything_changes(lab_config: Lab, ansible_playbook: str,
                                                   tmp_path: Path) -> None:
    lab = lab_config
    before = {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    inv = inventory(lab, tmp_path, ["203.0.113.12", "203.0.113.300", "203.0.113.13"],
                    hosts=("pbx-a", "pbx-b"))
    code, text, recap = play(ansible_playbook, inv, tmp_path)
    assert code == 2, text
    assert "stdin:2: '203.0.113.300' is neither an IP address nor a valid hostname" in text
    # ... in plain words on trunkconsole's stderr too, not only inside the JSON
    assert ('"stderr": "trunkconsole: stdin:2: \'203.0.113.300\' is neither an IP address '
            'nor a valid hostname') in text
    assert recap["pbx-a"][3] == 1, text
    assert recap["pbx-b"][3] == 1, text
    assert "Apply in batches" not in text  # play 1 failed: play 2 never started
    assert {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")} == before
    assert not (tmp_path / "state-pbx-a").exists()


def test_rollout_stops_at_the_first_rollback(lab_config: Lab, ansible_playbook: str,
                                             tmp_path: Path) -> None:
    """A hostname Asterisk cannot resolve passes the check, then Asterisk rejects the
    identify on reload: the canary rolls back and the next batch never starts."""
    lab = lab_config
    before = {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")}
    inv = inventory(lab, tmp_path, ["203.0.113.12", "sip.invalid"], hosts=("pbx-a", "pbx-b"))
    code, text, recap = play(ansible_playbook, inv, tmp_path, "-e", '{"trunkconsole_serial": 1}')
    assert code == 2, text
    assert '\\"rolled_back\\": true' in text  # trunkconsole's JSON, quoted in Ansible's
    assert "does not match 203.0.113.12, sip.invalid after the reload" in text
    assert recap["pbx-a"][3] == 1, text  # the canary failed (rolled back)
    assert recap["pbx-b"][:4] == [1, 0, 0, 0], text  # only its check ran
    assert not (tmp_path / "state-pbx-b").exists()  # pbx-b never applied anything
    assert {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")} == before
    assert "203.0.113.12" not in live_matches(lab)


def test_each_pbx_finds_its_own_trunk_and_a_pbx_without_it_stops_all(
        lab_config: Lab, ansible_playbook: str, tmp_path: Path) -> None:
    """--trunk-by-contact on PBXs whose sections differ: pbx-b calls the trunk acme-ep
    (a copy of the lab's configs, renamed); pbx-c has no trunk with that host, so the
    check play fails there and no PBX is changed."""
    lab = lab_config
    renamed = tmp_path / "pbx-b-etc"
    shutil.copytree(lab.config_dir, renamed)
    text = (renamed / "pjsip.conf").read_text()
    text = text.replace("[carrier]\ntype = identify\nendpoint = carrier",
                        "[acme-id]\ntype = identify\nendpoint = acme-ep")
    text = text.replace("[carrier]\ntype = endpoint", "[acme-ep]\ntype = endpoint")
    (renamed / "pjsip.conf").write_text(text.replace("aors = carrier", "aors = acme-out")
                                        .replace("[carrier]\ntype = aor", "[acme-out]\ntype = aor"))
    renamed_text = (renamed / "pjsip.conf").read_text()
    assert "[carrier]" not in renamed_text
    assert "= carrier" not in renamed_text
    other = tmp_path / "pbx-c-etc"
    shutil.copytree(lab.config_dir, other)
    (other / "pjsip.conf").write_text(
        (other / "pjsip.conf").read_text().replace("203.0.113.10", "192.0.2.10"))
    before = {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")}

    inv = inventory(lab, tmp_path, NEW, hosts=("pbx-a", "pbx-b"),
                    config_dirs={"pbx-b": renamed})
    code, text, recap = play(ansible_playbook, inv, tmp_path, "--check", "--diff")
    assert code == 0, text
    assert recap["pbx-a"][:4] == [2, 1, 0, 0], text
    assert recap["pbx-b"][:4] == [2, 1, 0, 0], text
    assert f'"--- {renamed}/pjsip.conf",' in text
    assert ' "+match = 203.0.113.12",' in text

    inv = inventory(lab, tmp_path, NEW, hosts=("pbx-a", "pbx-c"),
                    config_dirs={"pbx-c": other})
    code, text, recap = play(ansible_playbook, inv, tmp_path)
    assert code == 2, text
    assert "no trunk has 203.0.113.10 as contact or identify match" in text
    assert recap["pbx-c"][3] == 1, text
    assert "Apply in batches" not in text
    assert {p.name: p.read_bytes() for p in lab.config_dir.glob("*.conf")} == before
    assert not (tmp_path / "state-pbx-a").exists()
