"""Operator settings: ~/.config/trunkconsole/config.yaml, flags and environment.

Precedence for every value: command-line flag, then environment, then config.yaml, then
the default. The AMI secret never comes from argv (it would show in `ps`): only from a
file (--secret-file or `ami.secret_file`), TRUNKCONSOLE_AMI_SECRET, or config.yaml.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trunkconsole.errors import OperatorError
from trunkconsole.readable import open_regular, read_regular
from trunkconsole.visible import echo

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5038
DEFAULT_USERNAME = "trunkconsole"
DEFAULT_ASTERISK_DIR = Path("/etc/asterisk")
SECRET_ENV = "TRUNKCONSOLE_AMI_SECRET"
CONFIG_ENV = "TRUNKCONSOLE_CONFIG"
MAX_SETTINGS_BYTES = 1 << 20  # config.yaml is a few lines; a bigger one is not ours


class Secret:
    """A string that never prints itself (repr, str, f-strings, tracebacks, logs)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it (the AMI Login)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class AmiTarget:
    """Where and as whom to log in to AMI, and where each value came from."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    username: str = DEFAULT_USERNAME
    secret: Secret = field(default_factory=lambda: Secret(""))
    secret_source: str = "none"

    @property
    def address(self) -> str:
        """host:port as shown to the operator."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Settings:
    """Everything the front ends need to start."""

    ami: AmiTarget
    asterisk_dir: Path = DEFAULT_ASTERISK_DIR
    theme: str = "trunk-dark"
    keymap: dict[str, str] = field(default_factory=dict)
    readonly: bool = False
    mouse: bool = True
    config_path: Path | None = None


def config_path() -> Path:
    """Path of config.yaml (TRUNKCONSOLE_CONFIG overrides, for tests and several profiles)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trunkconsole" / "config.yaml"


def load_config_file(path: Path) -> dict[str, Any]:
    """Read config.yaml; a missing file is an empty config, a broken one is an error."""
    try:
        raw = read_regular(path, MAX_SETTINGS_BYTES, "settings file")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise OperatorError(
            f"cannot read settings file {path}", evidence=exc.strerror or str(exc)
        ) from exc
    if len(raw) > MAX_SETTINGS_BYTES:
        raise OperatorError(f"settings file {path} is larger than {MAX_SETTINGS_BYTES >> 10} KB",
                            fix="correct the file or move it away")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise OperatorError(f"settings file {path} is not UTF-8 text",
                            fix="correct the file or move it away") from exc
    except yaml.YAMLError as exc:
        raise OperatorError(
            f"settings file {path} is not valid YAML",
            evidence=str(exc).splitlines()[0],
            fix="correct the file or move it away",
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OperatorError(f"settings file {path} must hold a mapping at the top level")
    return data


_warned: set[str] = set()


def read_secret_file(path: Path) -> Secret:
    """Read an AMI secret from a file: first line, trailing newline stripped.

    Warns (once, on stderr) when every user may read the file."""
    try:
        with os.fdopen(open_regular(path, "AMI secret file"), "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read(64 * 1024)
    except OSError as exc:
        raise OperatorError(
            f"cannot read AMI secret file {path}",
            evidence=exc.strerror or str(exc),
            fix="check the path and that this user may read it",
        ) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OperatorError(f"AMI secret file {path} is not UTF-8 text",
                            evidence="(content not shown)",
                            fix="write the secret as UTF-8 (as in manager.conf), one line"
                            ) from None
    if info.st_mode & 0o004 and str(path) not in _warned:
        _warned.add(str(path))
        echo(f"trunkconsole: warning: AMI secret file {path} is readable by every "
             f"user (mode {info.st_mode & 0o777:04o}): chmod 600 {path}", file=sys.stderr)
    lines = text.split("\n")
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise OperatorError(f"AMI secret file {path} is empty")
    return Secret(secret)


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise OperatorError(f"settings: '{key}' must be a mapping")
    return value


def _port(value: object, source: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise OperatorError(f"AMI port from {source} is not a port number: {value!r}")
    return port


def resolve_settings(
    *,
    host: str | None = None,
    port: int | None = None,
    username: str | None = None,
    secret_file: Path | None = None,
    asterisk_dir: Path | None = None,
    readonly: bool | None = None,
    mouse: bool | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Combine flags, environment and config.yaml into Settings."""
    env = os.environ if environ is None else environ
    path = config_path()
    data = load_config_file(path)
    ami_conf = _section(data, "ami")

    secret = Secret("")
    source = "none"
    if secret_file is not None:
        secret, source = read_secret_file(secret_file), f"file {secret_file}"
    elif env.get(SECRET_ENV):
        secret, source = Secret(env[SECRET_ENV]), f"${SECRET_ENV}"
    elif ami_conf.get("secret_file"):
        conf_file = Path(str(ami_conf["secret_file"])).expanduser()
        secret, source = read_secret_file(conf_file), f"file {conf_file}"
    elif ami_conf.get("secret"):
        secret, source = Secret(str(ami_conf["secret"])), f"{path}"

    target = AmiTarget(
        host=host or str(ami_conf.get("host") or DEFAULT_HOST),
        port=port if port is not None else _port(ami_conf.get("port", DEFAULT_PORT), str(path)),
        username=username or str(ami_conf.get("username") or DEFAULT_USERNAME),
        secret=secret,
        secret_source=source,
    )
    keymap = data.get("keymap") or {}
    if not isinstance(keymap, dict):
        raise OperatorError(f"settings: 'keymap' in {path} must be a mapping of id: key")
    return Settings(
        ami=target,
        asterisk_dir=asterisk_dir
        or Path(str(data.get("asterisk_dir") or DEFAULT_ASTERISK_DIR)),
        theme=str(data.get("theme") or "trunk-dark"),
        keymap={str(k): str(v) for k, v in keymap.items()},
        readonly=bool(data.get("readonly", False)) if readonly is None else readonly,
        mouse=bool(data.get("mouse", True)) if mouse is None else mouse,
        config_path=path,
    )


