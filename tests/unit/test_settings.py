"""Settings: flags over environment over config.yaml; the secret never prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkconsole.errors import OperatorError
from trunkconsole.settings import SECRET_ENV, Secret, resolve_settings, save_setting


@pytest.fixture(autouse=True)
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.yaml"
    monkeypatch.setenv("TRUNKCONSOLE_CONFIG", str(path))
    monkeypatch.delenv(SECRET_ENV, raising=False)
    return path


def test_defaults_without_config() -> None:
    settings = resolve_settings(environ={})
    assert settings.ami.address == "127.0.0.1:5038"
    assert settings.ami.username == "trunkconsole"
    assert not settings.ami.secret
    assert settings.asterisk_dir == Path("/etc/asterisk")


def test_config_file_then_env_then_flags(config_file: Path, tmp_path: Path) -> None:
    config_file.write_text(
        "ami:\n  host: 10.9.9.9\n  port: 5039\n  username: ops\n  secret: from-config\n"
        "theme: trunk-light\nreadonly: true\n")
    settings = resolve_settings(environ={})
    ami = settings.ami
    assert (ami.host, ami.port, ami.username) == ("10.9.9.9", 5039, "ops")
    assert settings.ami.secret.reveal() == "from-config"
    assert settings.readonly
    assert settings.theme == "trunk-light"

    settings = resolve_settings(environ={SECRET_ENV: "from-env"})
    assert settings.ami.secret.reveal() == "from-env"
    assert settings.ami.secret_source == f"${SECRET_ENV}"

    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    settings = resolve_settings(host="127.0.0.2", port=6000, secret_file=secret_file,
                                environ={SECRET_ENV: "from-env"})
    assert settings.ami.secret.reveal() == "from-file"
    assert settings.ami.address == "127.0.0.2:6000"


def test_secret_never_prints(tmp_path: Path) -> None:
    secret = Secret("hunter2-very-secret")
    settings = resolve_settings(environ={SECRET_ENV: secret.reveal()})
    for text in (repr(secret), str(secret), f"{secret}", repr(settings), str(settings.ami)):
        assert "hunter2" not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [("ami: [1, 2\n", "not valid YAML"), ("- a\n- b\n", "mapping"),
     ("ami:\n  port: 99999\n", "not a port"), ("ami: nope\n", "must be a mapping")],
)
def test_bad_config_is_a_clear_error(config_file: Path, content: str, message: str) -> None:
    config_file.write_text(content)
    with pytest.raises(OperatorError, match=message):
        resolve_settings(environ={})


def test_unreadable_or_empty_secret_file(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="cannot read AMI secret file"):
        resolve_settings(secret_file=tmp_path / "missing", environ={})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(OperatorError, match="is empty"):
        resolve_settings(secret_file=empty, environ={})


def test_save_setting_keeps_other_keys(config_file: Path) -> None:
    config_file.write_text("ami:\n  host: 10.1.1.1\n")
    save_setting("theme", "trunk-light")
    settings = resolve_settings(environ={})
    assert settings.theme == "trunk-light"
    assert settings.ami.host == "10.1.1.1"
