"""The change engine on real files: atomic, backed up, audited, never half-written.

These run without Asterisk (changes that need no reload); the lab tests cover reloads.
Faults are real where the machine can produce them: a SIGKILLed process, a full tmpfs.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from trunkconsole.changes import files
from trunkconsole.changes.apply import Applier, Step
from trunkconsole.changes.changeset import ChangeSet, Verdict
from trunkconsole.errors import OperatorError
from trunkconsole.masking import mask_secrets

ORIGINAL = b"[carrier]\r\ntype=identify\r\nendpoint=carrier\r\nmatch=203.0.113.10 ; main\r\n"
EDITED = ORIGINAL + b"match=203.0.113.12\r\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    path = etc / "pjsip.conf"
    path.write_bytes(ORIGINAL)
    path.chmod(0o640)
    return path


def applier(tmp_path: Path, **kwargs: object) -> Applier:
    return Applier(None, tmp_path / "state", **kwargs)  # type: ignore[arg-type]


def change(path: Path, content: bytes) -> ChangeSet:
    changeset = ChangeSet("add provider IP")
    changeset.add(path, content)
    return changeset


async def test_apply_writes_backs_up_and_audits(tmp_path: Path, config: Path) -> None:
    if os.geteuid() == 0:
        os.chown(config, 1234, 2345)
    result = await applier(tmp_path).apply(change(config, EDITED))
    assert result.applied, result.summary()
    assert config.read_bytes() == EDITED
    info = config.stat()
    assert oct(info.st_mode & 0o777) == oct(0o640)
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (1234, 2345)
    assert result.backup_dir is not None
    [backup] = list(result.backup_dir.iterdir())
    assert backup.read_bytes() == ORIGINAL
    record = json.loads((tmp_path / "state" / "audit.log").read_text().splitlines()[-1])
    # No verifier in this ChangeSet: the result says so rather than "verified".
    assert record["result"] == "applied; not verified live (nothing to compare it with)"
    assert "+match=203.0.113.12" in record["diff"]
    assert not files.leftover_temporaries(config.parent)


async def test_external_edit_wins(tmp_path: Path, config: Path) -> None:
    changeset = change(config, EDITED)
    config.write_bytes(ORIGINAL + b"; edited by a colleague\n")
    with pytest.raises(OperatorError, match="changed on disk"):
        await applier(tmp_path).apply(changeset)
    assert config.read_bytes() == ORIGINAL + b"; edited by a colleague\n"


async def test_readonly_refuses_before_touching_anything(tmp_path: Path, config: Path) -> None:
    with pytest.raises(OperatorError, match="read-only"):
        await applier(tmp_path, readonly=True).apply(change(config, EDITED))
    assert config.read_bytes() == ORIGINAL
    assert not (tmp_path / "state").exists()


async def test_failed_verification_restores_original(tmp_path: Path, config: Path) -> None:
    changeset = change(config, EDITED)

    async def verify(_ami: object) -> Verdict:
        return Verdict(False, "match 203.0.113.12 not in IdentifyDetail")

    changeset.verify = verify
    app = Applier(object(), tmp_path / "state")  # type: ignore[arg-type]
    result = await app.apply(changeset)
    assert result.rolled_back
    assert not result.applied
    assert "203.0.113.12 not in IdentifyDetail" in result.reason
    assert config.read_bytes() == ORIGINAL
    assert any(p.step is Step.ROLLBACK and p.ok for p in result.progress)


async def test_dead_man_timeout_restores(tmp_path: Path, config: Path) -> None:
    never = asyncio.Event()

    async def confirm() -> bool:
        await never.wait()
        return True

    result = await applier(tmp_path).apply(change(config, EDITED), confirm=confirm,
                                           confirm_within=0.3)
    assert result.rolled_back
    assert result.reason.startswith("not confirmed within")
    assert config.read_bytes() == ORIGINAL


async def test_dead_man_confirmed_keeps_change(tmp_path: Path, config: Path) -> None:
    async def confirm() -> bool:
        return True

    result = await applier(tmp_path).apply(change(config, EDITED), confirm=confirm,
                                           confirm_within=5)
    assert result.applied
    assert config.read_bytes() == EDITED


async def test_new_file_rolled_back_is_removed(tmp_path: Path, config: Path) -> None:
    new = config.parent / "pjsip_custom.conf"
    changeset = ChangeSet("new trunk")
    changeset.add(new, b"[x]\ntype=aor\n")

    async def verify(_ami: object) -> Verdict:
        return Verdict(False, "endpoint x not found")

    changeset.verify = verify
    result = await Applier(object(), tmp_path / "state").apply(changeset)  # type: ignore[arg-type]
    assert result.rolled_back
    assert not new.exists()


def test_crash_between_write_and_rename_leaves_original(tmp_path: Path, config: Path) -> None:
    """A real crash: the applying process is SIGKILLed right before the rename."""
    script = textwrap.dedent(f"""
        import asyncio, os, signal
        from pathlib import Path
        from trunkconsole.changes import files
        from trunkconsole.changes.apply import Applier
        from trunkconsole.changes.changeset import ChangeSet
        files.before_rename = lambda tmp: os.kill(os.getpid(), signal.SIGKILL)
        cs = ChangeSet("crash")
        cs.add(Path({str(config)!r}), {EDITED!r})
        asyncio.run(Applier(None, Path({str(tmp_path / 'state')!r})).apply(cs))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == -9, proc.stderr
    assert config.read_bytes() == ORIGINAL
    leftovers = files.leftover_temporaries(config.parent)
    assert len(leftovers) == 1
    assert leftovers[0].read_bytes() == EDITED  # the new content never replaced the original


