"""Start `trunkconsole watch` inside the lab's PBX namespace, as the systemd unit would."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trunkconsole.lab.lab import Lab
from trunkconsole.lab.netns import inside

from .helpers import ROOT


def watch_command(lab: Lab, journal: Path, state: Path, *extra: str) -> list[str]:
    return ["ip", "netns", "exec", lab.pbx_ns, sys.executable, "-m", "trunkconsole",
            "--secret-file", str(lab.secret_file), "--config-dir", str(lab.config_dir),
            "watch", "--journal", str(journal), "--state-dir", str(state), *extra]


@contextmanager
def running_watch(lab: Lab, journal: Path, state: Path, *extra: str,
                  prefix: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[str]]:
    """watch in the background; stopped with SIGTERM (by its pid) at the end."""
    log = open(state / "watch.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([*prefix, *watch_command(lab, journal, state, *extra)],
                               stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                               stdin=subprocess.DEVNULL)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 40.0,
             every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def events(journal: Path, kind: str | None = None) -> list[tuple[float, str, str]]:
    if not journal.exists():
        return []
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)
    try:
        query = "SELECT at, kind, text FROM events"
        rows = db.execute(query + (" WHERE kind = ?" if kind else "") + " ORDER BY at",
                          (kind,) if kind else ()).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    return [(float(a), str(k), str(t)) for a, k, t in rows]


def metrics(lab: Lab, port: int = 9595) -> str:
    with inside(lab.pbx_ns), urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                    timeout=5) as reply:
        return str(reply.read().decode())


def history_json(lab: Lab, journal: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "trunkconsole", "history", "--journal",
                          str(journal), "--json", *args], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data
