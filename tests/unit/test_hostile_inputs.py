"""Hostile inputs found by a sweep of every subcommand (issue 11): each ends fast, in bounded
memory, with a clear message and no traceback.

The sweep (every CLI subcommand against hostile config trees, rules files, values and a
misbehaving AMI) found: a FIFO given as a rules file, a journal or a log file blocked
open(2) for ever; a gzip'd log copy inflating to gigabytes in one line took 3 GB; a log
flood of 600,000 security events took 90 s; a log file name too long for the kernel was a
traceback; a 200,001-section pjsip.conf took 1.2 GB in `config show --json`, and a cut
load said nothing in `config show`. Real files, real FIFOs, the real CLI in a subprocess
under RLIMIT_AS = 2 GB; the time limit guards hangs, it is not a speed target.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tarfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from trunkconsole.logs import tail
from trunkconsole.logs.record import read_logs
from trunkconsole.readable import NotRegularFile, read_regular, refuse_special

ROOT = Path(__file__).resolve().parents[2]
LIMIT_SECONDS = 60.0
LIMIT_BYTES = 2 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI under the limits; no traceback, no raw control character."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "trunkconsole", *args], capture_output=True,
                          text=True, timeout=LIMIT_SECONDS, preexec_fn=_limit_memory, cwd=ROOT,
                          stdin=subprocess.DEVNULL, check=False)
    assert time.monotonic() - start < LIMIT_SECONDS
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    assert not any(ord(c) < 32 and c not in "\n\t" for c in out), out[-500:]
    return proc


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory"])
def test_special_files_are_refused_without_opening_them_blocking(tmp_path: Path,
                                                                 kind: str) -> None:
    path = tmp_path / "x"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(kind)
    with pytest.raises(NotRegularFile, match="not a regular file"):
        read_regular(path, 100)
    with pytest.raises(NotRegularFile, match="not a regular file"):
        refuse_special(path)
    refuse_special(tmp_path / "missing")  # a journal not written yet is fine


def test_a_fifo_as_journal_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "journal.sqlite"
    os.mkfifo(fifo)
    proc = cli("history", "--journal", str(fifo))
    assert proc.returncode == 3
    assert "is a FIFO (named pipe), not a regular file" in proc.stderr


@pytest.mark.parametrize("flag", ["--secret-file", "--from-file"])
def test_a_fifo_as_secret_or_address_file_is_refused(tmp_path: Path, flag: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text("[carrier]\ntype=endpoint\n")
    args = ["status", "--port", "1", "--timeout", "2"] if flag == "--secret-file" else [
        "identify", "add", "carrier", "--dry-run", "--state-dir", str(tmp_path / "s")]
    proc = cli("--config-dir", str(etc), *args, flag, str(fifo))
    assert proc.returncode == 3
    assert "not a regular file" in proc.stderr


def _logger_conf(etc: Path, log: Path) -> None:
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "asterisk.conf").write_text(f"[directories]\nastlogdir => {log}\n")
    (etc / "logger.conf").write_text("[general]\ndateformat=%F %T\n[logfiles]\n"
                                     "messages => notice\nsecurity => security\n"
                                     + "x" * 5000 + " => notice\n")


def test_fifo_log_files_and_overlong_names_are_gaps_not_hangs(tmp_path: Path) -> None:
    etc, log = tmp_path / "etc", tmp_path / "log"
    _logger_conf(etc, log)
    log.mkdir()
    os.mkfifo(log / "messages")
    os.mkfifo(log / "messages.1")
    (log / "security").symlink_to("/dev/zero")
    record = read_logs(etc, 3600)
    gaps = "\n".join(record.gaps)
    assert "a FIFO (named pipe), not a log file" in gaps
    assert "a character device, not a log file" in gaps
    assert "File name too long" in gaps
    proc = cli("logs", "show", "--config-dir", str(etc), "--since", "1h")
    assert proc.returncode == 0
    assert "File name too long" in proc.stderr + proc.stdout


def test_a_decompression_bomb_is_read_within_the_budget(tmp_path: Path) -> None:
    """60 MB in one line of a .gz: skipped in pieces, never held in memory (the sweep
    used 3 GB in 3 MB: then the read budget ends the file)."""
    etc, log = tmp_path / "etc", tmp_path / "log"
    _logger_conf(etc, log)
    log.mkdir()
    now = time.time()
    stamp = datetime.fromtimestamp(now - 60).strftime("%Y-%m-%d %H:%M:%S")
    good = (f"[{stamp}] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'INVITE' from "
            "'<sip:5@192.0.2.9>' failed for '192.0.2.9:5060' (callid: 1@x) - No matching "
            "endpoint found\n").encode()
    with gzip.open(log / "messages.1.gz", "wb", compresslevel=1) as bomb:
        bomb.write(good)
        block = b"\x1b]52;c;QQ==\x07" + b"A" * (1 << 20)
        for _ in range(60):
            bomb.write(block)
        bomb.write(b"\n" + good)
    (log / "messages").write_bytes(b"")
    os.utime(log / "messages", (now - 7200, now - 7200))
    tracemalloc.start()
    try:
        record = read_logs(etc, 3600, budget=256 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 48 << 20, f"{peak >> 20} MB"  # the line alone is 60 MB
    assert len(record.events) == 2, record.gaps  # the lines around the bomb


def test_a_flood_of_log_lines_keeps_the_newest(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A scanner writes millions of security events a day; each kept line is parsed."""
    monkeypatch.setattr(tail, "MAX_KEPT", 500)
    etc, log = tmp_path / "etc", tmp_path / "log"
    _logger_conf(etc, log)
    log.mkdir()
    now = time.time()
    lines = []
    for i in range(3000):
        stamp = datetime.fromtimestamp(now - 3000 + i).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"[{stamp}] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'INVITE' "
                     f"from '<sip:5@192.0.2.9>' failed for '192.0.2.{i % 200}:5060' (callid: "
                     f"{i}@x) - No matching endpoint found\n")
    (log / "messages").write_text("".join(lines))
    record = read_logs(etc, 3600)
    assert len(record.events) == 500
    assert min(e.at for e in record.events) >= now - 501  # the newest ones
    assert any("kept only the newest 500 matching lines" in g for g in record.gaps)


