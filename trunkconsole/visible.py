"""Untrusted text made safe for a terminal: every control character shown, none obeyed.

Caller IDs, From users, extens, SIP messages, AMI values (even the Asterisk version) and
config text are attacker- or third-party-controlled. Measured on the lab (Asterisk 22.10):
a From display name `"\\<ESC>]0;x\\<BEL>"` (quoted-pairs, RFC 3261 25.1) reaches AMI's
`CallerIDName` with the ESC raw (ast_escape_c only rewrites \\a \\b \\f \\n \\r \\t \\v \\\\
and quotes), and a From user `1555%1B%C2%9B` is unescaped by pjsip into a raw ESC and a
C1 CSI in `CallerIDNum` and in the `AccountID` of `InvalidAccountID`. Printed raw, such
text clears the screen, retitles the window or writes the clipboard (OSC 52); Rich and
Textual strip only BEL, BS, VT, FF and CR, and keep ESC.

One function for every front end (CLI and TUI): C0, DEL, C1, the bidi overrides and
isolates (Trojan Source, CVE-2021-42574), the Unicode line/paragraph separators and lone
surrogates (undecodable bytes) become visible escapes: `\\x1b`, `\\u202e`. A backslash
stays as it is, so a value that already spells `\\x1b` looks the same as a real ESC; the
raw value stays in the model and in JSON (escaped there as JSON escapes).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import IO, Any

# Code points a terminal would obey or reorder text with, never shown as they are.
_BEYOND_C0 = (
    "\x7f-\x9f"                # DEL, C1 (U+0085 NEL and U+009B CSI among them)
    "\u061c\u200e\u200f"       # bidi marks: ALM, LRM, RLM
    "\u2028\u2029"             # line and paragraph separators
    "\u202a-\u202e"            # bidi embeddings and overrides (LRE RLE PDF LRO RLO)
    "\u2066-\u2069"            # bidi isolates (LRI RLI FSI PDI)
    "\ud800-\udfff"            # lone surrogates (surrogateescape'd bytes)
)
_ANY = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_BEYOND_C0}]")  # LF kept
_CRLF = re.compile(r"\r\n")
PRETTY_LIMIT = 4 << 20  # characters of compact JSON still indented for reading


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """One line of untrusted text with every dangerous code point shown as an escape."""
    return _ANY.sub(_escape, text)


def visible_lines(text: str) -> str:
    """A block of untrusted text (a SIP message, an error, a diff): line breaks (LF,
    and CRLF as LF) kept, every other dangerous code point shown as an escape."""
    return _BUT_NEWLINE.sub(_escape, _CRLF.sub("\n", text))


def is_visible(text: str) -> bool:
    """True when text holds nothing a terminal would obey (newlines aside)."""
    return _BUT_NEWLINE.search(text) is None


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible_json(data: Any, indent: int | None = 2) -> str:
    """JSON with the same meaning, and nothing a terminal would obey in it.

    json.dumps(ensure_ascii=False) escapes only C0: C1, bidi controls, U+2028/2029 and
    lone surrogates stay raw. They can occur only inside strings, so `\\uXXXX` is exact.
    """
    # The C encoder runs only without indent; the pure-Python one took 33 s and a list
    # of millions of fragments for 100,000 findings. Past PRETTY_LIMIT the compact text
    # is the answer (a script reads it; nobody reads 4 MB by eye).
    text = json.dumps(data, ensure_ascii=False)
    if indent is not None and len(text) <= PRETTY_LIMIT:
        text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _BUT_NEWLINE.sub(_json_escape, text)  # a raw LF is only indentation here


def echo(text: str = "", *, file: IO[str] | None = None, end: str = "\n",
         flush: bool = False) -> None:
    """print() for the CLI twins: every line made visible (any part may be untrusted)."""
    stream = sys.stdout if file is None else file
    stream.write(visible_lines(text) + end)
    if flush:
        stream.flush()


class VisibleFormatter(logging.Formatter):
    """Log lines made visible: AMI event names, refusals and endpoint names go into them."""

    def format(self, record: logging.LogRecord) -> str:
        return visible_lines(super().format(record))


def make_logging_visible() -> None:
    """Python's last-resort stderr handler (what prints warnings when nothing is set up)
    formats through VisibleFormatter."""
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(VisibleFormatter())
