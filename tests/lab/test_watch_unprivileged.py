"""`watch` as the systemd unit runs it: an unprivileged user with no capabilities, its own
state directory and AMI secret, the firewall left unread (--no-network)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkconsole.lab.lab import Lab

from .helpers import ROOT
from .watch_helpers import events, metrics, wait_for

NOBODY = 65534


@pytest.fixture
def nobody_home() -> Iterator[Path]:
    """A directory the unprivileged user owns (pytest's own tmp is root's, mode 0700)."""
    top = Path(tempfile.mkdtemp(prefix="tc-watch-"))
    top.chmod(0o711)
    home = top / "state"
    home.mkdir(mode=0o750)
    os.chown(home, NOBODY, NOBODY)
    yield home
    shutil.rmtree(top)


def test_watch_runs_unprivileged(lab: Lab, nobody_home: Path) -> None:
    secret = nobody_home / "ami.secret"
    secret.write_text(lab.secret() + "\n")
    secret.chmod(0o600)
    os.chown(secret, NOBODY, NOBODY)
    journal = nobody_home / "journal.sqlite"
    log = nobody_home / "watch.log"
    # The checkout may sit below a directory only root may enter (a clone in mktemp's 0700
    # directory, /root): in a private mount namespace it is bound below one nobody can
    # enter, and the code and the venv are used from there, as an installed unit would.
    code = nobody_home.parent / "code"
    code.mkdir(mode=0o755)
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = code / python.relative_to(ROOT)
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", str(ROOT), str(code),
               "ip", "netns", "exec", lab.pbx_ns, "setpriv", f"--reuid={NOBODY}",
               f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
               str(python), "-m", "trunkconsole", "--secret-file", str(secret),
               "--config-dir", str(lab.config_dir), "watch", "--journal", str(journal),
               "--state-dir", str(nobody_home), "--no-network"]
    with open(log, "w") as out:
        # Its own home, as the unit's user has (the tests' XDG dirs are root's).
        env = {k: v for k, v in os.environ.items() if k != "TRUNKCONSOLE_CONFIG"}
        env.update(HOME=str(nobody_home), XDG_CONFIG_HOME=str(nobody_home / "config"),
                   PYTHONPATH=str(code))
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=nobody_home, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_for("the carrier in the journal", lambda: process.poll() is not None or events(
            journal, "contact-reachable"), timeout=60)
        assert process.poll() is None, "watch ended"
        text = wait_for("metrics", lambda: _metrics(lab))
        assert 'trunkconsole_trunk_reachable{trunk="carrier"} 1.0' in text
        assert "trunkconsole_journal_ok 1.0" in text
        assert process.poll() is None, log.read_text()
    except AssertionError as exc:
        raise AssertionError(f"{exc}; watch said:\n{log.read_text()}") from exc
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    assert process.returncode == 0, log.read_text()
    assert journal.stat().st_uid == NOBODY
    assert events(journal, "watch-stopped")


def _metrics(lab: Lab) -> str:
    try:
        return metrics(lab)
    except OSError:
        return ""
