"""Issue 11, secrets and files: what we write, where, and who may plant something there.

Real files, real modes and owners (root, and `nobody` through setpriv), real processes
(/proc/PID/environ of the logger guard), the real CLI in subprocesses.
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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from trunkconsole.changes.apply import Applier
from trunkconsole.changes.audit import append_audit
from trunkconsole.changes.logger_guard import start_guard
from trunkconsole.changes.option import plan_option_set
from trunkconsole.errors import OperatorError
from trunkconsole.masking import mask_secrets
from trunkconsole.settings import SECRET_ENV, AmiTarget, Secret, save_setting

ROOT = Path(__file__).resolve().parents[2]
AUTH_CONF = (
    "[carrier]\ntype=endpoint\noutbound_auth=carrier-auth\naors=carrier\n"
    "[carrier]\ntype=aor\ncontact=sip:203.0.113.10\n"
    "[carrier-auth]\ntype=auth\nauth_type=userpass\nusername=pbx\n"
    "password = old\\;secret ; rotated in May\n"
)


def cli(*args: str, env: dict[str, str] | None = None,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trunkconsole", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def auth_dir(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text(AUTH_CONF)
    return etc


def test_mask_runs_past_an_escaped_semicolon() -> None:
    diff = ("-password = old\\;secret ; rotated\n+password=n3w\\;pa\\;ss\n"
            " secret => abc\\;def\n+md5_cred += ff\\;00\n username=pbx\n")
    masked = mask_secrets(diff)
    for fragment in ("old", "secret ;", "n3w", "pa", "ss", "abc", "def", "ff", "00"):
        assert fragment not in masked.replace("password", "").replace("secret =>", ""), masked
    assert "; rotated" in masked  # the comment after the value stays
    assert "username=pbx" in masked


async def test_audit_never_holds_a_new_password(auth_dir: Path, tmp_path: Path) -> None:
    """`config set auth NAME password NEW`: title, diff and steps of the audit are masked."""
    changeset = plan_option_set(auth_dir, "auth", "carrier-auth", "password", "Tr0ub4dor&3")
    changeset.reloads = []  # no Asterisk here: the lab tests cover reloads
    assert changeset.verify is None  # our AMI client drops the password header
    result = await Applier(None, tmp_path / "state").apply(changeset)
    assert result.applied, result.summary()
    assert b"password = Tr0ub4dor&3" in (auth_dir / "pjsip.conf").read_bytes()
    log = (tmp_path / "state" / "audit.log").read_text()
    assert "Tr0ub4dor" not in log
    assert "old\\\\;secret" not in log
    assert "secret ;" not in log
    record = json.loads(log)
    assert record["change"] == "set password = ******** on auth carrier-auth"
    assert "+password = ********" in record["diff"]
    assert oct((tmp_path / "state" / "audit.log").stat().st_mode & 0o777) == oct(0o600)


def test_cli_review_masks_the_new_password(auth_dir: Path) -> None:
    out = cli("config", "set", "auth", "carrier-auth", "password", "Tr0ub4dor&3",
              "--dry-run", "--config-dir", str(auth_dir))
    assert out.returncode == 0, out.stderr
    assert "Tr0ub4dor" not in out.stdout + out.stderr
    assert "+password = ********" in out.stdout


def test_config_yaml_keeps_mode_and_comments(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conf" / "config.yaml"
    path.parent.mkdir()
    text = ("# trunkconsole settings (holds the AMI secret)\nami:\n  host: 127.0.0.1  # local\n"
            "  secret: hunter2\ntheme: trunk-dark   # picked in the console\n\n"
            "# keys\nkeymap:\n  add-identify: ctrl+a\n")
    path.write_text(text)
    path.chmod(0o600)
    monkeypatch.setenv("TRUNKCONSOLE_CONFIG", str(path))
    save_setting("theme", "trunk-light")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    new = path.read_text()
    assert new == text.replace("theme: trunk-dark   # picked in the console\n",
                               "theme: trunk-light\n")
    save_setting("readonly", True)
    assert path.read_text().endswith("add-identify: ctrl+a\nreadonly: true\n")
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]


def test_symlinked_config_yaml_stays_a_link(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "trunkconsole.yaml"
    real.write_text("theme: trunk-dark\n")
    real.chmod(0o640)
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    monkeypatch.setenv("TRUNKCONSOLE_CONFIG", str(link))
    save_setting("theme", "trunk-light")
    assert link.is_symlink()
    assert real.read_text() == "theme: trunk-light\n"
    assert oct(real.stat().st_mode & 0o777) == oct(0o640)


def test_logger_guard_does_not_inherit_the_secret(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard process for real: its /proc/PID/environ holds no TRUNKCONSOLE_AMI_SECRET."""
    monkeypatch.setenv(SECRET_ENV, "s3cr3t-in-env")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    state = tmp_path / "logger.json"
    state.write_text(json.dumps({"session": "abc", "until": time.time() + 60}))
    pid = start_guard(AmiTarget(secret=Secret("s3cr3t-in-env")), state, "abc", None)
    try:
        # Read it once the guard has exec'd: between fork and exec /proc/PID/environ can
        # read empty (a busy machine stretches that window).
        deadline = time.monotonic() + 10
        environ = b""
        while not environ and time.monotonic() < deadline:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            if not environ:
                time.sleep(0.05)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert environ, f"the guard ended early: {os.waitpid(pid, os.WNOHANG)}"
        assert b"PYTHONPATH=" in environ  # the environment was read, and it is the guard's
        assert SECRET_ENV.encode() not in environ
        assert b"s3cr3t-in-env" not in environ + cmdline
    finally:
        state.unlink()  # the guard ends when its state is gone
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)


