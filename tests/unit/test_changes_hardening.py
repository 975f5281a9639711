"""Issue 11, changes: every failure path on real files and real permissions.

No Asterisk here (the lab tests cover reloads and a silent AMI); the unprivileged cases run
for real as `nobody` through setpriv, with the system python3 and a world-readable copy of
the package (the change engine needs only the standard library).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import trunkconsole
from tests.conftest import skip_or_fail
from trunkconsole.changes.apply import Applier, Step
from trunkconsole.changes.changeset import ChangeSet, FileChange, Verdict
from trunkconsole.changes.files import snapshot
from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.edit import add_setting, set_value
from trunkconsole.conf.lines import Kind
from trunkconsole.errors import OperatorError

ORIGINAL = b"[carrier]\ntype=identify\nendpoint=carrier\nmatch=203.0.113.10\n"
EDITED = ORIGINAL + b"match=203.0.113.12\n"
ROOT = Path(__file__).resolve().parents[2]


def change(path: Path, content: bytes) -> ChangeSet:
    changeset = ChangeSet("add provider IP")
    changeset.add(path, content)
    return changeset


def audit(state: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (state / "audit.log").read_text().splitlines()]


async def test_verifier_that_raises_rolls_back_and_audits(tmp_path: Path) -> None:
    """Fault injected: a verifier raising, as AmiConnection.action does when AMI refuses
    an action field or the connection drops (the lab test stops a real AMI)."""
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    changeset = change(conf, EDITED)

    async def verify(_ami: object) -> Verdict:
        raise OperatorError("refused to send AMI field Endpoint: it contains a control "
                            "character")

    changeset.verify = verify
    result = await Applier(object(), tmp_path / "state").apply(changeset)  # type: ignore[arg-type]
    assert result.rolled_back
    assert not result.applied
    assert conf.read_bytes() == ORIGINAL
    assert "refused to send AMI field Endpoint" in result.reason
    [record] = audit(tmp_path / "state")
    assert str(record["result"]).startswith("rolled back: verification failed")


async def test_verifier_that_hangs_is_bounded(tmp_path: Path) -> None:
    """Fault injected: a verifier that never answers (the lab test blocks the real AMI)."""
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    changeset = change(conf, EDITED)

    async def verify(_ami: object) -> Verdict:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    changeset.verify = verify
    app = Applier(object(), tmp_path / "state", step_timeout=0.5)  # type: ignore[arg-type]
    result = await asyncio.wait_for(app.apply(changeset), 10)
    assert result.rolled_back
    assert "did not answer within" in result.reason
    assert conf.read_bytes() == ORIGINAL
    assert len(audit(tmp_path / "state")) == 1


async def test_interrupted_apply_is_rolled_back_and_audited(tmp_path: Path) -> None:
    """A cancelled task (Ctrl-C under asyncio.run) during verification: undo, audit, stop."""
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    changeset = change(conf, EDITED)
    started = asyncio.Event()

    async def verify(_ami: object) -> Verdict:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    changeset.verify = verify
    task = asyncio.create_task(
        Applier(object(), tmp_path / "state").apply(changeset))  # type: ignore[arg-type]
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert conf.read_bytes() == ORIGINAL
    [record] = audit(tmp_path / "state")
    assert "interrupted" in str(record["result"])


async def test_dead_man_rollback_keeps_a_colleagues_edit(tmp_path: Path) -> None:
    """A line appended during the confirmation window: no rollback, and the report says so."""
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    colleague = b"; added by a colleague during the window\n"

    async def confirm() -> bool:
        with conf.open("ab") as handle:
            handle.write(colleague)
        await asyncio.Event().wait()
        return True

    result = await Applier(None, tmp_path / "state").apply(
        change(conf, EDITED), confirm=confirm, confirm_within=0.3)
    assert conf.read_bytes() == EDITED + colleague  # nothing destroyed
    assert not result.rolled_back
    assert not result.applied
    assert "NOT rolled back" in result.summary()
    assert "changed on disk after trunkconsole wrote it" in result.summary()
    assert not any("byte for byte" in p.detail for p in result.progress)
    assert (Step.ROLLBACK, False) in [(p.step, p.ok) for p in result.progress]
    [record] = audit(tmp_path / "state")
    assert "NOT rolled back" in str(record["result"])


async def test_dead_man_rollback_of_untouched_file_is_byte_for_byte(tmp_path: Path) -> None:
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)

    async def confirm() -> bool:
        return False

    result = await Applier(None, tmp_path / "state").apply(
        change(conf, EDITED), confirm=confirm, confirm_within=5)
    assert result.rolled_back
    assert conf.read_bytes() == ORIGINAL
    assert any(p.detail == "original files restored byte for byte" for p in result.progress)


async def test_symlinked_config_is_written_through(tmp_path: Path) -> None:
    """pjsip.conf -> ../shared/pjsip.conf (config management often does this)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "pjsip.conf"
    target.write_bytes(ORIGINAL)
    target.chmod(0o640)
    etc = tmp_path / "etc"
    etc.mkdir()
    link = etc / "pjsip.conf"
    link.symlink_to("../shared/pjsip.conf")
    result = await Applier(None, tmp_path / "state").apply(change(link, EDITED))
    assert result.applied, result.summary()
    assert link.is_symlink()
    assert os.readlink(link) == "../shared/pjsip.conf"
    assert target.read_bytes() == EDITED
    assert oct(target.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in etc.iterdir()) == ["pjsip.conf"]
    assert sorted(p.name for p in shared.iterdir()) == ["pjsip.conf"]


