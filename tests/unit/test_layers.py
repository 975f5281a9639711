"""The layer contracts of pyproject.toml ([tool.importlinter]), checked by import-linter.

Besides tests/unit/test_core_is_textual_free.py (which imports the core in a subprocess),
this reads every import statement, including the lazy ones inside functions: core never
imports tui or Textual, the model never imports changes, only changes/ calls its writers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, check=False)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "4 kept, 0 broken" in report, report
