"""A config file as a lossless list of lines: render() gives back the input byte for byte.

Bytes are decoded as UTF-8 with surrogateescape, so any byte sequence (Latin-1 comments,
binary junk) survives a round trip. Edits live in `edit.py` and touch only the lines
they must.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trunkconsole.conf.includes import display_name
from trunkconsole.conf.lines import MAX_LINE_BYTES, Kind, Line, scan, split_lines

ENCODING = "utf-8"
ERRORS = "surrogateescape"
# Bigger files are reported, not parsed: a 130,000-line pjsip.conf is about 3 MB.
MAX_FILE_BYTES = 32 * 1024 * 1024
# A 10,000-trunk pjsip.conf is 130,000 lines; a million short lines parse in seconds and a
# few hundred MB, 30 MB of `a=1` (7.8 million) would take minutes and gigabytes.
MAX_FILE_LINES = 1_000_000
KERNEL_TREES = ("/proc/", "/sys/")
# Blanks to Asterisk (below 33) that str.strip() does not take for whitespace.
_NOT_WHITESPACE = "".join(map(chr, [*range(0x01, 0x09), *range(0x0e, 0x1c)]))


class UnreadableFile(Exception):
    """The file cannot be read as a config file (missing, not regular, too big, no access)."""

    def __init__(self, path: Path, reason: str, exists_for_asterisk: bool = False) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        # True when Asterisk itself would read the file (we only refuse its size).
        self.exists_for_asterisk = exists_for_asterisk

    def copy(self) -> UnreadableFile:
        """The same error, without a traceback (one never raised)."""
        return UnreadableFile(self.path, self.reason, self.exists_for_asterisk)


class ConfigFile:
    """One file: its raw lines, classified on first use of `lines`.

    The loader reads `raws` directly (its own inlined scanner); `lines` builds the Line
    objects that edits and the TUI work with. After an edit, rescan() brings `raws` back
    in step.
    """

    def __init__(self, name: str, raws: list[str] | None = None,
                 path: Path | None = None) -> None:
        self.name = name  # as the operator knows it: relative to the config dir if inside
        self.raws: list[str] = raws if raws is not None else []
        self.path = path
        self._lines: list[Line] | None = None
        self._open_depth = 0
        self._plain: tuple[list[str], bool, bool] | None = None

    @property
    def plain(self) -> bool:
        """No NUL byte and no line near fgets()'s 8192-byte limit (checked once per `raws`):
        the loader then needs neither check per line."""
        return self._checks()[1]

    @property
    def simple(self) -> bool:
        """The loader's short path applies (checked once per `raws`): `plain`, and
        str.strip() strips exactly Asterisk's blanks (every byte below 33): the file is
        ASCII without the control characters that are blanks to Asterisk but not
        whitespace to Python. strip() is about twice as fast as strip(BLANKS), which
        builds its character set on every call."""
        return self._checks()[2]

    def _checks(self) -> tuple[list[str], bool, bool]:
        raws = self.raws
        if self._plain is None or self._plain[0] is not raws:
            text = "".join(raws)
            plain = not raws or (len(max(raws, key=len)) < MAX_LINE_BYTES // 4
                                 and "\0" not in text)
            # one memchr() per character (a regex took 30 ms on 3 MB)
            simple = (plain and text.isascii()
                      and not any(char in text for char in _NOT_WHITESPACE))
            self._plain = (raws, plain, simple)
        return self._plain

    @property
    def lines(self) -> list[Line]:
        """The classified lines (built once)."""
        if self._lines is None:
            self._lines = [Line(raw) for raw in self.raws]
            self._open_depth = scan(self._lines)
        return self._lines

    @property
    def open_depth(self) -> int:
        """Block-comment depth left at the end of the file (non-zero: unterminated)."""
        _ = self.lines
        return self._open_depth

    @classmethod
    def from_text(cls, text: str, name: str = "<text>", path: Path | None = None) -> ConfigFile:
        """Parse text (str, surrogate-escaped if it came from bytes)."""
        return cls(name=name, raws=split_lines(text), path=path)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<bytes>",
                   path: Path | None = None) -> ConfigFile:
        """Parse raw bytes, keeping every byte."""
        return cls.from_text(data.decode(ENCODING, ERRORS), name=name, path=path)

    @classmethod
    def read(cls, path: Path, name: str | None = None) -> ConfigFile:
        """Read a file; UnreadableFile when it is missing, not a regular file or too big.

        Asterisk skips non-regular files ("is not a regular file, ignoring"); we never
        open one either, so a FIFO or /dev/zero cannot hang us. Kernel files under /proc
        and /sys are regular to stat() and Asterisk would read them (`#include
        /proc/1/environ` as root): we never do, so no process environment is ever shown.
        """
        real = os.path.realpath(path)
        if real.startswith(KERNEL_TREES):
            raise UnreadableFile(path, f"{real} is a kernel file: trunkconsole does not read "
                                 "/proc or /sys (Asterisk would)", exists_for_asterisk=True)
        try:
            info = os.stat(path)
        except OSError as exc:
            raise UnreadableFile(path, exc.strerror or str(exc)) from exc
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(path, "not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise UnreadableFile(
                path, f"{info.st_size} bytes, more than the {MAX_FILE_BYTES} we parse",
                exists_for_asterisk=True)
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise UnreadableFile(path, exc.strerror or str(exc)) from exc
        lines = data.count(b"\n")
        if lines > MAX_FILE_LINES:
            raise UnreadableFile(path, f"{lines:,} lines, more than the {MAX_FILE_LINES:,} we "
                                 "parse", exists_for_asterisk=True)
        return cls.from_bytes(data, name=name or str(path), path=path)

    def rescan(self) -> None:
        """Classify all lines again (after an edit)."""
        lines = self.lines
        for line in lines:
            line.reset()
        self._open_depth = scan(lines)
        self.raws = [line.raw for line in lines]

    def render(self) -> bytes:
        """The file's bytes."""
        return self.render_text().encode(ENCODING, ERRORS)

    def render_text(self) -> str:
        """The file's text (surrogate-escaped where the bytes were not UTF-8)."""
        if self._lines is None:
            return "".join(self.raws)
        return "".join(line.raw for line in self._lines)

    def newline(self) -> str:
        """The dominant line ending, used for new lines."""
        crlf = sum(1 for raw in self.raws if raw.endswith("\r\n"))
        return "\r\n" if crlf * 2 > len(self.raws) else "\n"

    def sections(self) -> list[tuple[int, Line]]:
        """(index, line) of every section header in this file."""
        return [(i, line) for i, line in enumerate(self.lines) if line.kind == Kind.SECTION]

    def section_end(self, header: int) -> int:
        """Index just past the last line belonging to the section starting at header."""
        lines = self.lines
        for i in range(header + 1, len(lines)):
            if lines[i].kind in (Kind.SECTION, Kind.BAD_SECTION):
                return i
        return len(lines)


class Documents:
    """Parsed files by path, shared by every load of one config directory."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.by_path: dict[Path, ConfigFile] = {}
        self.errors: dict[Path, UnreadableFile] = {}

    def get(self, path: Path) -> ConfigFile:
        """The parsed file; UnreadableFile when it cannot be read."""
        doc = self.by_path.get(path)
        if doc is not None:
            return doc
        # A raised exception keeps its traceback, whose frames hold this Documents: kept
        # here, that was a reference cycle holding every file and object of the load
        # until a full collection (never, under gc_paused's freeze: 70 MB per 10,000-
        # trunk load). The cache keeps an unraised copy and raises a fresh one each time.
        error = self.errors.get(path)
        if error is not None:
            raise error.copy()
        try:
            doc = ConfigFile.read(path, display_name(path, self.config_dir))
        except UnreadableFile as exc:
            self.errors[path] = exc.copy()
            raise
        self.by_path[path] = doc
        return doc

    def by_name(self, name: str) -> ConfigFile | None:
        """A file already read, by its display name."""
        for doc in self.by_path.values():
            if doc.name == name:
                return doc
        return None
