"""FreePBX hosts, on two FreePBX layouts built from FreePBX's generator source (tests/
freepbx_layouts.py): a healthy box checks clean, hand edits in generated files are named
and files exactly as FreePBX writes them are not, and every change lands in a file read
after FreePBX's own."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.freepbx_layouts import FREEPBX16, LAYOUTS, Layout
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


@pytest.fixture(params=LAYOUTS, ids=lambda layout: layout.name)
def layout(request: pytest.FixtureRequest) -> Layout:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def etc(tmp_path: Path, layout: Layout) -> Path:
    target = tmp_path / "etc"
    shutil.copytree(layout.path, target)
    # One moment for every file, as one Apply Config leaves them: the checkout's own times
    # (a merge rewrites one file) are not part of the layout.
    for path in target.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return target


def hand_edited(config_dir: Path) -> list[str]:
    return [f.subject for f in config_findings(load_asterisk(config_dir))
            if f.code == "freepbx-hand-edited"]


# The notes a healthy box gets: FreePBX manages files; on FreePBX 17, telco-reg is a trunk
# exactly as FreePBX writes a new one (identify_by and rewrite_contact at Asterisk's
# defaults) and telco-b leaves rewrite_contact at its default too.
HEALTHY_NOTES = {
    "freepbx": [("freepbx-managed", "FreePBX"), ("trunk-identify-by", "telco-reg"),
                ("trunk-rewrite-contact", "telco-b"), ("trunk-rewrite-contact", "telco-reg")],
    "freepbx16": [("freepbx-managed", "FreePBX")],
}


def test_healthy_freepbx_checks_clean_with_notes_only(etc: Path, layout: Layout) -> None:
    cli = subprocess.run([sys.executable, "-m", "trunkconsole", "check", "--config-dir",
                          str(etc), "--no-live", "--no-network"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    notes = HEALTHY_NOTES[layout.name]
    assert f"0 critical, 0 warnings, {len(notes)} notes" in cli.stdout
    result = run_checks(CheckContext(config_dir=etc),
                        providers=("trunkconsole.pjsip.check:config_provider",))
    assert result.status == 0, [(f.code, f.title) for f in result.findings]
    [note] = [f for f in result.findings if f.code == "freepbx-managed"]
    assert note.severity == Severity.INFO
    assert tuple(sorted(str(e.file) for e in note.evidence)) == layout.generated
    assert not [f for f in result.findings if f.severity > Severity.INFO]
    assert sorted((f.code, f.subject) for f in result.findings) == sorted(notes)


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
        assert "pjsip_custom.conf" not in after
        assert after[-1] == "pjsip_custom_post.conf"
    assert freepbx.preferred_custom_file(pjsip, "pjsip.conf", docs) == "pjsip_custom_post.conf"
    assert freepbx.preferred_custom_file(system.loaded["rtp.conf"], "rtp_additional.conf",
                                         docs) == "rtp_custom.conf"
    assert freepbx.preferred_custom_file(system.loaded["extensions.conf"],
                                         "extensions_additional.conf", docs) == \
        "extensions_custom.conf"
    if "manager_additional.conf" in docs:
        assert freepbx.preferred_custom_file(system.loaded["manager.conf"],
                                             "manager_additional.conf", docs) == \
            "manager_custom.conf"
    managed = next(f for f in config_findings(system) if f.code == "freepbx-managed")
    named = managed.fix.split(": ", 1)[1].split(";")[0].split(", ")
    included = {name for conf in system.loaded.values() for name in conf.files}
    assert set(named) <= included  # never a file nothing includes
    assert not [n for n in named if n.endswith("_custom.conf") and n.startswith("pjsip")]
    assert not [n for n in named if freepbx.is_generated(docs[n])]


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
    ("context=from-pstn\ncontext =from-bob\n", "spaces around '='"),
    ("context=from-pstn\n\ncontext=from-bob\n", "an option outside any section"),
    ("context=from-pstn\n[bob-extra]\ntype=aor\n", "a section not preceded by a blank"),
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


def test_a_generated_file_saved_by_an_editor_with_crlf_is_warned(etc: Path) -> None:
    path = etc / "pjsip.identify.conf"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert hand_edited(etc) == ["pjsip.identify.conf"]


@pytest.mark.parametrize("variant", [
    # WriteConfig writes `key = value` for an array value, even one of a single element
    ("pjsip.transports.conf", b"tos=cs3\n", b"tos = cs3\n"),
    # a database value with spaces around it is written as it is
    ("pjsip.endpoint.conf", b"language=en\n", b"language= en \n"),
    ("pjsip.aor.conf", b"qualify_frequency=60\n", b"qualify_frequency=60  \n"),
    # PHP 8 no longer takes key 0 for "HEADER": the #include comes out as section [0]
    ("pjsip.identify.conf", b"\n#include pjsip.identify_custom.conf\n",
     b"\n\n[0]\n#include pjsip.identify_custom.conf\n"),
    # module hooks (addEndpoint) append key=value lines, repeated keys too
    ("pjsip.endpoint.conf", b"dtmf_mode=auto\n", b"dtmf_mode=auto\nset_var=A=1\nset_var=B=2\n"),
])
def test_what_writeconfig_can_write_is_not_a_hand_edit(etc: Path,
                                                       variant: tuple[str, bytes, bytes]) -> None:
    name, old, new = variant
    path = etc / name
    stat = path.stat()
    assert old in path.read_bytes()
    path.write_bytes(path.read_bytes().replace(old, new, 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert hand_edited(etc) == []


def test_a_generated_file_written_after_the_last_apply_is_warned(etc: Path) -> None:
    old = 1_700_000_000
    for path in etc.iterdir():
        os.utime(path, (old, old))
    assert hand_edited(etc) == []
    # Other modules write their files at other moments: no evidence of a hand edit.
    for name in ("rtp_additional.conf", "extensions_additional.conf"):
        os.utime(etc / name, (old + 3600, old + 3600))
    assert hand_edited(etc) == []
    os.utime(etc / "pjsip.identify.conf", (old + 3600, old + 3600))
    found = [f for f in config_findings(load_asterisk(etc))
             if f.code == "freepbx-hand-edited"]
    assert [f.subject for f in found] == ["pjsip.identify.conf"]
    assert "3600 s after" in found[0].evidence[0].text
    # A later time alone is a hint (a restored backup or a copy touches files one by one):
    # a note, so a healthy box still checks clean; a line FreePBX cannot write is a warning.
    assert found[0].severity is Severity.INFO


def test_files_exactly_as_freepbx_writes_them_are_not_hand_edited(etc: Path) -> None:
    """Fresh copies (all mtimes now), or one Apply Config's spread of a minute: no warning."""
    assert hand_edited(etc) == []
    now = 1_700_000_000
    for index, path in enumerate(sorted(etc.iterdir())):
        os.utime(path, (now + index, now + index))
    assert hand_edited(etc) == []