def test_disk_full_is_a_clean_error(tmp_path: Path) -> None:
    """A real ENOSPC: a 64 KiB tmpfs in a private mount namespace."""
    if os.geteuid() != 0:
        skip_or_fail("a tmpfs mount needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = textwrap.dedent(f"""
        import asyncio
        from pathlib import Path
        from trunkconsole.changes.apply import Applier
        from trunkconsole.changes.changeset import ChangeSet
        from trunkconsole.errors import OperatorError
        conf = Path({str(mnt)!r}) / "pjsip.conf"
        conf.write_bytes(b"x" * 40000)
        cs = ChangeSet("too big")
        cs.add(conf, b"y" * 50000)
        try:
            result = asyncio.run(Applier(None, Path({str(tmp_path / 'state')!r})).apply(cs))
            print("ERROR", result.reason, "APPLIED", result.applied)
        except OperatorError as exc:
            print("ERROR", exc.what)
        data = conf.read_bytes()
        print("INTACT", data == b"x" * 40000)
        print("TMP", sorted(p.name for p in conf.parent.iterdir()))
    """)
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount -t tmpfs -o size=64k tmpfs {mnt} && exec {sys.executable} -c \"$0\"", script],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    assert "ERROR could not write" in proc.stdout
    assert "the disk is full" in proc.stdout
    assert "APPLIED True" not in proc.stdout
    assert "INTACT True" in proc.stdout
    assert "TMP ['pjsip.conf']" in proc.stdout


async def test_random_edit_apply_cycles_never_corrupt(tmp_path: Path) -> None:
    """200 cycles of random edits, some verified OK and some rolled back."""
    rng = random.Random(1234)
    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.conf"
        p.write_bytes(b"[s]\nkey=value\n" * (i + 1))
        paths.append(p)
    app = Applier(object(), tmp_path / "state")  # type: ignore[arg-type]
    for cycle in range(200):
        before = {p: p.read_bytes() for p in paths}
        changeset = ChangeSet(f"cycle {cycle}")
        for p in rng.sample(paths, rng.randint(1, 3)):
            lines = before[p].split(b"\n")
            pos = rng.randrange(len(lines) + 1)
            lines.insert(pos, f"k{cycle}={rng.random()}".encode())
            changeset.add(p, b"\n".join(lines))
        fail = rng.random() < 0.4

        async def verify(_ami: object, fail: bool = fail) -> Verdict:
            return Verdict(not fail, "random")

        changeset.verify = verify
        result = await app.apply(changeset)
        for p in paths:
            staged = next((c.after for c in changeset.changes if c.path == p), None)
            expected = before[p] if fail or staged is None else staged
            assert p.read_bytes() == expected, f"cycle {cycle}: {p} corrupted"
        assert result.applied != fail
    assert not files.leftover_temporaries(tmp_path)


def test_secrets_masked_in_audit() -> None:
    diff = ("+password = hunter2\n-secret=abc ; old\n endpoint=x\n+md5_cred=ff00\n"
            "+password_digest = SHA-256:9f86d08\n")
    masked = mask_secrets(diff)
    assert "9f86d08" not in masked
    assert "hunter2" not in masked
    assert "abc" not in masked
    assert "ff00" not in masked
    assert "endpoint=x" in masked


async def test_an_unwritable_audit_log_refuses_before_any_write(
        tmp_path: Path, config: Path) -> None:
    """Every attempt is audited: a log that cannot be opened (here a directory where the
    file should be) refuses the change before the backup and the write."""
    (tmp_path / "state" / "audit.log").mkdir(parents=True)
    with pytest.raises(OperatorError, match=r"audit\.log"):
        await applier(tmp_path).apply(change(config, EDITED))
    assert config.read_bytes() == ORIGINAL
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["audit.log"]


async def test_an_audit_failure_after_the_write_does_not_call_a_live_change_refused(
        tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log was writable when checked and fails at the append (a disk filled in
    between): the window cannot be hit on demand, so append_audit is replaced by one that
    fails as the real one does on ENOSPC. The change is live: the result says applied and
    names the audit failure, instead of raising a refusal."""
    from trunkconsole.changes import apply as apply_module

    def full_disk(root: Path, record: dict[str, object]) -> Path:
        raise OperatorError(f"could not write the audit log {root / 'audit.log'}",
                            evidence="No space left on device")

    monkeypatch.setattr(apply_module, "append_audit", full_disk)
    result = await applier(tmp_path).apply(change(config, EDITED))
    assert result.applied
    assert config.read_bytes() == EDITED
    failed = [p.detail for p in result.progress if not p.ok]
    assert failed == [f"audit log not written: could not write the audit log "
                      f"{tmp_path / 'state' / 'audit.log'}"]
