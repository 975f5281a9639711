"""Installed from a built wheel, trunkconsole finds its themes and the lab's configs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_data_and_finds_it(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    [wheel] = (tmp_path / "dist").glob("trunkconsole-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("trunkconsole/_data/themes/trunk-dark.yaml",
                    "trunkconsole/_data/sample-configs/lab/pjsip.conf",
                    "trunkconsole/_data/sample-configs/lab/sipp/uac.xml",
                    "trunkconsole/tui/trunkconsole.tcss"):
        assert shipped in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Run from the unpacked wheel, not the checkout: cwd elsewhere, wheel first on the path.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import trunkconsole, trunkconsole.resources as r\n"
        "from trunkconsole.lab.carrier import scenario\n"
        "assert trunkconsole.__file__.startswith(sys.argv[1]), trunkconsole.__file__\n"
        "print(r.themes_dir()); print(scenario('uac.xml').is_file())\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    themes, has_scenario = out.stdout.split()
    assert themes == str(site / "trunkconsole" / "_data" / "themes")
    assert has_scenario == "True"