def test_identify_remove_of_a_generated_match_is_refused(etc: Path, layout: Layout) -> None:
    before = {p.name: p.read_bytes() for p in etc.iterdir()}
    for trunk, match in ((layout.ip_trunk, layout.generated_match),
                         (layout.second_ip_trunk, layout.second_match)):
        with pytest.raises(OperatorError) as caught:
            plan_identify_remove(etc, trunk, parse_provider_address(match))
        text = caught.value.render()
        assert f"Connectivity → Trunks → {trunk} → pjsip Settings" in text, text
        assert "Match (Permit)" in text
        assert "Apply Config" in text
        assert "firewall" in text  # what can be done safely now
        assert "pjsip.identify.conf" in text
    assert {p.name: p.read_bytes() for p in etc.iterdir()} == before


def test_extension_match_names_the_extension_page() -> None:
    with pytest.raises(OperatorError) as caught:
        plan_identify_remove(FREEPBX16.path, "2039", parse_provider_address("192.0.2.39"))
    assert "Applications → Extensions → 2039" in caught.value.render()
    assert "Trunks" not in caught.value.render()


def test_identify_added_on_freepbx_goes_after_and_can_be_removed_again(etc: Path,
                                                                        layout: Layout) -> None:
    plan = plan_identify_add(etc, layout.ip_trunk, parse_provider_address("203.0.113.44"))
    [change] = plan.changeset.changes
    assert change.path.name in freepbx.custom_files_after(
        load_asterisk(etc).loaded["pjsip.conf"], "pjsip.identify.conf",
        {d.name: d for d in load_asterisk(etc).documents.by_path.values()})
    assert f"[{layout.ip_trunk}](+type=identify)" in change.after.decode()
    assert any("GUI will not show" in note for note in plan.changeset.notes)
    change.path.write_bytes(change.after)
    system = load_asterisk(etc)
    assert "203.0.113.44/32" in [m.network_text() for i in system.pjsip.identifies_for(
        layout.ip_trunk) for m, _o in system.pjsip.matches(i)]
    removal = plan_identify_remove(etc, layout.ip_trunk, parse_provider_address("203.0.113.44"))
    assert [c.path.name for c in removal.changeset.changes] == [change.path.name]


