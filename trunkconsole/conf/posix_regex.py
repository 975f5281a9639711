"""The `[name](+name=value)` filter regexes, run by the C library as main/config.c runs them.

does_category_match() compiles each side with regcomp(REG_EXTENDED | REG_NOSUB) and
searches (unanchored) with regexec(). Python's `re` is another dialect ([[:digit:]],
`\\<`) and backtracks: `a*a*a*...$` against an 8 KB value never ends. glibc's matcher
has no such blow-up for plain patterns, but a quantified group or a back-reference can
still cost seconds per value (`(a|aa)*$` on 8 KB: 2.4 s, measured), so those patterns
run in a forked child with a time and memory limit (`isolated`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import resource
import select
import signal
from collections.abc import Callable

REG_EXTENDED = 1
REG_NOSUB = 8
_REGEX_T_BYTES = 256  # sizeof(regex_t) is 64 on glibc x86-64 and 32 on musl: room to spare
ISOLATED_SECONDS = 3.0
ISOLATED_MEMORY = 1 << 30
# A group followed by a quantifier, an alternation, or a back-reference: glibc may need
# polynomial time of high degree (or exponential, with back-references) per value.
_COMPLEX = re.compile(r"\)[*+?{]|[|{]|\\[1-9]")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.regcomp.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
_libc.regexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p,
                          ctypes.c_int]
_libc.regfree.argtypes = [ctypes.c_void_p]


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


class PosixRegex:
    """One compiled POSIX extended regex (REG_EXTENDED | REG_NOSUB)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._buffer = ctypes.create_string_buffer(_REGEX_T_BYTES)
        self.ok = "\0" not in pattern and _libc.regcomp(
            self._buffer, _bytes(pattern), REG_EXTENDED | REG_NOSUB) == 0
        self.complex = bool(_COMPLEX.search(pattern))

    def search(self, text: str) -> bool:
        """regexec() == 0: the pattern occurs somewhere in text."""
        return self.ok and _libc.regexec(self._buffer, _bytes(text), 0, None, 0) == 0

    def close(self) -> None:
        if self.ok:
            _libc.regfree(self._buffer)
            self.ok = False

    def __enter__(self) -> PosixRegex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def isolated(work: Callable[[], int], seconds: float = ISOLATED_SECONDS) -> int | None:
    """work() in a forked child with a CPU-time and memory limit; None when it did not
    finish (too slow, too big, or the child died). The result is a small int >= -1."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no Python-level cleanup, only the result
        code = 1
        try:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (ISOLATED_MEMORY, ISOLATED_MEMORY))
            cpu = int(seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            os.write(write_end, str(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], seconds)
        data = os.read(read_end, 32) if ready else b""
    finally:
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    try:
        return int(data.decode())
    except ValueError:
        return None
