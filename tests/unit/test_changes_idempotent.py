"""Idempotent planning without Asterisk: what is already there, address lists, naming a
trunk by its provider's host, and the JSON outcome (masking, exit codes).

Configs are real files in a temp dir (the lab's pjsip.conf plus sections per test); the
CLI runs with --dry-run, which needs no AMI. Live verification is in tests/lab.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trunkconsole.changes.apply import ApplyResult, Progress, Step
from trunkconsole.changes.changeset import Unchanged
from trunkconsole.changes.identify import plan_identify_add, plan_identify_remove
from trunkconsole.changes.outcome import ChangeOutcome
from trunkconsole.changes.trunk import TrunkSpec, plan_trunk_add
from trunkconsole.errors import OperatorError
from trunkconsole.pjsip.address_file import parse_address_lines
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.pjsip.trunk_lookup import trunk_by_contact

ROOT = Path(__file__).resolve().parents[2]
SECOND_TRUNK = """
[acme]
type = aor
contact = sip:sip.acme.example:5060

[acme]
type = endpoint
context = inbound-provider
aors = acme

[acme-in]
type = identify
endpoint = acme
match = 198.51.100.0/28, 203.0.113.50
"""


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    target = tmp_path / "etc"
    shutil.copytree(ROOT / "sample-configs" / "lab", target)
    with (target / "pjsip.conf").open("a") as handle:
        handle.write(SECOND_TRUNK)
    return target


def addr(text: str) -> list:  # type: ignore[type-arg]
    return [parse_provider_address(t) for t in text.split()]


def dry_run(etc: Path, *args: str) -> tuple[int, dict[str, object]]:
    out = subprocess.run([sys.executable, "-m", "trunkconsole", "--config-dir", str(etc), *args,
                          "--dry-run", "--json"], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL, cwd=ROOT)
    assert "Traceback" not in out.stderr, out.stderr
    data: dict[str, object] = json.loads(out.stdout)
    return out.returncode, data


@pytest.mark.parametrize("spelling", ["203.0.113.10", "203.0.113.10/32",
                                      "203.0.113.10/255.255.255.255"])
def test_the_exact_address_in_any_spelling_is_present(etc: Path, spelling: str) -> None:
    with pytest.raises(Unchanged, match="already matches trunk carrier") as caught:
        plan_identify_add(etc, "carrier", addr(spelling))
    assert "pjsip.conf:36" in caught.value.evidence


def test_another_port_is_another_entry(etc: Path) -> None:
    plan = plan_identify_add(etc, "carrier", addr("203.0.113.10:5080"))
    assert "+match = 203.0.113.10:5080" in plan.changeset.diff()


def test_covered_needs_the_flag(etc: Path) -> None:
    plan = plan_identify_add(etc, "acme", addr("198.51.100.3"))
    assert "+match = 198.51.100.3" in plan.changeset.diff()
    assert any("already covered by match=198.51.100.0/28" in n for n in plan.changeset.notes)
    with pytest.raises(Unchanged, match="already matches trunk acme"):
        plan_identify_add(etc, "acme", addr("198.51.100.3"), covered_ok=True)
    # A wider network is not covered by a narrower one.
    plan = plan_identify_add(etc, "acme", addr("198.51.100.0/24"), covered_ok=True)
    assert "+match = 198.51.100.0/24" in plan.changeset.diff()


def test_a_list_writes_only_what_is_missing_once(etc: Path) -> None:
    plan = plan_identify_add(etc, "carrier", addr(
        "203.0.113.10 203.0.113.12 203.0.113.12/32 203.0.113.13"))
    diff = plan.changeset.diff()
    assert diff.count("+match") == 2
    assert "+match = 203.0.113.12\n+match = 203.0.113.13\n" in diff
    assert plan.changeset.title == ("add 203.0.113.12, 203.0.113.13 to the identify of "
                                    "trunk carrier")


def test_remove_from_a_comma_list_and_what_is_gone(etc: Path) -> None:
    plan = plan_identify_remove(etc, "acme", addr("203.0.113.50 203.0.113.51"))
    diff = plan.changeset.diff()
    assert "-match = 198.51.100.0/28, 203.0.113.50\n+match = 198.51.100.0/28\n" in diff
    assert any("not a match of acme already: 203.0.113.51" in n for n in plan.changeset.notes)
    with pytest.raises(Unchanged, match="is no match of trunk acme"):
        plan_identify_remove(etc, "acme", addr("203.0.113.51"))
    with pytest.raises(OperatorError, match=r"match=198\.51\.100\.0/28, 203\.0\.113\.50 at "):
        plan_identify_remove(etc, "acme", addr("198.51.100.2"))


def test_remove_the_whole_list_drops_the_line(etc: Path) -> None:
    plan = plan_identify_remove(etc, "acme", addr("198.51.100.0/28 203.0.113.50"))
    assert "-match = 198.51.100.0/28, 203.0.113.50\n" in plan.changeset.diff()
    assert "+match" not in plan.changeset.diff()
    assert any("last match of identify acme-in" in n for n in plan.changeset.notes)


def test_address_lines_name_the_bad_line() -> None:
    good = parse_address_lines("# list\n\n203.0.113.10\n  198.51.100.0/28  # site b\n"
                               "sip.example.com\n", "list.txt")
    assert [a.text for a in good] == ["203.0.113.10", "198.51.100.0/28", "sip.example.com"]
    for text, line, what in (("203.0.113.10\n10.0.0.0/8\n", 2, "covers 16777216"),
                             ("203.0.113.10\n\n203.0.113.11, 203.0.113.12\n", 3,
                              "not a provider address"),
                             ("1.2.3.4\n\x1b[2J\n", 2, "not a provider address")):
        with pytest.raises(OperatorError) as caught:
            parse_address_lines(text, "list.txt")
        assert caught.value.what.startswith(f"list.txt:{line}: "), caught.value.what
        assert what in caught.value.what
        assert "nothing was changed" in caught.value.fix
    with pytest.raises(OperatorError, match="holds no address"):
        parse_address_lines("# only comments\n\n", "list.txt")


def test_from_file_cli(etc: Path, tmp_path: Path) -> None:
    listing = tmp_path / "new.txt"
    listing.write_bytes(b"203.0.113.12\n\xff\xfe\n")
    code, data = dry_run(etc, "identify", "add", "carrier", "--from-file", str(listing))
    assert code == 3
    assert data["error"] == {"what": f"{listing}:2: not UTF-8 text", "evidence": "",
                             "fix": "nothing was changed: save the list as plain text"}
    code, data = dry_run(etc, "identify", "add", "carrier", "--from-file", str(tmp_path / "no"))
    assert code == 3
    assert "cannot read" in str(data["error"])


def test_trunk_by_contact(etc: Path) -> None:
    assert trunk_by_contact(etc, "203.0.113.10") == "carrier"
    assert trunk_by_contact(etc, "sip.acme.example") == "acme"
    assert trunk_by_contact(etc, "SIP.ACME.EXAMPLE.") == "acme"
    assert trunk_by_contact(etc, "203.0.113.50") == "acme"  # its own identify entry
    assert trunk_by_contact(etc, "198.51.100.9") == "acme"  # inside its /28
    with pytest.raises(OperatorError, match=r"no trunk has 192\.0\.2\.1"):
        trunk_by_contact(etc, "192.0.2.1")
    for junk in ("", "203.0.113.0/24", "a b", "203.0.113.10:5060", "x\r\ny"):
        with pytest.raises(OperatorError):
            trunk_by_contact(etc, junk)


def test_trunk_by_contact_ambiguous_and_exact_wins(etc: Path) -> None:
    with (etc / "pjsip.conf").open("a") as handle:
        handle.write("\n[backup]\ntype = aor\ncontact = sip:203.0.113.10\n\n[backup]\n"
                     "type = endpoint\naors = backup\n\n[wide]\ntype = endpoint\n\n"
                     "[wide]\ntype = identify\nendpoint = wide\nmatch = 203.0.113.0/24\n")
    with pytest.raises(OperatorError, match=r"203\.0\.113\.10 names 2 trunks") as caught:
        trunk_by_contact(etc, "203.0.113.10")
    assert "backup (contact sip:203.0.113.10 at pjsip.conf:" in caught.value.evidence
    assert "carrier (contact sip:203.0.113.10:5060" in caught.value.evidence
    # An exact hit wins over a network that merely contains the host.
    assert trunk_by_contact(etc, "203.0.113.50") == "acme"
    assert trunk_by_contact(etc, "203.0.113.99") == "wide"
    code, data = dry_run(etc, "identify", "add", "--trunk-by-contact", "203.0.113.10",
                         "203.0.113.12")
    assert code == 3
    assert "names 2 trunks" in str(data["error"])


def test_trunk_add_unchanged_or_refused(etc: Path) -> None:
    spec = TrunkSpec(name="carrier2", provider_ips=addr("203.0.113.14 203.0.113.15"),
                     dids=["15551230002"], route_to="inbound-provider")
    changeset = plan_trunk_add(etc, spec)
    for change in changeset.changes:
        change.path.write_bytes(change.after)
    with pytest.raises(Unchanged, match="trunk carrier2 already exists as asked"):
        plan_trunk_add(etc, spec)
    spec.provider_ips = addr("203.0.113.14")  # fewer addresses: still there
    with pytest.raises(Unchanged):
        plan_trunk_add(etc, spec)
    spec.dids = ["15551230002", "15551230003"]
    spec.codecs = ["alaw"]
    with pytest.raises(OperatorError, match="already exists and differs") as caught:
        plan_trunk_add(etc, spec)
    assert caught.value.evidence == ("allow is 'ulaw,alaw', asked 'alaw'; from-carrier2 does "
                                     "not route 15551230003")


def test_config_set_same_value_is_unchanged(etc: Path) -> None:
    code, data = dry_run(etc, "config", "set", "endpoint", "carrier", "rtp_symmetric", "on")
    assert (code, data["changed"], data["ok"]) == (0, False, True)
    code, data = dry_run(etc, "config", "set", "endpoint", "carrier", "context", "Inbound-provider")
    assert (code, data["changed"]) == (0, True)  # case matters outside booleans


def test_outcome_masks_secrets_and_maps_exit_codes() -> None:
    outcome = ChangeOutcome(secrets=["p@ss\nword"])
    outcome.change = "set password = p@ss\nword on auth a"
    outcome.refused(OperatorError("value 'p@ss\\nword' cannot go into a config line"))
    text = outcome.dumps()
    assert "p@ss" not in text
    assert "word'" not in text
    assert outcome.exit_code() == 3
    applied = ChangeOutcome()
    result = ApplyResult(applied=False, rolled_back=True, reason="verification failed: x",
                         progress=[Progress(Step.VERIFY, False, "x")])
    applied.applied(result)
    assert (applied.ok, applied.exit_code(), applied.rolled_back) == (False, 1, True)
    done = ChangeOutcome()
    done.applied(ApplyResult(applied=True, progress=[Progress(Step.VERIFY, True, "ok")]))
    assert (done.ok, done.changed, done.verified, done.exit_code()) == (True, True, True, 0)


def test_json_apply_needs_yes_and_no_dead_man(etc: Path) -> None:
    """--json is for tools: no prompt on stdout, and no dead-man window nobody answers."""
    before = (etc / "pjsip.conf").read_bytes()
    for extra, what in (((), "--json needs --yes"),
                        (("--yes", "--confirm-within", "30"), "--confirm-within needs a person")):
        out = subprocess.run([sys.executable, "-m", "trunkconsole", "--config-dir", str(etc),
                              "identify", "add", "carrier", "203.0.113.12", "--json", *extra],
                             capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, cwd=ROOT)
        data = json.loads(out.stdout)
        assert out.returncode == 3
        assert what in data["error"]["what"]
        assert data["diff"].startswith("--- ")  # the change it refused to make, for review
        assert (data["ok"], data["changed"], data["backup"]) == (False, False, None)
    assert (etc / "pjsip.conf").read_bytes() == before


def test_config_set_by_contact(etc: Path) -> None:
    for kind, option, value, title in (
            ("endpoint", "from_user", "15551230000", "on endpoint acme"),
            ("aor", "qualify_frequency", "30", "on aor acme"),
            ("identify", "srv_lookups", "no", "on identify acme-in")):
        code, data = dry_run(etc, "config", "set", kind, "--trunk-by-contact",
                             "sip.acme.example", option, value)
        assert (code, data["changed"]) == (0, True), data
        assert str(data["change"]).endswith(title)
    code, data = dry_run(etc, "config", "set", "endpoint", "acme", "--trunk-by-contact",
                         "sip.acme.example", "from_user", "1")
    assert code == 3
    assert "no NAME" in str(data["error"])
    code, data = dry_run(etc, "config", "set", "transport", "--trunk-by-contact",
                         "sip.acme.example", "bind", "0.0.0.0")
    assert code == 3
    assert "not a transport" in str(data["error"])
