"""Split one line of iptables-save or ipset save into words, as shlex.split does, in linear time.

Both tools quote a comment or a log prefix in double quotes with backslash escapes
(iptables: xt_comment's save(); ipset: `comment "..."`), so the lines are read with
POSIX shell quoting. shlex.split builds each word a character at a time and is quadratic
in a word's length: one 200 kB word took 5.6 s, a 50 MB line never ended. This splitter
matches whole runs with one regular expression instead and gives the same words
(tests/unit/test_net_hostile.py compares it with shlex).
"""

from __future__ import annotations

import re

MAX_LINE = 1 << 16  # iptables caps a comment at 256 bytes and multiport at 15 ports

# A line without quotes, backslashes or exotic whitespace splits the same with str.split()
# as with shlex.split() (POSIX mode, no comments), at a thirtieth of the cost: 5,000 bans
# took 70 ms through shlex alone (bench/bench_firewall.py).
_PLAIN = re.compile(r"[!#-&(-\[\]-~ \t]*")
_BLANK = " \t\r\n"  # shlex's whitespace: not \v, \f, NBSP or the other Unicode spaces
_PIECE = r"""[^ \t\r\n"'\\]+|"[^"\\]*(?:\\.[^"\\]*)*"|'[^']*'|\\."""
_WORD = re.compile(rf"(?:{_PIECE})+", re.DOTALL)
_PIECES = re.compile(_PIECE, re.DOTALL)
_IN_DOUBLE = re.compile(r'\\([\\"])')


def _unquote(piece: str) -> str:
    if piece[0] == '"':
        return _IN_DOUBLE.sub(r"\1", piece[1:-1])  # POSIX: \ escapes only \ and " inside
    if piece[0] == "'":
        return piece[1:-1]
    if piece[0] == "\\":
        return piece[1]
    return piece


def split_words(line: str) -> list[str]:
    """The words of line as shlex.split(line) gives them; ValueError for an unclosed quote,
    a trailing backslash or a line longer than MAX_LINE characters."""
    if len(line) > MAX_LINE:
        raise ValueError(f"a line of {len(line):,} characters (more than {MAX_LINE:,})")
    if _PLAIN.fullmatch(line):
        return line.split()
    words: list[str] = []
    end = 0
    for match in _WORD.finditer(line):
        if line[end:match.start()].strip(_BLANK):
            raise ValueError("No closing quotation")
        words.append("".join(_unquote(p) for p in _PIECES.findall(match.group())))
        end = match.end()
    if line[end:].strip(_BLANK):
        raise ValueError("No closing quotation" if line[end:].lstrip(_BLANK)[0] in "\"'"
                         else "No escaped character")
    return words
