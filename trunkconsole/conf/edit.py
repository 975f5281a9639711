"""Edits that touch only the lines they must, in the file's own style.

Every edit returns the Line objects it created or changed; all other lines keep their
bytes. A new key goes after the last line of its group (several `match=` lines stay
together), else after the section's last setting, before comments that introduce the
next section. New lines copy the indentation and spacing around '=' of a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass

from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.lines import BLANKS, Kind, Line
from trunkconsole.errors import OperatorError


class EditError(OperatorError, ValueError):
    """The edit cannot be written so that Asterisk reads back what was asked."""


@dataclass(frozen=True)
class Style:
    """How settings are written in a section: indentation and spacing around the operator."""

    indent: str = ""
    before: str = ""
    after: str = ""

    def format(self, key: str, op: str, value: str) -> str:
        # `key=>x` is read as key => x: '>' right after '=' is the object operator
        # (main/config.c process_text_line), so such a value needs a blank before it.
        after = self.after or (" " if op != "=>" and value.startswith(">") else "")
        return f"{self.indent}{key}{self.before}{op}{after}{value}"


def check_text(value: str, what: str = "a value") -> None:
    """Refuse what a config line cannot hold as typed: line breaks, controls, and the
    characters some tools take for line breaks or hide (U+2028, U+0085, bidi overrides,
    zero-width), and bytes that were not UTF-8."""
    if any(ch in value for ch in "\r\n\0"):
        raise EditError(f"{what} cannot contain a line break or NUL")
    bad = next((ch for ch in value if not ch.isprintable() and ch != "\t"), None)
    if bad is not None:
        raise EditError(f"{what} cannot contain the character U+{ord(bad):04X}",
                        fix="type the value without control, separator or invisible "
                        "characters")


def escape_value(value: str) -> str:
    """A value as it must be written: ';' becomes '\\;' (main/config.c keeps '\\;' literal)."""
    check_text(value)
    if value != value.strip(BLANKS):
        raise EditError("Asterisk strips blanks around a value; it cannot start or end "
                        "with one")
    return value.replace(";", "\\;")


def check_key(key: str) -> None:
    """Refuse keys that Asterisk would read as something else."""
    if not key or key != key.strip(BLANKS) or any(ch in key for ch in "=;\r\n\0"):
        raise EditError(f"invalid option name {key!r}")
    check_text(key, "an option name")
    if key[0] in "[#\\":
        raise EditError(f"an option name cannot start with {key[0]!r}")


def style_of(line: Line) -> Style:
    """The indentation and spacing of an existing setting line."""
    content = line.content
    indent = content[:len(content) - len(content.lstrip(" \t"))]
    rest = content[len(indent):]
    eq = rest.find("=")
    if eq < 0:
        return Style(indent=indent)
    op_start = eq - 1 if eq and rest[eq - 1] == "+" else eq
    key_part = rest[:op_start]
    before = key_part[len(key_part.rstrip(" \t")):]
    after_op = rest[eq + 1:]
    if after_op.startswith(">"):
        after_op = after_op[1:]
    after = after_op[:len(after_op) - len(after_op.lstrip(" \t"))]
    return Style(indent=indent, before=before, after=after)


def section_style(doc: ConfigFile, header: int) -> Style:
    """The style of the section's settings, else of the file's first setting, else key=value."""
    for i in range(header + 1, doc.section_end(header)):
        if doc.lines[i].kind == Kind.SETTING:
            return style_of(doc.lines[i])
    for line in doc.lines:
        if line.kind == Kind.SETTING:
            return style_of(line)
    return Style()


def find_settings(doc: ConfigFile, header: int, key: str) -> list[int]:
    """Indexes of the lines setting key (case-insensitive) in the section at header."""
    low = key.lower()
    return [i for i in range(header + 1, doc.section_end(header))
            if doc.lines[i].kind == Kind.SETTING and doc.lines[i].name.lower() == low]


def find_section(doc: ConfigFile, name: str, type_: str | None = None) -> int | None:
    """Index of the header of the first section called name (with type=type_ if given)."""
    for index, line in doc.sections():
        if line.name != name:
            continue
        if type_ is None:
            return index
        for i in find_settings(doc, index, "type"):
            if doc.lines[i].value == type_:
                return index
    return None


def _insert(doc: ConfigFile, index: int, texts: list[str]) -> list[Line]:
    """Insert lines before index; end the previous line if it had no line ending."""
    newline = doc.newline()
    touched: list[Line] = []
    if index > 0 and not doc.lines[index - 1].raw.endswith("\n"):
        doc.lines[index - 1].raw += newline
        touched.append(doc.lines[index - 1])
    new = [Line(text + newline) for text in texts]
    doc.lines[index:index] = new
    doc.rescan()
    return touched + new


def add_setting(doc: ConfigFile, header: int, key: str, value: str, op: str = "=") -> list[Line]:
    """Add `key=value` to the section whose header is at index header."""
    check_key(key)
    if op not in ("=", "=>", "+="):
        raise EditError(f"unknown operator {op!r}")
    text = section_style(doc, header).format(key, op, escape_value(value))
    same = find_settings(doc, header, key)
    if same:
        at = same[-1] + 1
    else:
        at = header + 1
        for i in range(header + 1, doc.section_end(header)):
            if doc.lines[i].kind in (Kind.SETTING, Kind.DIRECTIVE, Kind.NO_EQUALS):
                at = i + 1
    return _insert(doc, at, [text])


def set_value(doc: ConfigFile, index: int, value: str) -> list[Line]:
    """Replace the value of the setting at index, keeping key, spacing and comment."""
    line = doc.lines[index]
    if line.kind != Kind.SETTING:
        raise EditError(f"line {index + 1} of {doc.name} is not a setting")
    written = escape_value(value)
    depth_before = doc.lines[index - 1].depth_after if index else 0
    span = None if depth_before or line.depth_after or ";--" in line.raw else _value_span(line)
    if span is None:
        line.raw = style_of(line).format(line.name, line.op, written) + line.ending
    else:
        start, end = span
        if written.startswith(">") and line.op != "=>" and line.raw[start - 1] == "=":
            written = " " + written  # see Style.format
        line.raw = line.raw[:start] + written + line.raw[end:]
    doc.rescan()
    return [line]


def _value_span(line: Line) -> tuple[int, int] | None:
    """Where the value sits in the raw text, between the operator and blanks or a comment."""
    content = line.content
    eq = content.find("=", 1 if content.lstrip(BLANKS).startswith("\\") else 0)
    if eq < 0:
        return None
    start = eq + 1
    if line.op == "=>":
        start += 1
    while start < len(content) and content[start] in BLANKS:
        start += 1
    end = start
    while end < len(content):
        if content[end] == ";" and (end == 0 or content[end - 1] != "\\"):
            break
        end += 1
    while end > start and content[end - 1] in BLANKS:
        end -= 1
    return start, end


def remove_line(doc: ConfigFile, index: int) -> list[Line]:
    """Delete one line (a setting, usually)."""
    del doc.lines[index]
    doc.rescan()
    return []


def add_section(doc: ConfigFile, name: str, settings: list[tuple[str, str]],
                options: str = "", at: int | None = None, op: str = "=") -> list[Line]:
    """Add `[name](options)` with settings, at index at (default: end of file).

    A blank line separates it from what comes before, as in every shipped sample file.
    """
    if not name or any(ch in name for ch in "[];\r\n\0"):
        raise EditError(f"invalid section name {name!r}")
    check_text(name, "a section name")
    if any(ch in options for ch in "()[];\r\n\0"):
        raise EditError(f"invalid section options {options!r}")
    for key, _ in settings:
        check_key(key)
    header = f"[{name}]" + (f"({options})" if options else "")
    style = Style()
    for line in doc.lines:
        if line.kind == Kind.SETTING:
            style = style_of(line)
            break
    if op not in ("=", "=>"):
        raise EditError(f"unknown operator {op!r}")
    texts = [header] + [style.format(key, op, escape_value(value)) for key, value in settings]
    index = len(doc.lines) if at is None else at
    if index > 0 and doc.lines[index - 1].content.strip(BLANKS):
        texts.insert(0, "")
    if at is not None and at < len(doc.lines) and doc.lines[at].content.strip(BLANKS):
        texts.append("")
    return _insert(doc, index, texts)
