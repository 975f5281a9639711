"""Every config file the Debian asterisk package ships parses and round-trips exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.conf.document import ConfigFile
from trunkconsole.conf.loader import load_config
from trunkconsole.conf.tree import IssueLevel
from trunkconsole.pjsip.lint import config_findings
from trunkconsole.pjsip.system import load_asterisk

# The lab's cached root filesystem (trunkconsole lab up builds it); a scratch copy is
# accepted while developing.
CANDIDATES = (Path("/var/cache/trunkconsole/rootfs-sid-asterisk"), Path("/tmp/rfs/sid"))


def shipped_dir() -> Path | None:
    for root in CANDIDATES:
        if (root / "etc/asterisk/pjsip.conf").is_file():
            return root / "etc/asterisk"
    return None


# Shipped files that are not in Asterisk's config grammar at all (read by AEL, Lua, a
# shell script, libss7 and dbsep.cgi), and one sample that Asterisk itself cannot parse:
# cel_sqlite3_custom.conf sets values= with its [master] header commented out.
EXPECTED_FATAL = {
    "ast_debug_tools.conf": ("no-section", 27),
    "dbsep.conf": ("no-section", 25),
    "extensions.ael": ("no-section", 30),
    "extensions.lua": ("no-section", 3),
    "ss7.timers": ("no-section", 8),
    "cel_sqlite3_custom.conf": ("no-section", 64),
}

ETC = shipped_dir()
FILES = sorted(p for p in ETC.iterdir() if p.is_file()) if ETC else []
needs_rootfs = pytest.mark.skipif(
    ETC is None, reason="no Asterisk root filesystem: run `trunkconsole lab up` first "
    f"(looked in {', '.join(map(str, CANDIDATES))})")


@needs_rootfs
def test_there_are_many_shipped_files() -> None:
    assert len(FILES) >= 100


@needs_rootfs
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shipped_file_round_trips_and_parses(path: Path) -> None:
    assert ETC is not None
    data = path.read_bytes()
    doc = ConfigFile.from_bytes(data, name=path.name)
    _ = doc.lines
    assert doc.render() == data
    loaded = load_config(ETC, path.name)
    assert loaded.found
    fatal = [(issue.code, issue.line) for issue in loaded.issues
             if issue.level == IssueLevel.FATAL]
    assert fatal == ([EXPECTED_FATAL[path.name]] if path.name in EXPECTED_FATAL else [])


@needs_rootfs
def test_shipped_directory_checks_without_critical_findings() -> None:
    assert ETC is not None
    findings = config_findings(load_asterisk(ETC))
    assert [f for f in findings if f.severity >= 2] == []
