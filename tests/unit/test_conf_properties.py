"""Property tests: any text round-trips; edits leave every untouched line byte-identical."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.edit import EditError, add_section, add_setting, remove_line, set_value
from trunkconsole.conf.lines import Kind, Line
from trunkconsole.conf.loader import Documents, Loader

# Fragments that exercise every branch of the scanner, mixed with arbitrary text.
FRAGMENTS = st.sampled_from([
    "[s]", "[t](!)", "[u](t)", "[s](+)", "[s](+type=aor)", "key=value", "key => v", "k+=x",
    "match=1.2.3.4", " ; comment", ";--", "--;", ";---", "\\;", "#include x.conf",
    "#tryinclude y.conf", "#exec /bin/true", "\\", "=", "\r", "\t", " ", "\ufeff", "\x00",
    "é", "[", "]", "(", ")", ",",
])
LINE = st.lists(st.one_of(FRAGMENTS, st.text(max_size=6)), max_size=6).map("".join)
CONFIG_TEXT = st.lists(LINE, max_size=30).map(lambda lines: "\n".join(lines)) | st.text()


@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    assert ConfigFile.from_text(text).render_text() == text


@given(st.binary())
def test_any_bytes_round_trip(data: bytes) -> None:
    doc = ConfigFile.from_bytes(data)
    assert doc.render() == data
    _ = doc.lines  # scanning arbitrary bytes never raises


@given(CONFIG_TEXT)
def test_config_like_text_round_trips_after_scanning(text: str) -> None:
    doc = ConfigFile.from_text(text)
    _ = doc.lines
    assert doc.render_text() == text


@settings(max_examples=150, deadline=None)
@given(CONFIG_TEXT)
def test_loader_inline_path_equals_scanner_path(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pjsip.conf").write_text(text, errors="surrogateescape")
        (directory / "x.conf").write_text("[inc]\nk=v\n")
        fast = Loader(Documents(directory)).load("pjsip.conf")
        slow_loader = Loader(Documents(directory))
        slow_loader.inline = False
        slow = slow_loader.load("pjsip.conf")

    def snap(config: object) -> object:
        from trunkconsole.conf.tree import LoadedConfig

        assert isinstance(config, LoadedConfig)
        return ([(c.name, c.template, [(v.name, v.value, v.line, v.object)
                                       for v in c.variables]) for c in config.categories],
                config.issues, config.valid)

    assert snap(fast) == snap(slow)


EDIT = st.tuples(st.sampled_from(["add", "set", "remove", "section"]),
                 st.integers(min_value=0, max_value=1000),
                 st.sampled_from(["match", "allow", "context", "new_key"]),
                 st.sampled_from(["203.0.113.9", "a;b", "x", "sip:p\\;lr"]))

BASE = st.lists(st.sampled_from([
    "[trunk]", "[trunk](!)", "type=endpoint", "match = 198.51.100.1", "  allow=ulaw",
    "context=from-x ; comment", "; just a comment", "", ";-- block", "--;", "\tmatch=1.1.1.1",
    "[other]", "key => value",
]), min_size=1, max_size=25)


@settings(max_examples=200, deadline=None)
@given(BASE, st.sampled_from(["\n", "\r\n"]), st.booleans(), st.lists(EDIT, max_size=8))
def test_edits_touch_only_their_lines(base: list[str], newline: str, final_newline: bool,
                                      edits: list[tuple[str, int, str, str]]) -> None:
    text = newline.join(base) + (newline if final_newline else "")
    doc = ConfigFile.from_text(text)
    originals: list[tuple[Line, str]] = [(line, line.raw) for line in doc.lines]
    touched: set[int] = set()
    for action, pick, key, value in edits:
        lines = doc.lines
        headers = [i for i, line in enumerate(lines) if line.kind == Kind.SECTION]
        settings_at = [i for i, line in enumerate(lines) if line.kind == Kind.SETTING]
        try:
            if action == "add" and headers:
                changed = add_setting(doc, headers[pick % len(headers)], key, value)
            elif action == "set" and settings_at:
                changed = set_value(doc, settings_at[pick % len(settings_at)], value)
            elif action == "remove" and lines:
                removed = lines[pick % len(lines)]
                touched.add(id(removed))
                changed = remove_line(doc, pick % len(lines))
            elif action == "section":
                changed = add_section(doc, f"new{pick}", [(key, value)])
            else:
                continue
        except EditError:
            continue
        touched.update(id(line) for line in changed)
        if action == "set":
            # the setting now reads back exactly what was asked
            target = changed[0]
            assert target.kind == Kind.SETTING
            assert target.value == value
    survivors = [(line, raw) for line, raw in originals if id(line) not in touched]
    present = [line for line in doc.lines if any(line is s for s, _ in survivors)]
    assert [id(line) for line in present] == [id(line) for line, _ in survivors]  # order kept
    for line, raw in survivors:
        assert line.raw == raw  # byte-identical
    assert doc.render_text() == "".join(line.raw for line in doc.lines)


def test_add_setting_goes_after_its_group_in_the_file_style() -> None:
    text = ("[a]\ntype = identify\nmatch = 1.1.1.1\nmatch = 2.2.2.2\nendpoint = a\n\n"
            "; next\n[b]\nx=1\n")
    doc = ConfigFile.from_text(text)
    add_setting(doc, 0, "match", "3.3.3.3")
    add_setting(doc, 0, "context", "c;d")
    assert doc.render_text() == (
        "[a]\ntype = identify\nmatch = 1.1.1.1\nmatch = 2.2.2.2\nmatch = 3.3.3.3\n"
        "endpoint = a\ncontext = c\\;d\n\n; next\n[b]\nx=1\n")


def test_set_value_keeps_comment_and_spacing() -> None:
    doc = ConfigFile.from_text("[a]\r\n  match  =  1.1.1.1   ; old provider\r\n")
    set_value(doc, 1, "203.0.113.5")
    assert doc.render_text() == "[a]\r\n  match  =  203.0.113.5   ; old provider\r\n"


def test_add_section_at_end_without_final_newline() -> None:
    doc = ConfigFile.from_text("[a]\nx=1")
    add_section(doc, "b", [("type", "aor"), ("contact", "sip:203.0.113.1")])
    assert doc.render_text() == "[a]\nx=1\n\n[b]\ntype=aor\ncontact=sip:203.0.113.1\n"
