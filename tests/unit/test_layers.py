"""The layer contracts of pyproject.toml ([tool.importlinter]), checked by import-linter.

Besides tests/unit/test_core_is_textual_free.py (which imports the core in a subprocess),
this reads every import statement, including the lazy ones inside functions: core never
imports tui/, cli/, Textual or argparse; cli/ reaches the console only to open it; tui/
never imports cli/; the model and the other readers never import changes/; only changes/
calls its writers. The second test plants one forbidden import per contract in a copy of the
package and expects every contract to break: a contract that cannot fail checks nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"
CONTRACTS = 8

# module (file in the copy) -> the forbidden import planted in it, one or more per contract
PLANTED = {
    "pjsip/lint.py": "import trunkconsole.cli.support",          # core -> cli
    "conf/tree.py": "import trunkconsole.tui.plain",             # core -> tui
    "cli/status.py": "import trunkconsole.tui.rows",             # cli -> tui (not opening it)
    "tui/rows.py": "import trunkconsole.cli.support",            # tui -> cli
    "findings.py": "import textual",                             # core -> Textual
    "timewindow.py": "import argparse",                          # core parses flags
    "model/views.py": "import trunkconsole.diagnose.engine",     # model -> diagnose
    "journal/writer.py": "import trunkconsole.changes.identify", # a reader -> changes
    "diagnose/gather.py": "import trunkconsole.changes.files",   # a writer outside changes
}


def _lint(cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    out = subprocess.run([str(LINT), "--no-cache"], capture_output=True, text=True, cwd=cwd,
                         timeout=120, check=False, env=env)
    return out.returncode, out.stdout + out.stderr


def test_import_contracts_are_kept() -> None:
    code, report = _lint(ROOT)
    assert code == 0, report
    assert f"{CONTRACTS} kept, 0 broken" in report, report


def test_every_contract_breaks_on_a_forbidden_import(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "trunkconsole", tmp_path / "trunkconsole",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, line in PLANTED.items():
        path = tmp_path / "trunkconsole" / module
        path.write_text(path.read_text() + f"\n{line}  # planted by test_layers\n")
    # The copy comes first on the path, before the editable install of the worktree.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    code, report = _lint(tmp_path, env)
    assert code != 0, report
    assert f"0 kept, {CONTRACTS} broken" in report, report
    for line in PLANTED.values():
        imported = line.split()[-1]
        assert re.search(rf"-> {re.escape(imported)}\b", report), (imported, report)
