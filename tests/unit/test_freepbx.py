"""FreePBX hosts, on the FreePBX 17 layout of sample-configs/freepbx (built from FreePBX's
generator source by tools/gen_freepbx_sample.py): a healthy box checks clean, hand edits in
generated files are named, and every change lands in a file read after FreePBX's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trunkconsole.changes.identify import plan_identify_add, plan_identify_remove
from trunkconsole.changes.option import plan_option_set
from trunkconsole.changes.trunk import TrunkSpec, plan_trunk_add
from trunkconsole.errors import OperatorError
from trunkconsole.findings import Severity
from trunkconsole.pjsip import freepbx
from trunkconsole.pjsip.addresses import parse_provider_address
from trunkconsole.pjsip.check import CheckContext, run_checks
from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk
from trunkconsole.resources import sample_configs_dir

FREEPBX = sample_configs_dir() / "freepbx"
GENERATED = ["extensions.conf", "extensions_additional.conf", "pjsip.aor.conf",
             "pjsip.auth.conf", "pjsip.conf", "pjsip.endpoint.conf", "pjsip.identify.conf",
             "pjsip.registration.conf", "pjsip.transports.conf", "rtp.conf",
             "rtp_additional.conf"]


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    target = tmp_path / "etc"
    shutil.copytree(FREEPBX, target)
    return target


def codes(config_dir: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in config_findings(load_asterisk(config_dir)):
        found.setdefault(finding.code, []).append(finding.subject)
    return found


def test_healthy_freepbx_checks_clean_with_one_note(etc: Path) -> None:
    cli = subprocess.run([sys.executable, "-m", "trunkconsole", "check", "--config-dir",
                          str(etc), "--no-live", "--no-network"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "0 critical, 0 warnings, 1 notes" in cli.stdout
    result = run_checks(CheckContext(config_dir=etc),
                        providers=("trunkconsole.pjsip.check:config_provider",))
    assert result.status == 0, [(f.code, f.title) for f in result.findings]
    notes = [f for f in result.findings if f.code == "freepbx-managed"]
    assert len(notes) == 1
    assert notes[0].severity == Severity.INFO
    assert sorted(str(e.file) for e in notes[0].evidence) == GENERATED
    assert not [f for f in result.findings if f.severity > Severity.INFO]


def test_custom_files_named_are_read_after_the_generated_ones(etc: Path) -> None:
    system = load_asterisk(etc)
    docs = {d.name: d for d in system.documents.by_path.values()}
    pjsip = system.loaded["pjsip.conf"]
    for kind in ("transports", "endpoint", "aor", "auth", "registration", "identify"):
        generated = f"pjsip.{kind}.conf"
        assert freepbx.preferred_custom_file(pjsip, generated, docs) == \
            f"pjsip.{kind}_custom_post.conf"
        after = freepbx.custom_files_after(pjsip, generated, docs)
        # pjsip.TYPE_custom.conf is #included at the top of pjsip.TYPE.conf: read before.
        assert f"pjsip.{kind}_custom.conf" not in after
        assert after[-1] == "pjsip_custom_post.conf"
    assert freepbx.preferred_custom_file(pjsip, "pjsip.conf", docs) == "pjsip_custom_post.conf"
    assert freepbx.preferred_custom_file(system.loaded["rtp.conf"], "rtp_additional.conf",
                                         docs) == "rtp_custom.conf"
    assert freepbx.preferred_custom_file(system.loaded["extensions.conf"],
                                         "extensions_additional.conf", docs) == \
        "extensions_custom.conf"
    managed = next(f for f in config_findings(system) if f.code == "freepbx-managed")
    named = managed.fix.split(": ", 1)[1].split(";")[0].split(", ")
    included = {name for conf in system.loaded.values() for name in conf.files}
    assert set(named) <= included  # never a file nothing includes
    assert not [n for n in named if n.endswith("_custom.conf") and n.startswith("pjsip.")]


def test_custom_file_follows_the_actual_include_order(etc: Path) -> None:
    text = (etc / "pjsip.conf").read_text()
    (etc / "pjsip.conf").write_text(text.replace("#include pjsip.endpoint_custom_post.conf\n",
                                                 ""))
    system = load_asterisk(etc)
    docs = {d.name: d for d in system.documents.by_path.values()}
    # Without its own _custom_post, the next custom file read after the endpoints wins.
    assert freepbx.preferred_custom_file(system.loaded["pjsip.conf"], "pjsip.endpoint.conf",
                                         docs) == "pjsip.aor_custom.conf"


@pytest.mark.parametrize(("edit", "what"), [
    ("context=from-pstn\n; moved by bob\n", "a comment"),
    ("context=from-pstn\n  context=from-bob\n", "an indented line"),
    ("context=from-pstn\ncontext = from-bob\n", "spaces around '='"),
    ("context=from-pstn\n\ncontext=from-bob\n", "an option outside any section"),
    ("context=from-pstn\r\n", "CRLF"),
])
def test_hand_edits_in_generated_files_are_warned(etc: Path, edit: str, what: str) -> None:
    path = etc / "pjsip.endpoint.conf"
    path.write_bytes(path.read_bytes().replace(b"context=from-pstn\n", edit.encode(), 1))
    found = [f for f in config_findings(load_asterisk(etc))
             if f.code == "freepbx-hand-edited"]
    assert [f.subject for f in found] == ["pjsip.endpoint.conf"]
    assert found[0].severity == Severity.WARNING
    assert what in found[0].evidence[0].text
    assert found[0].evidence[0].line is not None
    assert "pjsip.endpoint_custom_post.conf" in found[0].fix


def test_a_generated_file_written_after_the_last_apply_is_warned(etc: Path) -> None:
    old = 1_700_000_000
    for path in etc.iterdir():
        os.utime(path, (old, old))
    os.utime(etc / "pjsip.identify.conf", (old + 3600, old + 3600))
    found = [f for f in config_findings(load_asterisk(etc))
             if f.code == "freepbx-hand-edited"]
    assert [f.subject for f in found] == ["pjsip.identify.conf"]
    assert "3600 s after" in found[0].evidence[0].text


def test_identify_remove_of_a_generated_match_is_refused(etc: Path) -> None:
    before = {p.name: p.read_bytes() for p in etc.iterdir()}
    with pytest.raises(OperatorError) as caught:
        plan_identify_remove(etc, "telco-ip", parse_provider_address("203.0.113.10"))
    text = caught.value.render()
    assert "Connectivity → Trunks → telco-ip" in text, text
    assert "Match (Permit)" in text
    assert "Apply Config" in text
    assert {p.name: p.read_bytes() for p in etc.iterdir()} == before


def test_identify_added_on_freepbx_goes_after_and_can_be_removed_again(etc: Path) -> None:
    plan = plan_identify_add(etc, "telco-ip", parse_provider_address("203.0.113.12"))
    [change] = plan.changeset.changes
    assert change.path.name == "pjsip_custom_post.conf"
    assert "[telco-ip](+type=identify)" in change.after.decode()
    assert any("GUI will not show" in note for note in plan.changeset.notes)
    change.path.write_bytes(change.after)
    removal = plan_identify_remove(etc, "telco-ip", parse_provider_address("203.0.113.12"))
    assert [c.path.name for c in removal.changeset.changes] == ["pjsip_custom_post.conf"]


def test_config_set_on_a_generated_endpoint_goes_to_its_custom_post(etc: Path) -> None:
    changeset = plan_option_set(etc, "endpoint", "telco-ip", "context", "from-telco")
    [change] = changeset.changes
    assert change.path.name == "pjsip.endpoint_custom_post.conf"
    assert change.after.decode().strip() == "[telco-ip](+type=endpoint)\ncontext=from-telco"
    assert any("GUI will not show" in note for note in changeset.notes)
    change.path.write_bytes(change.after)
    endpoint = load_asterisk(etc).pjsip.get("endpoint", "telco-ip")
    assert endpoint is not None
    assert endpoint.value("context") == "from-telco"
    # A second change edits our own line there, not FreePBX's.
    again = plan_option_set(etc, "endpoint", "telco-ip", "context", "from-other")
    assert [c.path.name for c in again.changes] == ["pjsip.endpoint_custom_post.conf"]
    assert "context=from-other" in again.changes[0].after.decode()
    assert "from-telco" not in again.changes[0].after.decode()


def test_config_set_allow_replaces_codecs_and_match_is_refused(etc: Path) -> None:
    changeset = plan_option_set(etc, "endpoint", "telco-b", "allow", "g722")
    assert "disallow=all\nallow=g722" in changeset.changes[0].after.decode()
    with pytest.raises(OperatorError) as caught:
        plan_option_set(etc, "identify", "telco-b", "match", "198.51.100.30")
    assert "Connectivity → Trunks → telco-b" in (caught.value.fix or "")


def test_trunk_add_on_freepbx_uses_custom_files_read_after_freepbx(etc: Path) -> None:
    spec = TrunkSpec(name="newtel", provider_ips=[parse_provider_address("198.51.100.40")],
                     dids=["15557770001"], route_to="from-pstn")
    changeset = plan_trunk_add(etc, spec)
    assert sorted(c.path.name for c in changeset.changes) == \
        ["extensions_custom.conf", "pjsip_custom_post.conf"]
    assert any("GUI will not show" in note for note in changeset.notes)
    generated = [name for name in GENERATED if (etc / name).exists()]
    assert not [c for c in changeset.changes if c.path.name in generated]
