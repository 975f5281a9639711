"""Every way text reaches the terminal goes through trunkconsole.visible (checked in the source).

- CLI: no print(), sys.stdout/stderr.write or json.dump(stream) outside visible.py: every
  line goes through echo() (visible_lines), JSON through visible_json.
- TUI: rich Text is built with a literal or through plain()/plain_lines(); a Text's
  append() takes a literal or visible()/visible_lines(); Select options, palette hits and
  notifications built from values go through them too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "trunkconsole"
SAFE_CALLS = {"visible", "visible_lines", "plain", "plain_lines"}


def modules(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if p.name != "visible.py")


def is_safe(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.IfExp):
        return is_safe(node.body) and is_safe(node.orelse)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in SAFE_CALLS)


def text_names(tree: ast.AST) -> set[str]:
    """Names bound to a rich Text in a module (assigned from Text/plain or annotated)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(
                node.value.func, ast.Name) and node.value.func.id in {"Text", *SAFE_CALLS}:
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and (
                isinstance(node.annotation, ast.Name) and node.annotation.id == "Text"):
            names.add(node.target.id)
        if isinstance(node, ast.arg) and isinstance(node.annotation, ast.Name) and (
                node.annotation.id == "Text"):
            names.add(node.arg)
    return names


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"


def test_the_cli_prints_only_through_echo() -> None:
    offenders = []
    for path in modules(PACKAGE):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "print":
                offenders.append(where(path, node))
            if isinstance(func, ast.Attribute) and func.attr in {"write", "writelines"} and (
                    isinstance(func.value, ast.Attribute) and func.value.attr in {
                        "stdout", "stderr"}):
                offenders.append(where(path, node))
            if isinstance(func, ast.Attribute) and func.attr == "dump" and (
                    isinstance(func.value, ast.Name) and func.value.id == "json"):
                offenders.append(where(path, node))
    assert offenders == []


def test_the_tui_builds_text_only_from_visible_values() -> None:
    offenders = []
    for path in modules(PACKAGE / "tui"):
        tree = ast.parse(path.read_text())
        texts = text_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func, first = node.func, node.args[0]
            if isinstance(func, ast.Name) and func.id == "Text" and not is_safe(first):
                offenders.append(where(path, node))
            if isinstance(func, ast.Attribute) and func.attr == "append" and isinstance(
                    func.value, ast.Name) and func.value.id in texts and not is_safe(first):
                offenders.append(where(path, node))
            # str prompts and messages are parsed as markup and keep ESC: values go through
            # visible() or plain(); literals and f-strings of our own are fine for notify.
            if isinstance(func, ast.Attribute) and func.attr in {"notify"} and not (
                    is_safe(first) or isinstance(first, ast.JoinedStr)):
                offenders.append(where(path, node))
    assert offenders == []


def test_the_guard_sees_a_raw_value() -> None:
    """The checks above are not vacuous: they flag the shapes they are meant to flag."""
    tree = ast.parse("t = Text(name)\nt.append(caller)\nprint(x)\n")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert [is_safe(c.args[0]) for c in calls] == [False, False, False]
    assert text_names(tree) == {"t"}
    assert is_safe(ast.parse("plain(x)", mode="eval").body)