def test_config_set_on_a_generated_endpoint_goes_to_its_custom_post(etc: Path,
                                                                    layout: Layout) -> None:
    trunk = layout.ip_trunk
    changeset = plan_option_set(etc, "endpoint", trunk, "context", "from-telco")
    [change] = changeset.changes
    assert change.path.name == "pjsip.endpoint_custom_post.conf"
    assert f"[{trunk}](+type=endpoint)\ncontext=from-telco" in change.after.decode()
    assert change.after.decode().count(f"[{trunk}]") == 1
    if not layout.custom_context:
        assert any("GUI will not show" in note for note in changeset.notes)
    change.path.write_bytes(change.after)
    endpoint = load_asterisk(etc).pjsip.get("endpoint", trunk)
    assert endpoint is not None
    assert endpoint.value("context") == "from-telco"
    # A second change edits our own line there, not FreePBX's.
    again = plan_option_set(etc, "endpoint", trunk, "context", "from-other")
    assert [c.path.name for c in again.changes] == ["pjsip.endpoint_custom_post.conf"]
    assert "context=from-other" in again.changes[0].after.decode()
    assert "from-telco" not in again.changes[0].after.decode()


def test_config_set_allow_replaces_codecs_and_match_is_refused(etc: Path,
                                                               layout: Layout) -> None:
    trunk = layout.second_ip_trunk
    changeset = plan_option_set(etc, "endpoint", trunk, "allow", "g722")
    assert "disallow=all\nallow=g722" in changeset.changes[0].after.decode()
    with pytest.raises(OperatorError) as caught:
        plan_option_set(etc, "identify", trunk, "match", "198.51.100.30")
    assert f"Connectivity → Trunks → {trunk}" in (caught.value.fix or "")


def test_trunk_add_on_freepbx_uses_custom_files_read_after_freepbx(etc: Path,
                                                                    layout: Layout) -> None:
    spec = TrunkSpec(name="newtel", provider_ips=[parse_provider_address("198.51.100.40")],
                     dids=["15557770001"], route_to="from-pstn")
    changeset = plan_trunk_add(etc, spec)
    assert sorted(c.path.name for c in changeset.changes) == \
        ["extensions_custom.conf", "pjsip_custom_post.conf"]
    assert any("GUI will not show" in note for note in changeset.notes)
    assert not [c for c in changeset.changes if c.path.name in layout.generated]
    for change in changeset.changes:
        change.path.write_bytes(change.after)
    system = load_asterisk(etc)
    assert system.pjsip.get("endpoint", "newtel") is not None
    assert [f for f in config_findings(system) if f.code == "freepbx-hand-edited"] == []


def test_without_pjsip_custom_post_the_next_file_read_after_is_used(etc: Path,
                                                                    layout: Layout) -> None:
    """A box whose pjsip.conf lost `#include pjsip_custom_post.conf`: identify add takes
    the custom file read after the identify sections; trunk add refuses, nothing written."""
    pjsip = etc / "pjsip.conf"
    pjsip.write_text(pjsip.read_text().replace("#include pjsip_custom_post.conf\n", ""))
    plan = plan_identify_add(etc, layout.reg_trunk, parse_provider_address("192.0.2.99"))
    assert [c.path.name for c in plan.changeset.changes] == ["pjsip.identify_custom_post.conf"]
    spec = TrunkSpec(name="newtel", provider_ips=[parse_provider_address("198.51.100.40")],
                     dids=["15557770001"], route_to="from-pstn")
    with pytest.raises(OperatorError) as caught:
        plan_trunk_add(etc, spec)
    assert "does not #include pjsip_custom_post.conf" in caught.value.render()


def test_a_custom_file_is_never_taken_for_a_generated_one(etc: Path) -> None:
    """An operator who pasted FreePBX's banner into a custom file: still theirs."""
    banner = (etc / "pjsip.endpoint.conf").read_text().split("#include")[0]
    path = etc / "pjsip.endpoint_custom_post.conf"
    path.write_text(banner + path.read_text())
    system = load_asterisk(etc)
    docs = {d.name: d for d in system.documents.by_path.values()}
    assert freepbx.is_generated(docs["pjsip.endpoint.conf"])
    assert not freepbx.is_generated(docs["pjsip.endpoint_custom_post.conf"])
    assert freepbx.preferred_custom_file(system.loaded["pjsip.conf"], "pjsip.endpoint.conf",
                                         docs) == "pjsip.endpoint_custom_post.conf"