def _with_setting(text: str, key: str, value: object) -> str:
    """text with the top-level `key:` line (and its indented continuation) replaced, or
    appended: every other line, comments included, as it was."""
    entry = yaml.safe_dump({key: value}, default_flow_style=False, sort_keys=False)
    lines = text.splitlines(keepends=True)
    head = re.compile(rf"{re.escape(key)}\s*:")
    for i, line in enumerate(lines):
        if head.match(line):
            end = i + 1
            while end < len(lines) and (lines[end][:1] in (" ", "\t")
                                        or not lines[end].strip()):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1  # keep the blank lines before the next key
            return "".join(lines[:i]) + entry + "".join(lines[end:])
    if text and not text.endswith("\n"):
        text += "\n"
    return text + entry


def configured_asterisk_dir(flag: Path | None) -> Path:
    """The Asterisk config directory as resolve_settings() finds it, without reading the
    AMI secret: the flag, else config.yaml's asterisk_dir, else /etc/asterisk."""
    if flag is not None:
        return Path(flag)
    return Path(str(load_config_file(config_path()).get("asterisk_dir") or DEFAULT_ASTERISK_DIR))


def save_setting(key: str, value: object) -> None:
    """Remember one top-level setting (e.g. the theme) in config.yaml, atomically, keeping
    its comments, its mode (it may hold the AMI secret: 0600 stays 0600) and a symlink
    (dotfile managers link it) pointing where it pointed."""
    path = Path(os.path.realpath(config_path()))
    data = load_config_file(path)
    try:
        text = path.read_text(encoding="utf-8")
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        text, mode = "", 0o600
    except (OSError, UnicodeDecodeError) as exc:
        raise OperatorError(f"cannot read settings file {path}", evidence=str(exc)) from exc
    new = _with_setting(text, key, value)
    expected = {**data, key: value}
    try:
        ok = yaml.safe_load(new) == expected
    except yaml.YAMLError:
        ok = False
    if not ok:  # an unusual layout: write it plainly rather than wrongly
        new = yaml.safe_dump(expected, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, mode)
            os.write(fd, new.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OperatorError(f"cannot save settings to {path}",
                            evidence=exc.strerror or str(exc)) from exc
