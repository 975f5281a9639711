"""The core stays importable without Textual: only trunkconsole.tui may import it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import trunkconsole


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(trunkconsole.__path__, "trunkconsole."):
        if not info.name.startswith("trunkconsole.tui"):
            names.append(info.name)
    return names


def test_core_never_imports_textual() -> None:
    modules = core_modules()
    assert "trunkconsole.ami.connection" in modules
    assert "trunkconsole.lab.lab" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual',))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"core imported: {out.stdout.strip()}"


def test_version_does_not_import_textual() -> None:
    code = ("import sys\nfrom trunkconsole.cli.main import build_parser\nbuild_parser()\n"
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