async def test_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "pjsip.conf"
    link.symlink_to(tmp_path / "missing.conf")
    with pytest.raises(OperatorError, match="symlink to a missing file"):
        change(link, EDITED)
    assert not (tmp_path / "missing.conf").exists()


async def test_hard_linked_config_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    os.link(conf, tmp_path / "pjsip.conf.orig")
    with pytest.raises(OperatorError, match="2 hard links"):
        await Applier(None, tmp_path / "state").apply(change(conf, EDITED))
    assert conf.read_bytes() == ORIGINAL
    [record] = audit(tmp_path / "state")
    assert "hard links" in str(record["result"])


async def test_read_only_file_refused_even_as_root(tmp_path: Path) -> None:
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    conf.chmod(0o444)
    with pytest.raises(OperatorError, match="read-only"):
        await Applier(None, tmp_path / "state").apply(change(conf, EDITED))
    assert conf.read_bytes() == ORIGINAL
    assert oct(conf.stat().st_mode & 0o777) == oct(0o444)


async def test_owner_and_mode_kept_as_root(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        skip_or_fail("chown to another user needs root")
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    os.chown(conf, 65534, 65534)
    conf.chmod(0o640)
    result = await Applier(None, tmp_path / "state").apply(change(conf, EDITED))
    assert result.applied
    info = conf.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (65534, 65534, 0o640)


@pytest.fixture
def nobody_env() -> Iterator[tuple[Path, list[str], dict[str, str]]]:
    """A world-readable copy of the package and a python3 that nobody may run."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip_or_fail("needs root and setpriv to run as nobody")
    python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3")
                   if os.access(p, os.X_OK)), None)
    if python is None:
        skip_or_fail("no system python3 that nobody can run")
        return
    work = Path(tempfile.mkdtemp(prefix="tc-nobody-"))
    shutil.copytree(Path(trunkconsole.__file__).parent, work / "trunkconsole",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path in [work, *work.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    data = work / "data"
    data.mkdir()
    os.chown(data, 65534, 65534)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(work), "HOME": str(data),
           "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", python,
           "-c"]
    try:
        yield data, cmd, env
    finally:
        shutil.rmtree(work)


NOBODY_APPLY = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from trunkconsole.changes.apply import Applier
    from trunkconsole.changes.changeset import ChangeSet
    from trunkconsole.errors import OperatorError
    conf, state = Path(sys.argv[1]), Path(sys.argv[2])
    cs = ChangeSet("add provider IP")
    cs.add(conf, conf.read_bytes() + b"match=203.0.113.12\\n")
    try:
        result = asyncio.run(Applier(None, state).apply(cs))
        print("RESULT", result.summary())
    except OperatorError as exc:
        print("REFUSED", exc.what)
""")


@pytest.mark.parametrize(("owner", "mode", "expected"), [
    ("nobody", 0o444, "REFUSED .* is read-only"),
    ("root", 0o666, "REFUSED .* belongs to root"),
    ("nobody", 0o644, "RESULT applied; not verified live"),
])
def test_unprivileged_user_respects_the_file(nobody_env: tuple[Path, list[str], dict[str, str]],
                                             owner: str, mode: int, expected: str) -> None:
    """As nobody, in a directory nobody may write: a 0444 file is not replaced, a root-owned
    file is not taken over; nobody's own 0644 file is edited and keeps its mode."""
    import re

    data, cmd, env = nobody_env
    conf = data / "pjsip.conf"
    conf.write_bytes(ORIGINAL)
    os.chown(conf, 0 if owner == "root" else 65534, 0 if owner == "root" else 65534)
    conf.chmod(mode)
    out = subprocess.run([*cmd, NOBODY_APPLY, str(conf), str(data / "state")],
                         capture_output=True, text=True, env=env, timeout=60, cwd=data)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert re.search(expected, out.stdout), out.stdout
    info = conf.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (0 if owner == "root" else 65534, mode)
    if expected.startswith("REFUSED"):
        assert conf.read_bytes() == ORIGINAL
    else:
        assert conf.read_bytes() == EDITED


