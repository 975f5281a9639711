"""Issue 11: a change whose verification cannot happen is rolled back, against real Asterisk.

AMI goes silent for real: an nft rule in the lab's PBX namespace drops every packet to
TCP 5038 right after the reload, so the verification's PJSIPShowEndpoint gets no answer
(the way an Asterisk stuck in a long reload or a wedged manager thread looks). And the
dead-man window runs through the real CLI with a real stdin pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trunkconsole.ami.action import AmiActions
from trunkconsole.changes.apply import Applier, Step
from trunkconsole.changes.identify import live_matches, plan_identify_add
from trunkconsole.lab.lab import Lab
from trunkconsole.pjsip.addresses import parse_provider_address

from .helpers import ROOT

NEW_IP = "203.0.113.12"
BLOCK_TABLE = "tc_issue11_amiblock"


def _nft(lab: Lab, script: str) -> None:
    subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "-f", "-"], input=script,
                   text=True, check=True, timeout=10)


def block_ami(lab: Lab, client_port: int | None = None) -> None:
    """Drop what goes to AMI: every session, or only the one from client_port."""
    only = f"tcp sport {client_port} " if client_port is not None else ""
    _nft(lab, f"table inet {BLOCK_TABLE} {{\n  chain input {{\n    type filter hook input "
              f"priority -50; policy accept;\n    {only}tcp dport 5038 drop\n  }}\n}}\n")


def ami_client_ports(lab: Lab) -> set[int]:
    """Local ports of the TCP sessions to AMI in the PBX namespace (ss, as the kernel has
    them)."""
    out = subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "ss", "-Htn", "state",
                          "established", "( dport = :5038 )"],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    return {int(line.split()[2].rpartition(":")[2]) for line in out.splitlines()
            if line.strip()}


def unblock_ami(lab: Lab) -> None:
    subprocess.run(["ip", "netns", "exec", lab.pbx_ns, "nft", "delete", "table", "inet",
                    BLOCK_TABLE], capture_output=True, timeout=10)


@contextmanager
def ami_unblocked_after(lab: Lab) -> Iterator[None]:
    try:
        yield
    finally:
        unblock_ami(lab)


async def _live_matches(lab: Lab) -> list[str]:
    from trunkconsole.ami.oneshot import ami_session
    from trunkconsole.settings import AmiTarget, Secret

    async with ami_session(AmiTarget(secret=Secret(lab.secret()))) as ami:
        return await live_matches(ami, "carrier")


async def test_ami_silent_after_reload_rolls_back(in_pbx_netns: Lab, lab_config: Lab,
                                                  tmp_path: Path) -> None:
    """AMI answers the reload, then nothing: files restored, audited, and the report says
    Asterisk may still run the change, with the command that reloads it."""
    from trunkconsole.ami.oneshot import ami_session
    from trunkconsole.settings import AmiTarget, Secret

    lab = in_pbx_netns
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    plan = plan_identify_add(lab.config_dir, "carrier", parse_provider_address(NEW_IP))

    async def go_silent(_ami: AmiActions) -> bool:
        block_ami(lab)
        return False

    with ami_unblocked_after(lab):
        async with ami_session(AmiTarget(secret=Secret(lab.secret()))) as ami:
            started = time.monotonic()
            result = await Applier(ami, tmp_path, step_timeout=2,
                                   after_reload=go_silent).apply(plan.changeset)
            elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed
    assert not result.applied
    assert result.rolled_back, result.summary()
    assert path.read_bytes() == original  # byte for byte
    assert "verification failed: Asterisk did not answer within 2 s" in result.reason
    assert "Asterisk may still run the change" in result.live_unconfirmed
    assert "module reload res_pjsip.so" in result.live_unconfirmed
    steps = [(p.step, p.ok) for p in result.progress]
    assert (Step.RELOAD, True) in steps
    assert (Step.VERIFY, False) in steps
    assert (Step.ROLLBACK, True) in steps
    assert steps[-1] == (Step.ROLLBACK, False)
    [record] = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert record["result"].startswith("rolled back in the files, but Asterisk may still run")
    # AMI back: Asterisk still had the change loaded, as the report said; one reload fixes it.
    assert NEW_IP + "/255.255.255.255" in ",".join(await _live_matches(lab))


async def test_rollback_goes_over_a_fresh_session_when_ours_went_silent(
        in_pbx_netns: Lab, lab_config: Lab, tmp_path: Path) -> None:
    """Only our AMI session goes silent after the reload (its packets dropped, as when a
    middlebox forgets the connection): the rollback reloads the originals over a fresh
    session and confirms the live state, instead of leaving the change running."""
    from trunkconsole.ami.oneshot import ami_session
    from trunkconsole.settings import AmiTarget, Secret

    lab = in_pbx_netns
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    plan = plan_identify_add(lab.config_dir, "carrier", parse_provider_address(NEW_IP))
    target = AmiTarget(secret=Secret(lab.secret()))
    before = ami_client_ports(lab)
    blocked: list[int] = []

    with ami_unblocked_after(lab):
        async with ami_session(target) as ami:
            [ours] = ami_client_ports(lab) - before

            async def go_silent(_ami: AmiActions) -> bool:
                if not blocked:
                    block_ami(lab, client_port=ours)
                    blocked.append(ours)
                return False

            result = await Applier(ami, tmp_path, step_timeout=2, after_reload=go_silent,
                                   fresh_ami=lambda: ami_session(target)).apply(
                                       plan.changeset)
        assert path.read_bytes() == original
        assert result.rolled_back, result.summary()
        assert not result.live_unconfirmed, result.summary()
        details = [p.detail for p in result.progress if p.step is Step.ROLLBACK]
        assert any("trying again over a fresh AMI session" in d for d in details), details
        assert result.progress[-1].ok, result.summary()
        assert "live state after restore" in result.progress[-1].detail
        # Asterisk runs the originals again: the new address is not matched live.
        assert NEW_IP + "/255.255.255.255" not in ",".join(await _live_matches(lab))


def _cli(lab: Lab, state: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
         *args, "--state-dir", str(state)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT)


def _wait_keeping_stdin_open(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait for the end (15 s at most) with stdin open, never written: communicate()
    would close it. The output is a few lines, far below a pipe's buffer."""
    proc.wait(timeout=15)
    assert proc.stdout is not None
    assert proc.stderr is not None
    return proc.stdout.read(), proc.stderr.read()