def test_non_utf8_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    secret = tmp_path / "ami.secret"
    secret.write_bytes(b"p\xe4ss\xffword\n")
    secret.chmod(0o600)
    out = cli("status", "--secret-file", str(secret), "--timeout", "2")
    assert out.returncode == 3
    assert "is not UTF-8 text" in out.stderr
    assert "Traceback" not in out.stderr
    assert "ss" not in out.stderr.replace("--secret-file", "")


def test_world_readable_secret_file_warns(tmp_path: Path) -> None:
    secret = tmp_path / "ami.secret"
    secret.write_text("hunter2\n")
    for mode, warned in ((0o644, True), (0o640, False), (0o600, False)):
        secret.chmod(mode)
        # Nothing listens on this port: the command fails after reading the file.
        out = cli("status", "--secret-file", str(secret), "--port", "9", "--timeout", "2")
        assert ("is readable by every user" in out.stderr) is warned, out.stderr
        assert "hunter2" not in out.stderr + out.stdout


async def test_panoramisk_never_logs_an_unsendable_secret(
        caplog: pytest.LogCaptureFixture) -> None:
    """panoramisk's own send() logs the whole Login (secret included) when encoding fails;
    ours sends UTF-8 with the bytes as read, and the filter withholds action text.

    Async so send() finds the running loop: in a full run an earlier test may have left
    no current event loop in the main thread."""
    import logging

    from trunkconsole.ami import protocol

    logging.getLogger("panoramisk.ami_protocol").error(
        "Fail to send %r", "Action: Login\r\nSecret: p\udce4ss\r\n")
    assert "p\udce4ss" not in caplog.text
    assert "withheld" in caplog.text
    sent: list[bytes] = []

    class Transport:
        def write(self, data: bytes) -> None:
            sent.append(data)

    proto = protocol.TrunkAmiProtocol.__new__(protocol.TrunkAmiProtocol)
    proto.responses = {}
    proto.transport = Transport()
    future = proto.send({"Action": "Login", "Username": "tc", "Secret": "p\udce4ss\u00e9"})
    assert b"Secret: p\xe4ss\xc3\xa9\r\n" in sent[0]  # the file's bytes, as read
    assert not future.done()


def test_state_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A --state-dir another user owns, with audit.log planted as a symlink: refused."""
    if os.geteuid() != 0:
        skip_or_fail("chown to nobody needs root")
    state = tmp_path / "shared-state"
    state.mkdir(mode=0o755)
    victim = tmp_path / "shadow"
    victim.write_text("root:x:0:\n")
    (state / "audit.log").symlink_to(victim)
    os.chown(state, 65534, 65534)
    with pytest.raises(OperatorError, match="belongs to another user"):
        append_audit(state, {"change": "x"})
    assert victim.read_text() == "root:x:0:\n"


def test_planted_symlink_in_own_state_dir_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (state / "audit.log").symlink_to(victim)
    with pytest.raises(OperatorError, match="is a symlink"):
        append_audit(state, {"change": "x"})
    assert victim.read_text() == "keep\n"


def test_group_writable_state_dir_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    with pytest.raises(OperatorError, match="writable by others"):
        append_audit(state, {"change": "x"})
    assert not (state / "audit.log").exists()


RUNTIME = textwrap.dedent("""
    from trunkconsole.changes.sip_logger import state_file_for
    from trunkconsole.errors import OperatorError
    try:
        print("FILE", state_file_for("127.0.0.1:5038"))
    except OperatorError as exc:
        print("REFUSED", exc.what)