# -- values ---------------------------------------------------------------------------
CONFIG_DIR = ROOT / "sample-configs" / "check-clean"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trunkconsole", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "etc"
    shutil.copytree(CONFIG_DIR, target)
    return target


@pytest.mark.parametrize("value", [
    "x\n", "x\x0b", "x\r", "a\u2028b", "a\x85b", "a\u2029b", "a\x1bb", "a\u202eb",
    "a;b", "x" * 1025,
])
def test_bad_values_are_refused_cleanly(config_copy: Path, value: str) -> None:
    before = {p: p.read_bytes() for p in config_copy.iterdir()}
    out = cli("config", "set", "endpoint", "provider-a", "from_user", value, "--dry-run",
              "--config-dir", str(config_copy))
    assert out.returncode == 3, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("trunkconsole: ")
    assert {p: p.read_bytes() for p in config_copy.iterdir()} == before


def test_value_starting_with_gt_reads_back_as_typed(config_copy: Path) -> None:
    """`from_user=>x` would be read as from_user => x (value "x"): a blank goes first."""
    doc = ConfigFile.from_bytes(b"[a]\ntype=endpoint\nfrom_user=old\n[b]\ntype=aor\n")
    set_value(doc, 2, ">x")
    add_setting(doc, 3, "contact", ">y")
    reread = ConfigFile.from_bytes(doc.render())
    settings = [(line.name, line.op, line.value) for line in reread.lines
                if line.kind == Kind.SETTING]
    assert ("from_user", "=", ">x") in settings
    assert ("contact", "=", ">y") in settings
    out = cli("config", "set", "endpoint", "provider-a", "from_user", ">15551230000",
              "--dry-run", "--config-dir", str(config_copy))
    assert out.returncode == 0, out.stderr
    assert "from_user = >15551230000" in out.stdout or "from_user= >15551230000" in out.stdout


def test_diff_matches_the_bytes_written(tmp_path: Path) -> None:
    """U+2028, U+0085, \\x0b and \\x0c in a file: the reviewed diff, applied by patch(1),
    gives exactly the bytes that will be written."""
    before = ("[a]\n; note\u2028with a separator\x85and more\x0bvt\x0cff\n"
              "type=endpoint\n").encode()
    conf = tmp_path / "pjsip.conf"
    conf.write_bytes(before)
    doc = ConfigFile.from_bytes(before)
    add_setting(doc, 0, "context", "from-carrier")
    after = doc.render()
    diff = FileChange(snapshot(conf), after).diff()
    patch_file = tmp_path / "change.diff"
    patch_file.write_text(diff, encoding="utf-8", errors="surrogateescape")
    subprocess.run(["patch", "-s", str(conf), str(patch_file)], check=True, timeout=30)
    assert conf.read_bytes() == after
    added = [line for line in diff.split("\n") if line.startswith("+")
             and not line.startswith("+++")]
    assert added == ["+context=from-carrier"]  # one added line, nothing split


@pytest.mark.parametrize(("args", "code", "message"), [
    (("identify", "provider-a", "match", "0.0.0.0/0"), 3, "covers 4294967296 addresses"),
    (("identify", "provider-a", "match", "203.0.113.10,10.0.0.0/8"), 3, "covers 16777216"),
    (("identify", "provider-a", "match", "::/0"), 3, "covers"),
    (("identify", "provider-a", "match", "203.0.113.0/24,"), 3, "empty entry"),
    (("endpoint", "provider-a", "permit", "0.0.0.0/0.0.0.0"), 3, "covers 4294967296"),
    (("endpoint", "provider-a", "contact_permit", "0.0.0.0/1"), 3, "covers"),
    (("endpoint", "provider-a", "permit", "pbx.example.com"), 3, "not an address or network"),
    (("endpoint", "provider-a", "deny", "0.0.0.0/0.0.0.0"), 0, "+deny"),
    (("identify", "provider-a", "match", "203.0.113.0/24,198.51.100.7"), 0, "+match"),
    (("identify", "provider-a", "match", "0.0.0.0/0", "--force"), 0, "+match"),
])
def test_every_match_path_has_the_range_guard(config_copy: Path, args: tuple[str, ...],
                                              code: int, message: str) -> None:
    out = cli("config", "set", *args, "--dry-run", "--config-dir", str(config_copy))
    assert out.returncode == code, out.stdout + out.stderr
    assert message in (out.stdout if code == 0 else out.stderr)
    assert "Traceback" not in out.stderr


def test_trunk_add_refuses_a_trailing_newline(config_copy: Path) -> None:
    for flag, value in (("--did", "15551230001\n"), ("--from-user", "bob\n")):
        out = cli("trunk", "add", "newtrunk", "--provider-ip", "203.0.113.40", flag, value,
                  "--route-to", "from-provider-a", "--dry-run", "--config-dir",
                  str(config_copy))
        assert out.returncode == 3, out.stdout + out.stderr
        assert "Traceback" not in out.stderr