@pytest.mark.parametrize("banner", [
    "; Do NOT edit this file as it is auto-generated by FreePBX.\n",
    ";  WARNING: do not edit this file by hand, FreePBX rewrites it\n",
    "; This file is managed by FreePBX\n",
])
def test_freepbx_banners_in_their_wordings(tmp_path: Path, banner: str) -> None:
    from trunkconsole.conf.document import ConfigFile

    doc = ConfigFile.from_bytes((banner + "[general]\nenabled=yes\n").encode(), "x.conf", None)
    assert freepbx.is_generated(doc)
    plain = ConfigFile.from_bytes(b"; FreePBX box, edited by hand\n[general]\n", "x.conf", None)
    assert not freepbx.is_generated(plain)


def test_config_set_on_an_extension_and_on_a_custom_peer(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    shutil.copytree(FREEPBX16.path, etc)
    changeset = plan_option_set(etc, "endpoint", "2001", "direct_media", "yes")
    assert [c.path.name for c in changeset.changes] == ["pjsip.endpoint_custom_post.conf"]
    assert any("Applications → Extensions → 2001" in note for note in changeset.notes)
    # a peer the operator keeps in pjsip_custom.conf: edited where it is, and still the note
    changeset = plan_option_set(etc, "endpoint", "legacy-pbx", "context", "from-pstn")
    [change] = changeset.changes
    assert change.path.name == "pjsip_custom.conf"
    assert "context=from-pstn" in change.after.decode()
    assert "context=from-internal" not in change.after.decode()
    assert any("GUI will not show it" in note for note in changeset.notes)


def writeconfig(header: list[str], sections: list[tuple[str, list[str]]],
                rng: random.Random) -> str:
    """WriteConfig::writeFile() as FreePBX's framework has it, fed the items in every form a
    module may hand it: `key=value` strings, keyed values, arrays (`key = value` per
    element), database values with spaces, the header as HEADER or (PHP 8) section [0]."""
    out = "".join(line + "\n" for line in freepbx.BMO_BANNER)
    body = "\n"
    if header and rng.random() < 0.3:
        body += "[0]\n" + "".join(line + "\n" for line in header) + "\n"
    elif header:
        out += "\n".join(header) + "\n"
    for title, lines in sections:
        body += f"[{title}]\n"
        index = 0
        while index < len(lines):
            key, eq, value = lines[index].partition("=")
            run = [lines[index]]
            while index + len(run) < len(lines) and \
                    lines[index + len(run)].partition("=")[0] == key:
                run.append(lines[index + len(run)])
            index += len(run)
            form = rng.random()
            if not eq or key.startswith("#"):
                body += "".join(line + "\n" for line in run)
            elif len(run) > 1 or form < 0.2:  # an array: every element `key = value`
                body += "".join(f"{key} = {line.partition('=')[2]}\n" for line in run)
            elif form < 0.3:  # a database value with a space around it
                body += f"{key}={rng.choice([' ', ''])}{value}{rng.choice([' ', '  ', ''])}\n"
            else:
                body += f"{key}={value}\n"
        body += "\n"
    return out + body


def parse_generated(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    lines = text.splitlines()[len(freepbx.BMO_BANNER):]
    header: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("["):
            sections.append((line[1:line.index("]")], []))
        elif line and sections:
            sections[-1][1].append(line)
        elif line:
            header.append(line)
    return header, sections


@pytest.mark.parametrize("seed", range(8))
def test_any_writeconfig_output_is_clean_and_any_hand_edit_is_seen(etc: Path,
                                                                   seed: int) -> None:
    rng = random.Random(seed)
    stamp = 1_700_000_000
    for name in freepbx.ARRAY_WRITTEN:
        path = etc / name
        if path.exists():
            header, sections = parse_generated(path.read_text())
            path.write_text(writeconfig(header, sections, rng))
    for path in etc.iterdir():
        os.utime(path, (stamp, stamp))
    assert hand_edited(etc) == [], seed
    # Now an operator's edit in one of them, in a spot and a shape FreePBX never writes.
    name = rng.choice(sorted(n for n in freepbx.ARRAY_WRITTEN if (etc / n).exists()))
    path = etc / name
    lines = path.read_text().splitlines(keepends=True)
    options = [i for i, line in enumerate(lines)
               if i >= len(freepbx.BMO_BANNER) and "=" in line and not line.startswith("#")]
    at = rng.choice(options) + 1
    edit = rng.choice(["; changed by hand\n", "  qualify_frequency=30\n",
                       "\nqualify_frequency=30\n", "context =from-bob\n"])
    path.write_text("".join(lines[:at]) + edit + "".join(lines[at:]))
    os.utime(path, (stamp, stamp))
    assert hand_edited(etc) == [name], (seed, name, edit)
