"""One physical line of an Asterisk config file, read the way main/config.c reads it.

The scanner is stateless except for the block-comment depth, which carries from line to
line. It never changes the text: `Line.raw` is what was in the file; kind, name, op and
value are what Asterisk's `process_text_line()` sees once comments are cut and blanks
stripped.
"""

from __future__ import annotations

from enum import IntEnum

# ast_strip()/ast_skip_blanks() treat every byte below 33 as blank (main/strings.c).
BLANKS = "".join(chr(code) for code in range(1, 33))
# fgets() into char buf[8192]: a line whose content is 8191 bytes or more is skipped with
# "Line N too long, skipping" (main/config.c, config_text_file_load()).
MAX_LINE_BYTES = 8191
MAX_NESTED_COMMENTS = 128
BOM = "\ufeff"


class Kind(IntEnum):
    """What a line is to Asterisk."""

    EMPTY = 0  # blank, comment, or entirely inside a block comment
    SECTION = 1  # [name] or [name](options)
    SETTING = 2  # key = value, key => value, key += value
    DIRECTIVE = 3  # #include, #tryinclude, #exec, or an unknown #directive
    NO_EQUALS = 4  # text with no '=': Asterisk warns and ignores it
    TOO_LONG = 5  # skipped by Asterisk
    BAD_SECTION = 6  # no closing ']' or ')': a hard parse error
    BAD_ESCAPE = 7  # a line starting with '\' and a blank: a hard parse error
    NO_NAME = 8  # '= value' with no key: Asterisk warns and ignores it


class Line:
    """A physical line: the raw text (with its line ending) and how Asterisk reads it.

    Class attributes are the defaults, so a blank or comment line costs one attribute;
    a 130,000-line pjsip.conf scans in well under 0.1 s.
    """

    kind = Kind.EMPTY
    name = ""  # section name, setting key, or directive name
    op = "="  # "=", "=>" or "+=" (settings only)
    value = ""  # setting value, directive argument (dequoted), section options text
    options: list[str] | None = None  # section options split on ',' (None: no options)
    depth_after = 0  # block-comment depth after this line
    stray_end = False  # a '--;' outside any block comment (depth went negative)

    def __init__(self, raw: str) -> None:
        self.raw = raw

    def reset(self) -> None:
        """Forget the classification (before a rescan)."""
        self.__dict__ = {"raw": self.raw}

    @property
    def content(self) -> str:
        """The raw text without its line ending."""
        raw = self.raw
        if raw.endswith("\r\n"):
            return raw[:-2]
        if raw.endswith("\n"):
            return raw[:-1]
        return raw

    @property
    def ending(self) -> str:
        """The line ending as written: "\\r\\n", "\\n" or "" (last line without one)."""
        raw = self.raw
        if raw.endswith("\r\n"):
            return "\r\n"
        return "\n" if raw.endswith("\n") else ""

    def __repr__(self) -> str:
        return f"Line({self.raw!r}, kind={self.kind.name})"


def split_lines(text: str) -> list[str]:
    """Split on '\\n' only, keeping endings: fgets() knows no other line separator."""
    if not text:
        return []
    # str.splitlines() also breaks at \r, \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029;
    # without those (a \r only in \r\n) it gives the same list, a third faster.
    if (text.count("\r") == text.count("\r\n")
            and not any(sep in text for sep in _OTHER_BREAKS)):
        return text.splitlines(True)
    return split_lines_reference(text)


# The separators str.splitlines() knows besides \n and \r.
_OTHER_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def split_lines_reference(text: str) -> list[str]:
    """split_lines() without the str.splitlines() shortcut (tests compare the two)."""
    if not text:
        return []
    parts = text.split("\n")
    last = parts.pop()
    lines = [part + "\n" for part in parts]
    if last:
        lines.append(last)
    return lines


def decomment(buf: str, depth: int) -> tuple[str | None, int, bool]:
    """Cut comments from one line as config_text_file_load() does; return (text, depth, stray).

    text is None when the whole line is inside a block comment. `\\;` is a literal ';'
    (the backslash is removed). `;--` opens a nested block unless a third '-' follows;
    `--;` closes one, and outside any block it still decrements the depth, which then goes
    negative and turns every later line into a comment (main/config.c has no guard).
    """
    if not depth and ";" not in buf:
        return buf, depth, False
    if not depth:
        p = buf.find(";")
        if (p == 0 or buf[p - 1] != "\\") and not _block_start(buf, p) and not (
                p >= 2 and buf[p - 2:p] == "--"):
            return buf[:p], depth, False
    return _decomment_slow(buf, depth)


def _block_start(buf: str, p: int) -> bool:
    return buf[p + 1:p + 3] == "--" and buf[p + 3:p + 4] != "-"


