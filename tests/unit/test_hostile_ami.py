"""A hostile or broken AMI peer: every CLI command ends in bounded time with one clear
line, no traceback, no raw control character (issue 11).

Fake servers on 127.0.0.1, ONLY because a real Asterisk cannot be made to do these on
demand (DESIGN.md, "Real parts"): accept and close at once, accept and never speak, greet
and never answer, send binary garbage or one endless line, answer every action with
escape sequences. The lab's real Asterisk covers the silent-after-reload case
(tests/lab/test_change_failures.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GREETING = b"Asterisk Call Manager/11.0.0\r\n"
HOSTILE = b"\x1b]52;c;SGVsbG8=\x07\x1b[2J\xc2\x9b31m\xe2\x80\xa8"
Peer = Callable[[socket.socket], None]


def close_at_once(conn: socket.socket) -> None:
    conn.close()


def never_speak(conn: socket.socket) -> None:
    time.sleep(60)


def greet_then_silence(conn: socket.socket) -> None:
    conn.sendall(GREETING)
    time.sleep(60)


def binary(conn: socket.socket) -> None:
    conn.sendall(GREETING)
    for _ in range(64):
        conn.sendall(os.urandom(4096) + HOSTILE + b"\r\n")
    conn.close()


def endless_line(conn: socket.socket) -> None:
    conn.sendall(GREETING)
    chunk = b"A" * (1 << 20)
    for _ in range(100):  # 100 MB without a line end
        conn.sendall(chunk)
    time.sleep(60)


def hostile_answers(conn: socket.socket) -> None:
    """Login accepted; every action answered with an error full of escape sequences."""
    conn.sendall(GREETING)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
        while b"\r\n\r\n" in data:
            block, data = data.split(b"\r\n\r\n", 1)
            fields = dict(line.split(b": ", 1) for line in block.split(b"\r\n")
                          if b": " in line)
            action_id = fields.get(b"ActionID", b"")
            if fields.get(b"Action", b"").lower() == b"login":
                conn.sendall(b"Response: Success\r\nActionID: " + action_id +
                             b"\r\nMessage: Authentication accepted\r\n\r\n")
            else:
                conn.sendall(b"Response: Error\r\nActionID: " + action_id + b"\r\nMessage: "
                             + HOSTILE + b"\r\nOutput: " + HOSTILE + b"\r\n\r\n")


@contextmanager
def fake_ami(peer: Peer) -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port: int = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_guarded, args=(peer, conn), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        server.close()
        thread.join(5)


def _guarded(peer: Peer, conn: socket.socket) -> None:
    try:
        peer(conn)
    except OSError:
        pass
    finally:
        conn.close()


def cli(config_dir: Path, port: int, *args: str) -> tuple[int, str, float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "trunkconsole", "--host", "127.0.0.1", "--port", str(port),
         "--config-dir", str(config_dir), *args], capture_output=True, text=True, cwd=ROOT,
        timeout=60, stdin=subprocess.DEVNULL, check=False,
        env={**os.environ, "TRUNKCONSOLE_AMI_SECRET": "s3cret-never-shown"})
    elapsed = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-2000:]
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) < 0xa0 or c == "\u2028"
                   for c in out), out[-500:]
    assert "s3cret-never-shown" not in out
    return proc.returncode, out, elapsed


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text(
        "[carrier]\ntype=endpoint\naors=carrier\n[carrier]\ntype=aor\n"
        "contact=sip:203.0.113.10\n[carrier]\ntype=identify\nendpoint=carrier\n"
        "match=203.0.113.10\n")
    return etc


PEERS = [close_at_once, never_speak, greet_then_silence, binary, endless_line,
         hostile_answers]


@pytest.mark.parametrize("peer", PEERS, ids=lambda p: p.__name__)
def test_status_and_check_end_with_one_clear_line(config_dir: Path, peer: Peer) -> None:
    with fake_ami(peer) as port:
        code, out, elapsed = cli(config_dir, port, "status", "--timeout", "4")
        assert code == 3, out
        assert elapsed < 15
        assert "trunkconsole: AMI 127.0.0.1:" in out, out
        code, out, elapsed = cli(config_dir, port, "check", "--no-network", "--no-logs",
                                 "--no-journal")
        assert code in (1, 2, 3), out
        assert elapsed < 30


def test_a_peer_that_closes_at_once_is_named_as_such(config_dir: Path) -> None:
    """The close raced panoramisk's Manager taking the connection: an AttributeError
    traceback from asyncio, then a 10 s wait for a login answer on a closed socket."""
    from trunkconsole.ami.oneshot import ami_session
    from trunkconsole.errors import OperatorError
    from trunkconsole.settings import AmiTarget, Secret

    async def attempt(port: int) -> str:
        try:
            async with ami_session(AmiTarget(host="127.0.0.1", port=port,
                                             secret=Secret("x")), timeout=8):
                return "connected"
        except OperatorError as exc:
            return exc.what

    with fake_ami(close_at_once) as port:
        for _ in range(5):  # the race goes either way: each must end the same
            start = time.monotonic()
            what = asyncio.run(attempt(port))
            assert "closed the connection" in what, what
            assert time.monotonic() - start < 3


def test_bundle_waits_for_a_silent_ami_once(config_dir: Path, tmp_path: Path) -> None:
    with fake_ami(greet_then_silence) as port:
        code, out, elapsed = cli(config_dir, port, "bundle", "--output",
                                 str(tmp_path / "b.tgz"), "--state-dir", str(tmp_path / "s"),
                                 "--since", "1h")
    assert code == 0, out
    assert elapsed < 15 + 5  # one AMI timeout (10 s) and the rest, not two
    with tarfile.open(tmp_path / "b.tgz") as tar:
        manifest = next(m for m in tar.getmembers() if m.name.endswith("MANIFEST.txt"))
        extracted = tar.extractfile(manifest)
        assert extracted is not None
        text = extracted.read().decode()
    assert "live checks: skipped, AMI could not be used" in text
