"""Loading with #include, templates and (+), as ast_config_load() does."""

from __future__ import annotations

import os
from pathlib import Path

from trunkconsole.conf.loader import Documents, Loader, load_config
from trunkconsole.conf.tree import IssueLevel, LoadedConfig


def write(directory: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return directory


def load(tmp_path: Path, files: dict[str, str | bytes], top: str = "pjsip.conf") -> LoadedConfig:
    return load_config(write(tmp_path, files), top)


def flat(config: LoadedConfig) -> list[tuple[str, bool, list[tuple[str, str]]]]:
    return [(cat.name, cat.template, [(v.name, v.value) for v in cat.variables])
            for cat in config.categories]


def codes(config: LoadedConfig) -> list[str]:
    return [issue.code for issue in config.issues]


def test_inheritance_copies_bases_in_order_before_own(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a](!)\nx=1\n[b]\ny=2\n[c](a,b)\nz=3\nx=4\n"})
    assert flat(config)[2] == ("c", False, [("x", "1"), ("y", "2"), ("z", "3"), ("x", "4")])
    c = config.categories[2]
    assert [c.inherited(v) for v in c.variables] == [True, True, False, False]
    last = c.get("x")
    assert last is not None
    assert last.value == "4"


def test_base_must_exist_earlier(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[c](later)\nz=1\n[later](!)\n"})
    assert not config.valid
    assert codes(config) == ["base-missing"]
    assert config.issues[0].line == 1


def test_append_and_filtered_append(tmp_path: Path) -> None:
    text = ("[6001]\ntype=endpoint\n[6001]\ntype=aor\n"
            "[6001](+)\ncontext=a\n[6001](+type=aor)\nmax_contacts=1\n")
    config = load(tmp_path, {"pjsip.conf": text})
    assert flat(config) == [
        ("6001", False, [("type", "endpoint"), ("context", "a")]),
        ("6001", False, [("type", "aor"), ("max_contacts", "1")]),
    ]
    assert [o.line for o in config.categories[1].additions] == [7]


def test_append_to_missing_section_is_fatal(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a]\nx=1\n[b](+)\ny=2\n"})
    assert not config.valid
    assert codes(config) == ["append-missing"]
    assert flat(config) == [("a", False, [("x", "1")])]  # nothing after the error


def test_plus_equals_appends_to_last_same_key(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[s]\nmatch=1.1.1.1\nmatch=2.2.2.2\nmatch+=,3.3.3.3\n"
                                           "new+=x\n"})
    assert flat(config)[0][2] == [("match", "1.1.1.1"), ("match", "2.2.2.2,3.3.3.3"),
                                  ("new", "x")]
    appended = config.categories[0].variables[1]
    assert (appended.line, [o.line for o in appended.appended]) == (3, [4])


def test_include_relative_to_config_dir_and_glob_order(tmp_path: Path) -> None:
    config = load(tmp_path, {
        "pjsip.conf": "[top]\na=1\n#include sub/inc.conf\nb=2\n",
        "sub/inc.conf": "c=3\n#include pjsip.d/*.conf\n[inner]\nd=4\n",
        "pjsip.d/2.conf": "[two]\n",
        "pjsip.d/1.conf": "[one]\n",
    })
    # c=3 attaches to the current section [top]; after the include, pjsip.conf carries on
    # with its own [top], not with the included file's last section.
    assert flat(config) == [("top", False, [("a", "1"), ("c", "3"), ("b", "2")]),
                            ("one", False, []), ("two", False, []), ("inner", False, [("d", "4")])]
    assert config.files == ["pjsip.conf", "sub/inc.conf", "pjsip.d/1.conf", "pjsip.d/2.conf"]
    assert config.valid


def test_missing_include_invalidates_top_file(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a]\n#include nope.conf\n[b]\n"})
    assert not config.valid
    assert codes(config) == ["include-missing"]
    assert config.issues[0].line == 2


def test_empty_glob_is_a_missing_include(tmp_path: Path) -> None:
    (tmp_path / "pjsip.d").mkdir()
    config = load(tmp_path, {"pjsip.conf": "[a]\n#include pjsip.d/*.conf\n"})
    assert codes(config) == ["include-missing"]


def test_tryinclude_missing_is_fine(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a]\n#tryinclude nope.conf\n[b]\n"})
    assert config.valid
    assert codes(config) == []
    assert len(config.categories) == 2


def test_error_in_included_file_drops_only_its_rest(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a]\n#include bad.conf\n[c]\n",
                             "bad.conf": "[b]\nx=1\n[broken\ny=2\n"})
    assert config.valid  # the parent carries on
    assert flat(config) == [("a", False, []), ("b", False, [("x", "1")]), ("c", False, [])]
    assert (config.issues[0].file, config.issues[0].line) == ("bad.conf", 3)


