"""A change command with --json prints its outcome object even when the planner fails in a
way no check foresaw (an OSError on a path, a bug): one object on stdout, one line on
stderr, never a traceback. The fault is injected (a real config cannot produce a bug on
demand); everything around it is the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trunkconsole.changes import identify_review
from trunkconsole.cli import main as climain

KEYS = {"ok", "changed", "dry_run", "change", "diff", "steps", "backup", "rolled_back",
        "verified", "findings", "error"}


@pytest.mark.parametrize(("exc", "code", "what"), [
    (OSError(13, "Permission denied", "/etc/asterisk/pjsip.conf"), 3,
     "cannot use /etc/asterisk/pjsip.conf: Permission denied"),
    (TypeError("\x1b]0;boom\x07"), 70, "internal error: TypeError: "),
])
def test_unforeseen_failure_is_still_one_object(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        exc: Exception, code: int, what: str) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(identify_review, "plan_identify_add_reviewed", fail)
    (tmp_path / "pjsip.conf").write_text("[carrier]\ntype=endpoint\n")
    with pytest.raises(SystemExit) as exit_info:
        climain.main(["--config-dir", str(tmp_path), "identify", "add", "carrier",
                      "203.0.113.12", "--json", "--dry-run"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == code
    data = json.loads(out)
    assert set(data) == KEYS
    assert (data["ok"], data["changed"], data["dry_run"]) == (False, False, True)
    assert data["error"]["what"].startswith(what)
    assert "\x1b" not in out + err
    assert "Traceback" not in err
    assert err.count("trunkconsole: ") == 1


def test_without_json_stdout_stays_empty(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(13, "Permission denied", "/x")

    monkeypatch.setattr(identify_review, "plan_identify_add_reviewed", fail)
    (tmp_path / "pjsip.conf").write_text("[carrier]\ntype=endpoint\n")
    with pytest.raises(SystemExit) as exit_info:
        climain.main(["--config-dir", str(tmp_path), "identify", "add", "carrier",
                      "203.0.113.12", "--dry-run"])
    out, err = capsys.readouterr()
    assert (exit_info.value.code, out) == (3, "")
    assert "cannot use /x: Permission denied" in err
