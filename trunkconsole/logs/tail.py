"""Read the end of a log file and its rotated copies, bounded, newest data first.

Asterisk rotates `name` to `name.N` (sequential: newest has the highest N; rotate:
newest is .0, older may be .N.gz/.bz2/.Z via exec_after_rotate) or `name.<epoch>`
(timestamp) (main/logger.c rotate_file); logrotate makes `name.1`, `name.2.gz` or
`name-YYYYMMDD[.gz]`. Files are taken by modification time, newest first, until one is
older than the window; plain files are read backwards in blocks until a line is older
than the window, never more than `budget` bytes in all.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import IO, cast

from trunkconsole.readable import kind_of

BLOCK = 1 << 20
MAX_LINE = 64 << 10  # Asterisk's log lines are far shorter; a longer one is skipped
# Lines kept per log: a scanner flood writes millions of security events a day, and each
# kept line is parsed (about 50 us): the newest 50,000 tell what is going on.
MAX_KEPT = 50_000
DEFAULT_BUDGET = 256 << 20
SLACK = 120.0  # threads log slightly out of order; read a little past the window
_ROTATED = re.compile(r"^(?:\.\d+|-\d{8}(?:\d{2})?)(?:\.(?:gz|bz2|xz|Z))?$")
_OPENERS: dict[str, Callable[[Path], IO[bytes]]] = {
    ".gz": lambda p: cast(IO[bytes], gzip.open(p, "rb")),  # noqa: SIM115 - caller closes
    ".bz2": lambda p: bz2.open(p, "rb"),  # noqa: SIM115
    ".xz": lambda p: lzma.open(p, "rb"),  # noqa: SIM115
}


@dataclass
class TailRead:
    """Matching lines (file name, text) in file order, oldest first, and what was missed."""

    lines: list[tuple[Path, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    bytes_read: int = 0
    gaps: list[str] = field(default_factory=list)


def log_files(path: Path) -> list[Path]:
    """The file and its rotated copies, newest first (by modification time)."""
    found: list[tuple[float, Path]] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        if entry.name == path.name or (entry.name.startswith(path.name) and
                                       _ROTATED.match(entry.name[len(path.name):])):
            try:
                found.append((entry.stat().st_mtime, Path(entry.path)))
            except OSError:
                continue
    # The live file first whatever its mtime, then the copies newest first.
    found.sort(key=lambda item: (item[1] != path, -item[0]))
    return [p for _m, p in found]


def read_window(path: Path, since: float, line_time: Callable[[str], float | None],
                keep: Callable[[bytes], bool], budget: int = DEFAULT_BUDGET) -> TailRead:
    """Lines kept by `keep` whose time is at or after `since`, from path and its copies."""
    result = TailRead()
    chunks: list[list[tuple[Path, str]]] = []
    for file in log_files(path):
        try:
            stat = file.stat()
        except OSError as exc:
            result.gaps.append(f"{file}: {exc.strerror}")
            continue
        if file != path and stat.st_mtime < since:
            break  # copies are older still
        if not S_ISREG(stat.st_mode):  # a FIFO would block the open, /dev/zero never ends
            result.gaps.append(f"{file}: {kind_of(stat.st_mode)}, not a log file: not read")
            continue
        if result.bytes_read >= budget:
            result.gaps.append(f"{file} not read: the {budget >> 20} MB read budget is spent")
            break
        result.files.append(file)
        room = MAX_KEPT - sum(len(c) for c in chunks)
        try:
            lines, used, reached = _read_file(file, since, line_time, keep,
                                              budget - result.bytes_read, room)
        except OSError as exc:
            result.gaps.append(f"{file}: {exc.strerror or exc}")
            continue
        except (EOFError, lzma.LZMAError, gzip.BadGzipFile, ValueError) as exc:
            result.gaps.append(f"{file}: unreadable ({exc})")
            continue
        result.bytes_read += used
        chunks.append(lines)
        if reached:
            break
        if len(lines) >= room:
            result.gaps.append(f"kept only the newest {MAX_KEPT:,} matching lines of {path} "
                               "and its copies: older lines of the window were not looked at")
            break
        if result.bytes_read >= budget:
            result.gaps.append(f"read only the last {budget >> 20} MB of {file}: older lines "
                               "of the window were not looked at")
            break
    for lines in reversed(chunks):
        result.lines.extend(lines)
    return result


def _read_file(file: Path, since: float, line_time: Callable[[str], float | None],
               keep: Callable[[bytes], bool], budget: int,
               room: int = MAX_KEPT) -> tuple[list[tuple[Path, str]], int, bool]:
    """(kept lines oldest first, at most room; bytes read; whether the window's start was
    reached)."""
    opener = _OPENERS.get(file.suffix)
    if opener is not None:
        return _read_forward(file, opener, since, line_time, keep, budget, room)
    if file.suffix == ".Z":
        return [], 0, False  # compress(1) format: nothing in the standard library reads it
    kept: list[tuple[Path, str]] = []
    used = 0
    reached = False
    for block in _blocks_backwards(file, budget):
        used += block.size
        texts = [raw for raw in block.lines if keep(raw)]
        for raw in reversed(texts):
            text = raw.decode("utf-8", "replace")
            at = line_time(text)
            if at is None or at >= since:
                kept.append((file, text))
                if len(kept) >= room:
                    break
        if len(kept) >= room:
            break
        first = _first_time(block.lines, line_time)
        if first is not None and first < since - SLACK:
            reached = True
            break
    kept.reverse()
    return kept, used, reached


@dataclass
class _Block:
    lines: list[bytes]
    size: int


def _blocks_backwards(file: Path, budget: int) -> Iterator[_Block]:
    with open(file, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        carry = b""
        skipping = False  # inside a line longer than MAX_LINE: not a log line, dropped
        read = 0
        while position > 0 and read < budget:
            start = max(0, position - BLOCK)
            handle.seek(start)
            size = position - start
            data = handle.read(size) + carry
            read += size
            position = start
            parts = data.split(b"\n")
            if skipping:
                skipping = len(parts) == 1
                parts[-1] = b""
            carry = b""
            if position > 0:  # the first piece may be the tail of a line in the next block
                carry, parts = parts[0], parts[1:]
                if len(carry) > MAX_LINE:
                    carry, skipping = b"", True
            yield _Block([p for p in parts if p and len(p) <= MAX_LINE], size)


def _first_time(lines: list[bytes], line_time: Callable[[str], float | None]) -> float | None:
    for raw in lines[:50]:
        at = line_time(raw[:200].decode("utf-8", "replace"))
        if at is not None:
            return at
    return None


def _read_forward(file: Path, opener: Callable[[Path], IO[bytes]], since: float,
                  line_time: Callable[[str], float | None], keep: Callable[[bytes], bool],
                  budget: int, room: int) -> tuple[list[tuple[Path, str]], int, bool]:
    kept: list[tuple[Path, str]] = []
    used = 0
    reached = False
    with opener(file) as handle:
        for size, raw in _bounded_lines(handle, budget):
            used += size
            if used > budget:
                break
            if not raw:
                continue  # an overlong line (a decompression bomb's): not a log line
            if not reached:
                at = line_time(raw[:200].decode("utf-8", "replace"))
                if at is not None and at < since:
                    reached = True  # the window starts inside this file
            if keep(raw):
                text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                at = line_time(text)
                if at is None or at >= since:
                    kept.append((file, text))
                    if len(kept) >= room:
                        break
    return kept, used, reached



def _bounded_lines(handle: IO[bytes], budget: int) -> Iterator[tuple[int, bytes]]:
    """(size, line) of a stream, never holding more than MAX_LINE bytes of one line: a
    longer one comes out as (its size, b"") -- a compressed copy can inflate to gigabytes
    in a single line (gzip reaches 1000:1)."""
    while True:
        raw = handle.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) <= MAX_LINE or raw.endswith(b"\n"):
            yield len(raw), raw
            continue
        size = len(raw)
        while raw and not raw.endswith(b"\n") and size <= budget:
            raw = handle.readline(BLOCK)
            size += len(raw)
        yield size, b""