def test_include_loop_is_reported_and_bounded(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a]\n#include loop.conf\n",
                             "loop.conf": "x=1\n#include loop.conf\n"})
    assert "include-loop" in codes(config)
    assert "include-depth" in codes(config)
    # Asterisk follows the loop to 10 levels: x=1 is added 9 times before it gives up.
    assert len(config.categories[0].variables) == 9


def test_exec_is_recorded_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config = load(tmp_path, {"pjsip.conf": f"[a]\n#exec /bin/touch {marker}\n"})
    assert not marker.exists()
    assert [(i.directive, i.argument) for i in config.includes] == [("exec",
                                                                     f"/bin/touch {marker}")]
    assert config.issues[0].level == IssueLevel.NOTE


def test_unreadable_and_odd_files_never_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.conf")
    big = tmp_path / "big.conf"
    with open(big, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB without writing it
    write(tmp_path, {"junk.conf": bytes(range(256)) * 64,
                     "pjsip.conf": "[a]\n#tryinclude fifo.conf\n#include big.conf\n"
                                   "#include junk.conf\n[b]\nok=1\n"})
    config = load_config(tmp_path, "pjsip.conf")
    assert codes(config)[:2] == ["unreadable", "unreadable"]  # the FIFO, the 100 MB file
    assert config.valid
    assert [cat.name for cat in config.categories][-1] == "b"


def test_include_of_a_fifo_fails_like_a_missing_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.conf")
    config = load(tmp_path, {"pjsip.conf": "[a]\n#include fifo.conf\n"})
    assert codes(config) == ["unreadable", "include-missing"]
    assert not config.valid


def test_key_value_before_any_section_is_fatal(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "x=1\n[a]\n"})
    assert not config.valid
    assert codes(config) == ["no-section"]


def test_unterminated_comment_reported_with_its_line(tmp_path: Path) -> None:
    config = load(tmp_path, {"pjsip.conf": "[a]\nx=1\n;-- open\ny=2\n"})
    assert [(i.code, i.line) for i in config.issues] == [("unterminated-comment", 3)]
    assert flat(config) == [("a", False, [("x", "1")])]


TRICKY = ("\ufeff[a](!)\nx = 1\ny => 2\n[b](a)\n z=3 ; c\n\\;w=4\n[b](+)\n"
          "m=1\nm+=,2\n#include other.conf\n;-- c\n[hidden]\n--; [d]\nq=\"x\"\n"
          "[e](+type=^x$)\n")


def both_paths(directory: Path) -> tuple[LoadedConfig, LoadedConfig]:
    fast = Loader(Documents(directory)).load("pjsip.conf")
    slow_loader = Loader(Documents(directory))
    slow_loader.inline = False
    return fast, slow_loader.load("pjsip.conf")


def snapshot(config: LoadedConfig) -> object:
    return ([(c.name, c.template, c.bases, [(v.name, v.value, v.file, v.line, v.section,
                                             v.object) for v in c.variables])
             for c in config.categories], config.issues, config.valid)


def test_inline_fast_path_agrees_with_scanner(tmp_path: Path) -> None:
    write(tmp_path, {"pjsip.conf": TRICKY, "other.conf": "k=v\n[e]\nx=1\n"})
    fast, slow = both_paths(tmp_path)
    assert snapshot(fast) == snapshot(slow)
    assert [(c.name, [(v.name, v.value, v.line) for v in c.variables])
            for c in fast.categories] == [
        ("a", [("x", "1", 2), ("y", "2", 3)]),
        ("b", [("x", "1", 2), ("y", "2", 3), ("z", "3", 5), (";w", "4", 6), ("m", "1,2", 8),
               ("k", "v", 1)]),
        ("e", [("x", "1", 3)]),
        ("d", [("q", '"x"', 14)]),
    ]