def test_too_many_sections_stop_the_load_and_config_show_says_so(tmp_path: Path) -> None:
    from trunkconsole.conf import loader

    etc = tmp_path / "etc"
    etc.mkdir()
    count = loader.MAX_SECTIONS + 1
    (etc / "pjsip.conf").write_text("".join(f"[t{i}]\ntype=aor\n" for i in range(count)))
    proc = cli("config", "show", "--json", "--config-dir", str(etc), "--port", "1")
    assert f"has over {loader.MAX_SECTIONS:,} sections" in proc.stderr


def test_a_file_over_the_line_bound_is_named_by_config_show(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_bytes(b";\n" * 1_000_001)
    proc = cli("config", "show", "--config-dir", str(etc))
    assert "more than the 1,000,000 we parse" in proc.stderr


def _raises(exc: Exception) -> Callable[[argparse.Namespace], int]:
    def handler(_args: argparse.Namespace) -> int:
        raise exc
    return handler


@pytest.mark.parametrize(("exc", "code", "text"), [
    (OSError(36, "File name too long", "/x/x"), 3, "cannot use /x/x: File name too long"),
    (TypeError("\x1b]0;boom\x07"), 70, "internal error: TypeError: \\x1b]0;boom\\x07"),
])
def test_the_last_line_of_main_is_one_line_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], exc: Exception,
        code: int, text: str) -> None:
    """What no check foresaw still ends in one visible line (the OSError names its path)."""
    from trunkconsole.cli import main as climain

    class Parser:
        def parse_args(self, _argv: object) -> argparse.Namespace:
            return argparse.Namespace(handler=_raises(exc))

    monkeypatch.setattr(climain, "build_parser", Parser)
    with pytest.raises(SystemExit) as exit_info:
        climain.main(["status"])
    err = capsys.readouterr().err
    assert exit_info.value.code == code
    assert text in err
    assert "Traceback" not in err
    assert "\x1b" not in err


@pytest.mark.parametrize("argv", [
    ["status", "\x1b]0;pwned\x07"],                      # unrecognized arguments: raw before
    ["config", "show", "--type", "x", "\x1b[2J\u2028"],
    ["\x1b[2J"],                                          # invalid choice (repr'd by argparse)
    ["status", "--port", "\x9b31m"],                       # a type error
])
def test_argparse_errors_print_typed_values_visibly(argv: list[str]) -> None:
    proc = cli(*argv)  # cli() fails on any raw control character
    assert proc.returncode == 2
    assert "\\x1b" in proc.stderr or "\\x9b" in proc.stderr or "\\u2028" in proc.stderr


def test_every_subcommand_parser_prints_visibly() -> None:
    from trunkconsole.cli.main import VisibleParser, build_parser, leaf_parsers

    leaves = leaf_parsers(build_parser())
    assert len(leaves) > 25
    assert all(isinstance(parser, VisibleParser) for _path, parser in leaves)


def test_an_unreachable_journal_is_a_gap_of_the_bundle(tmp_path: Path) -> None:
    """As nobody, /var/lib/trunkconsole (0700 root) made Path.exists() raise EACCES and the
    whole bundle failed; a name the kernel refuses takes the same path as root."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text("[carrier]\ntype=endpoint\n")
    journal = tmp_path / ("j" * 300) / "journal.sqlite"
    refuse_special(journal)  # unreachable is the library's to report, not a special file
    output = tmp_path / "b.tgz"
    proc = cli("--port", "1", "--config-dir", str(etc), "bundle", "--output", str(output),
               "--journal", str(journal), "--state-dir", str(tmp_path / "state"))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(output) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("MANIFEST.txt"))
        extracted = tar.extractfile(member)
        assert extracted is not None
        manifest = extracted.read().decode()
    assert "File name too long" in manifest, manifest
    assert f"journal: {journal}" in manifest


def test_big_json_is_compact_and_still_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pure-Python indenting encoder took 33 s for 100,000 findings: past the limit
    the C encoder's compact text is printed, with the same meaning and nothing raw."""
    import json

    from trunkconsole import visible as module

    data = {"findings": [{"title": f"x{i}\x1b[2J\u2028\x85"} for i in range(50)]}
    pretty = module.visible_json(data)
    monkeypatch.setattr(module, "PRETTY_LIMIT", 100)
    compact = module.visible_json(data)
    assert "\n" in pretty
    assert "\n" not in compact
    assert json.loads(compact) == json.loads(pretty) == data
    assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c == "\u2028" for c in compact)