def test_dead_man_cli_exits_when_nobody_answers(lab_config: Lab, tmp_path: Path) -> None:
    """stdin open but silent (a CI job, a forgotten ssh session): rolled back in time, and
    the process ends (a thread blocked on stdin used to keep it alive forever)."""
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    started = time.monotonic()
    proc = _cli(lab, tmp_path, "identify", "add", "carrier", NEW_IP, "--yes",
                "--confirm-within", "2")
    try:
        out, err = _wait_keeping_stdin_open(proc)
    finally:
        proc.kill()
    assert time.monotonic() - started < 15
    assert proc.returncode == 1, out + err
    assert "not confirmed within 2 s" in out, out
    assert "rolled back: not confirmed within 2 s" in out
    assert "Traceback" not in err
    assert path.read_bytes() == original


def test_dead_man_cli_keeps_a_colleagues_edit(lab_config: Lab, tmp_path: Path) -> None:
    """A colleague appends a line during the window: the rollback refuses, says why, exit 2."""
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    colleague = b"; colleague: keep this line\n"
    proc = _cli(lab, tmp_path, "identify", "add", "carrier", NEW_IP, "--yes",
                "--confirm-within", "4")
    try:
        deadline = time.monotonic() + 10
        while NEW_IP.encode() not in path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        written = path.read_bytes()
        assert NEW_IP.encode() in written
        with path.open("ab") as handle:
            handle.write(colleague)
        out, err = _wait_keeping_stdin_open(proc)
    finally:
        proc.kill()
    assert proc.returncode == 2, out + err
    assert "not confirmed within 4 s" in out
    assert "NOT rolled back" in out
    assert "restored byte for byte" not in out
    assert path.read_bytes() == written + colleague
    assert "Traceback" not in err


def test_dead_man_cli_confirmed_on_stdin(lab_config: Lab, tmp_path: Path) -> None:
    lab = lab_config
    proc = _cli(lab, tmp_path, "identify", "add", "carrier", NEW_IP, "--yes",
                "--confirm-within", "8")
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        out, err = proc.communicate("y\n", timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, out + err
    assert "applied and verified" in out
    assert NEW_IP.encode() in (lab.config_dir / "pjsip.conf").read_bytes()


def test_dead_man_cli_without_stdin_rolls_back_at_once(lab_config: Lab,
                                                       tmp_path: Path) -> None:
    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    original = path.read_bytes()
    started = time.monotonic()
    out = subprocess.run(
        ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
         "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
         "identify", "add", "carrier", NEW_IP, "--yes", "--confirm-within", "60",
         "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert time.monotonic() - started < 15
    assert out.returncode == 1, out.stdout + out.stderr
    assert "stdin reached its end" in out.stdout
    assert path.read_bytes() == original


def test_value_starting_with_gt_is_what_asterisk_loads(lab_config: Lab, tmp_path: Path) -> None:
    """`accountcode=>x` would reach Asterisk as accountcode => x ("x"): the verification
    reads the live endpoint, so "applied and verified" means Asterisk holds ">acct-7".
    (from_user cannot test this: Asterisk refuses '>' in it and the change rolls back.)"""
    from .helpers import run_cli

    lab = lab_config
    path = lab.config_dir / "pjsip.conf"
    # A line without blanks around '=', as many hand-written files have: the new value
    # replaces "old" right after the '='.
    text = path.read_text()
    assert "from_domain = 203.0.113.1\n" in text
    path.write_text(text.replace("from_domain = 203.0.113.1\n",
                                 "from_domain = 203.0.113.1\naccountcode=old\n", 1))
    with lab.ami() as ami:
        ami.action({"Action": "Reload", "Module": "res_pjsip.so"})
    out = run_cli(lab, "config", "set", "endpoint", "carrier", "accountcode", ">acct-7",
                  "--yes", state=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "applied and verified" in out.stdout
    assert "accountcode is '>acct-7' in Asterisk" in out.stdout
    assert "accountcode= >acct-7\n" in path.read_text()