""")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Path]:
    """A directory under /tmp every user may traverse (pytest's tmp_path is root's 0700)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip_or_fail("needs root and setpriv to run as nobody")
    base = Path(tempfile.mkdtemp(prefix="tc-hard-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base)


def _as_nobody(tmpdir: Path) -> subprocess.CompletedProcess[str]:
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if python is None:
        skip_or_fail("no system python3 that nobody can run")
        raise AssertionError("unreachable")
    pkg = tmpdir.parent / "pkg"
    if not pkg.exists():
        shutil.copytree(ROOT / "trunkconsole", pkg / "trunkconsole",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for path in [pkg, *pkg.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(pkg), "TMPDIR": str(tmpdir),
           "HOME": str(tmpdir), "PYTHONDONTWRITEBYTECODE": "1"}  # no XDG_RUNTIME_DIR
    return subprocess.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup",
                           "--clear-groups", python, "-c", RUNTIME], capture_output=True,
                          text=True, env=env, timeout=60, cwd="/")


def test_runtime_dir_without_xdg_is_private(world: Path) -> None:
    """As nobody without XDG_RUNTIME_DIR: $TMPDIR/trunkconsole-65534, 0700, nobody's."""
    tmpdir = world / "tmp"
    tmpdir.mkdir()
    tmpdir.chmod(0o1777)
    out = _as_nobody(tmpdir)
    assert out.returncode == 0, out.stderr
    private = tmpdir / "trunkconsole-65534"
    netns = os.stat("/proc/thread-self/ns/net").st_ino  # state files are per namespace
    assert out.stdout.strip() == f"FILE {private}/sip-logger-{netns}-127.0.0.1_5038.json"
    info = private.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (65534, 0o700)


@pytest.mark.parametrize("planted", ["foreign-dir", "symlink"])
def test_runtime_dir_planted_by_another_user_is_refused(world: Path, planted: str) -> None:
    """Another user (root here) made trunkconsole-65534 first, or linked it elsewhere."""
    tmpdir = world / "tmp"
    tmpdir.mkdir()
    tmpdir.chmod(0o1777)
    trap = world / "trap"
    trap.mkdir(mode=0o777)
    trap.chmod(0o777)
    if planted == "foreign-dir":
        (tmpdir / "trunkconsole-65534").mkdir(mode=0o777)
        (tmpdir / "trunkconsole-65534").chmod(0o777)
    else:
        (tmpdir / "trunkconsole-65534").symlink_to(trap)
    out = _as_nobody(tmpdir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("REFUSED"), out.stdout
    assert list(trap.iterdir()) == []


def test_config_show_masks_secrets_and_outside_includes(auth_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.conf"
    outside.write_text("[carrier]\ntype=endpoint\ncontext=from-outside-tree\n")
    with (auth_dir / "pjsip.conf").open("a") as handle:
        handle.write(f"#include {outside}\n#include /proc/self/environ\n")
    canary = {"TC_CANARY": "canary-do-not-print-42"}
    plain = cli("config", "show", "--config-dir", str(auth_dir), env=canary)
    assert plain.returncode == 0, plain.stderr
    assert "password = ********" in plain.stdout
    assert "old" not in plain.stdout
    assert "from-outside-tree" not in plain.stdout
    assert f"(from {outside}, outside the config directory" in plain.stdout
    as_json = cli("config", "show", "--json", "--config-dir", str(auth_dir), env=canary)
    data = json.loads(as_json.stdout)
    auth = next(o for o in data["objects"] if o["type"] == "auth")
    assert auth["options"]["password"][0]["value"] == "********"
    shown = cli("config", "show", "--show-secrets", "--config-dir", str(auth_dir), env=canary)
    assert "password = old;secret" in shown.stdout
    assert "from-outside-tree" in shown.stdout
    check = cli("check", "--no-live", "--no-network", "--config-dir", str(auth_dir), env=canary)
    for out in (plain, as_json, shown, check):
        assert "canary-do-not-print-42" not in out.stdout + out.stderr
        assert "Traceback" not in out.stderr
    assert "kernel file" in check.stdout + check.stderr


def test_interrupt_during_secret_prompt_does_not_leak(tmp_path: Path) -> None:
    """The audit of a refused attempt (file changed on disk) names no secret either."""
    conf = tmp_path / "pjsip.conf"
    conf.write_text(AUTH_CONF)
    changeset = plan_option_set(tmp_path, "auth", "carrier-auth", "password", "n3w-secret")
    changeset.reloads = []
    conf.write_text(AUTH_CONF + "; edited\n")
    with pytest.raises(OperatorError, match="changed on disk"):
        asyncio.run(Applier(None, tmp_path / "state").apply(changeset))
    log = (tmp_path / "state" / "audit.log").read_text()
    assert "n3w-secret" not in log
    assert "changed on disk" in json.loads(log)["result"]
