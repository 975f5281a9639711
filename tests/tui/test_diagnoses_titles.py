"""Every finding the Diagnoses screen can list has a short title that fits its "what" column.

The screen lists diagnose.engine's DIAGNOSES and the log findings (logs/, journal/); a
finding without `short=` would show its long title cut ("the provider of trunk c"), so the
source of each of them is read and every `Finding(...)` there must pass a literal `short`.
"""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

from trunkconsole.diagnose.engine import DIAGNOSES
from trunkconsole.journal import past
from trunkconsole.logs import findings as log_findings
from trunkconsole.tui.screens.diagnoses import WHAT_WIDTH


def listed_modules() -> list[ModuleType]:
    modules = {inspect.getmodule(check) for check in DIAGNOSES} | {log_findings, past}
    return sorted((m for m in modules if m is not None), key=lambda m: m.__name__)


def finding_calls(module: ModuleType) -> list[ast.Call]:
    tree = ast.parse(inspect.getsource(module))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name) and node.func.id == "Finding"]


def test_every_listed_finding_has_a_short_title_that_fits() -> None:
    modules = listed_modules()
    assert len(modules) >= 8, [m.__name__ for m in modules]
    checked = 0
    for module in modules:
        for call in finding_calls(module):
            where = f"{module.__name__}:{call.lineno}"
            short = next((k.value for k in call.keywords if k.arg == "short"), None)
            assert isinstance(short, ast.Constant), f"{where}: Finding without a short title"
            assert isinstance(short.value, str), where
            assert 0 < len(short.value) <= WHAT_WIDTH, f"{where}: {short.value!r}"
            checked += 1
    assert checked >= 15, checked