def _decomment_slow(line: str, depth: int) -> tuple[str | None, int, bool]:
    """The faithful simulation of the C loop, working on a NUL-terminated copy."""
    b = list(line)
    b.append("\0")
    new_buf = 0
    process: int | None = None if depth else 0
    stray = False
    while True:
        end = b.index("\0", new_buf)
        try:
            p = b.index(";", new_buf, end)
        except ValueError:
            break
        if p > new_buf and b[p - 1] == "\\":
            new_buf = p
            del b[p - 1]
        elif b[p + 1] == "-" and b[p + 2] == "-" and b[p + 3] != "-":
            if depth >= MAX_NESTED_COMMENTS:
                # Asterisk logs "Maximum nest limit" and spins on the same ';' forever;
                # we stop here instead (the lint reports it).
                break
            b[p] = "\0"
            new_buf = p + 3
            depth += 1
        elif p >= new_buf + 2 and b[p - 1] == "-" and b[p - 2] == "-":
            depth -= 1
            if depth < 0:
                stray = True
            new_buf = p + 1
            if not depth:
                if process is not None:
                    old = b.index("\0", process)
                    tail = b.index("\0", new_buf)
                    b[old:] = b[new_buf:tail + 1]
                    new_buf = old
                else:
                    process = new_buf
        elif not depth:
            b[p] = "\0"
            new_buf = p
        else:
            new_buf = p + 1
    if process is None:
        return None, depth, stray
    return "".join(b[process:b.index("\0", process)]), depth, stray


def too_long(raw: str) -> bool:
    """True when fgets() would overflow Asterisk's 8192-byte buffer on this line."""
    content = raw[:-1] if raw.endswith("\n") else raw
    if len(content) < MAX_LINE_BYTES // 4:
        return False
    return len(content.encode("utf-8", "surrogateescape")) >= MAX_LINE_BYTES


def scan(lines: list[Line], depth: int = 0) -> int:
    """Classify every line in order; return the block-comment depth at end of file."""
    for number, line in enumerate(lines):
        raw = line.raw
        if number == 0 and raw.startswith(BOM):
            raw = raw[1:]
        depth = classify_line(line, raw, depth)
    return depth


def classify_line(line: Line, raw: str, depth: int) -> int:
    """Classify one line read with block-comment depth `depth`; return the depth after it.

    raw is the line's text with a line-1 BOM already removed. The loader inlines the
    common case (depth 0, no ';', a plain key=value) and calls this for the rest.
    """
    blanks = BLANKS
    if len(raw) >= MAX_LINE_BYTES // 4 and too_long(raw):
        line.kind = Kind.TOO_LONG
        if depth:
            line.depth_after = depth
        return depth
    if "\0" in raw:
        raw = raw.split("\0", 1)[0]  # C strings end at the first NUL
    if not depth and ";" not in raw:
        text = raw
    else:
        cut, depth, stray = decomment(raw, depth)
        if stray:
            line.stray_end = True
        if depth:
            line.depth_after = depth
        if cut is None:
            return depth
        text = cut
    text = text.strip(blanks)
    if not text:
        return depth
    lead = text[0]
    if lead == "[":
        _classify_section(line, text)
    elif lead == "#":
        _classify_directive(line, text)
    else:
        eq = text.find("=")
        if eq > 0 and lead != "\\" and text[eq - 1] != "+":
            rest = text[eq + 1:]
            if rest[:1] == ">":
                line.op = "=>"
                rest = rest[1:]
            line.name = text[:eq].rstrip(blanks)
            line.value = rest.strip(blanks)
            line.kind = Kind.SETTING
        else:
            _classify_setting(line, text)
    return depth


def _classify_section(line: Line, text: str) -> None:
    close = text.find("]")
    if close < 0:
        line.kind = Kind.BAD_SECTION
        line.value = "no closing ']'"
        return
    line.name = text[1:close]
    line.options = None
    if text[close + 1:close + 2] == "(":
        rest = text[close + 2:]
        paren = rest.find(")")
        if paren < 0:
            line.kind = Kind.BAD_SECTION
            line.value = "no closing ')'"
            return
        line.value = rest[:paren]
        line.options = line.value.split(",")
    line.kind = Kind.SECTION


def _classify_directive(line: Line, text: str) -> None:
    # The name runs to the first byte <= 32; char is signed, so non-ASCII ends it too.
    i = 1
    n = len(text)
    while i < n and " " < text[i] < "\x80":
        i += 1
    line.name = text[1:i]
    arg = text[i + 1:].strip(BLANKS) if i < n else ""
    if arg[:1] in ('"', "<"):
        closing = '"' if arg[0] == '"' else ">"
        if arg.endswith(closing):
            arg = arg[1:-1]
    line.value = arg
    line.kind = Kind.DIRECTIVE


def _classify_setting(line: Line, text: str) -> None:
    escaped = 1 if text[0] == "\\" else 0
    cur = text
    if escaped:
        cur = text[1:]
        if not cur or cur[0] <= " " or cur[0] >= "\x80":
            line.kind = Kind.BAD_ESCAPE
            return
    eq = cur.find("=", escaped)
    if eq < 0:
        line.kind = Kind.NO_EQUALS
        return
    if eq > escaped and cur[eq - 1] == "+":
        line.op = "+="
        line.name = cur[:eq - 1].strip(BLANKS)
        line.value = cur[eq + 1:]  # appended raw; blanks trimmed after concatenation
    else:
        rest = cur[eq + 1:]
        if rest[:1] == ">":
            line.op = "=>"
            rest = rest[1:]
        else:
            line.op = "="
        line.name = cur[:eq].strip(BLANKS)
        line.value = rest.strip(BLANKS)
    line.kind = Kind.SETTING if line.name else Kind.NO_NAME
