"""AMI user discovery from manager.conf, with Asterisk's class-matching traps."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.ami.credentials import discover, read_manager_conf
from trunkconsole.errors import OperatorError

GENERAL = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = 5039\n"


def _write(tmp_path: Path, text: str, extra: dict[str, str] | None = None) -> Path:
    (tmp_path / "manager.conf").write_text(text)
    for name, body in (extra or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    return tmp_path


def test_picks_the_user_whose_classes_suffice(tmp_path: Path) -> None:
    conf = _write(tmp_path, GENERAL + "[weak]\nsecret=a\nread=system\nwrite=system\n"
                  "[good]\nsecret=b\nread=system,call,security\nwrite=system,command\n")
    target = discover(conf)
    assert target.username == "good"
    assert target.secret.reveal() == "b"
    assert (target.host, target.port) == ("127.0.0.1", 5039)
    assert "b" not in repr(target)  # the secret never prints


def test_space_after_comma_grants_only_the_first_class(tmp_path: Path) -> None:
    conf = _write(tmp_path, GENERAL + "[ops]\nsecret=x\nread = system, call, security\n"
                  "write = system\n")
    with pytest.raises(OperatorError) as exc:
        discover(conf)
    text = exc.value.render()
    assert "read=call" in text
    assert "read=security" in text
    assert "read=system (" not in text
    assert "space after a comma" in text
    assert "x" not in text.split("evidence")[0] or "secret" not in text


def test_class_names_are_case_sensitive(tmp_path: Path) -> None:
    conf = _write(tmp_path, GENERAL + "[ops]\nsecret=x\nread=system,call,Security\n"
                  "write=system\n")
    with pytest.raises(OperatorError) as exc:
        discover(conf)
    assert "read=security" in exc.value.render()
    assert "case sensitive" in exc.value.render()


def test_prefix_and_empty_middle_token(tmp_path: Path) -> None:
    conf = _write(tmp_path, GENERAL + "[a]\nsecret=x\nread=sys,,x\nwrite=sys,config\n")
    users = {u.name: u for u in read_manager_conf(conf).users}
    assert "security" in users["a"].read  # the empty middle token grants everything
    assert "system" in users["a"].write  # `sys` is a prefix of system (not the last token)
    assert discover(conf).username == "a"


def test_users_in_an_included_manager_d(tmp_path: Path) -> None:
    conf = _write(tmp_path, GENERAL + "#include manager.d/*.conf\n",
                  {"manager.d/tc.conf": "[tc]\nsecret=y\nread=system,call,security\n"
                   "write=system\n"})
    target = discover(conf)
    assert target.username == "tc"
    assert "manager.d/tc.conf" in target.secret_source


def test_broken_manager_conf_is_reported(tmp_path: Path) -> None:
    conf = _write(tmp_path, GENERAL + "#include missing.conf\n")
    with pytest.raises(OperatorError, match="cannot be used"):
        discover(conf)


def test_ami_disabled_says_so(tmp_path: Path) -> None:
    conf = _write(tmp_path, "[general]\nenabled=no\n[tc]\nsecret=y\nread=all\nwrite=all\n")
    with pytest.raises(OperatorError, match="AMI is disabled"):
        discover(conf)


def test_preferred_user_wins_when_both_qualify(tmp_path: Path) -> None:
    body = "secret=s\nread=system,call,security\nwrite=system\n"
    conf = _write(tmp_path, GENERAL + f"[admin]\n{body}[trunkconsole]\n{body}")
    assert discover(conf, prefer="trunkconsole").username == "trunkconsole"
