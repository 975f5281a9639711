"""The line scanner against main/config.c's comment, escape and line rules."""

from __future__ import annotations

import pytest

from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.lines import MAX_LINE_BYTES, Kind, decomment


def kinds(text: str) -> list[tuple[Kind, str, str]]:
    doc = ConfigFile.from_text(text)
    return [(line.kind, line.name, line.value) for line in doc.lines]


@pytest.mark.parametrize(("line", "expected"), [
    ("key=value ; comment", "key=value "),
    ("uri=sip:proxy\\;lr", "uri=sip:proxy;lr"),  # \; is a literal ';', backslash removed
    ("a=1 ;-- block --; b=2", "a=1  b=2"),  # block comment inside one line
    ("a=1 ;--- not a block", "a=1 "),  # ';---' is an ordinary comment
    ("; whole line", ""),
])
def test_decomment_one_line(line: str, expected: str) -> None:
    text, depth, stray = decomment(line, 0)
    assert (text, depth, stray) == (expected, 0, False)


def test_block_comment_spans_lines_and_nests() -> None:
    doc = ConfigFile.from_text(
        "[s]\na=1\n;-- outer\nb=2\n;-- inner --;\nc=3\n--; d=4\ne=5\n")
    settings = [(line.name, line.value) for line in doc.lines if line.kind == Kind.SETTING]
    assert settings == [("a", "1"), ("d", "4"), ("e", "5")]
    assert doc.open_depth == 0


def test_stray_block_end_turns_following_lines_into_comments() -> None:
    doc = ConfigFile.from_text("[s]\na=1--;\nb=2\n")
    assert doc.lines[1].stray_end
    assert doc.lines[2].kind == Kind.EMPTY  # depth is -1: main/config.c skips the line


def test_unterminated_block_leaves_depth_open() -> None:
    assert ConfigFile.from_text("[s]\n;-- never closed\na=1\n").open_depth == 1


def test_sections_templates_options() -> None:
    lines = kinds("[plain]\n[tmpl](!)\n[child](tmpl,other)\n[x](+type=aor)\n[y] (!)\n")
    assert lines == [
        (Kind.SECTION, "plain", ""),
        (Kind.SECTION, "tmpl", "!"),
        (Kind.SECTION, "child", "tmpl,other"),
        (Kind.SECTION, "x", "+type=aor"),
        (Kind.SECTION, "y", ""),  # a blank before '(' means no options at all
    ]


def test_section_errors() -> None:
    assert kinds("[broken\n")[0][0] == Kind.BAD_SECTION
    assert kinds("[broken](!\n")[0][0] == Kind.BAD_SECTION


def test_settings_operators() -> None:
    doc = ConfigFile.from_text("[s]\nexten => 1,1,Answer()\nmatch += ,1.2.3.4\n key = v \n")
    ext, app, plain = doc.lines[1], doc.lines[2], doc.lines[3]
    assert (ext.kind, ext.name, ext.op, ext.value) == (Kind.SETTING, "exten", "=>",
                                                       "1,1,Answer()")
    assert (app.name, app.op, app.value) == ("match", "+=", " ,1.2.3.4")
    assert (plain.name, plain.value) == ("key", "v")


def test_quotes_are_kept_literally() -> None:
    assert kinds('[s]\ncallerid="Foo" <123>\n')[1] == (Kind.SETTING, "callerid",
                                                      '"Foo" <123>')


def test_odd_lines() -> None:
    lines = kinds("[s]\njust text\n= value\n\\ bad\n\\[odd]=1\n")
    assert [k for k, _, _ in lines] == [Kind.SECTION, Kind.NO_EQUALS, Kind.NO_NAME,
                                        Kind.BAD_ESCAPE, Kind.SETTING]
    assert lines[4][1] == "[odd]"


def test_directives_are_dequoted() -> None:
    lines = kinds('#include "a b.conf"\n#tryinclude <x.conf>\n#exec /bin/true\n#foo bar\n')
    assert [(n, v) for _, n, v in lines] == [("include", "a b.conf"), ("tryinclude", "x.conf"),
                                             ("exec", "/bin/true"), ("foo", "bar")]


def test_bom_crlf_and_nul() -> None:
    doc = ConfigFile.from_text("\ufeff[s]\r\na=1\r\nb=2\x00junk=3\r\n")
    assert doc.lines[0].name == "s"
    assert doc.lines[1].value == "1"  # the CR is a blank to ast_strip()
    assert (doc.lines[2].name, doc.lines[2].value) == ("b", "2")  # C strings stop at NUL


def test_long_lines_are_skipped() -> None:
    short = "a=" + "x" * (MAX_LINE_BYTES - 3)  # 8190 bytes
    long = "a=" + "x" * (MAX_LINE_BYTES - 2)  # 8191 bytes
    doc = ConfigFile.from_text(f"[s]\n{short}\n{long}\n")
    assert [line.kind for line in doc.lines] == [Kind.SECTION, Kind.SETTING, Kind.TOO_LONG]
    wide = "a=" + "é" * 4095  # 8192 bytes in UTF-8, 4097 characters
    assert ConfigFile.from_text(f"[s]\n{wide}\n").lines[1].kind == Kind.TOO_LONG
