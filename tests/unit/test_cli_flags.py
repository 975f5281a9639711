"""One flag, one meaning: every common flag before or after every subcommand parses the same.

The parser test walks the real parser, so a new subcommand is covered (or fails here
until its required arguments are listed). The CLI tests run the real command.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trunkconsole.cli.main import build_parser, leaf_parsers
from trunkconsole.cli.support import settings_from_args

ROOT = Path(__file__).resolve().parents[2]

# The arguments each subcommand needs to parse at all.
REQUIRED: dict[tuple[str, ...], list[str]] = {
    ("lab", "up"): [], ("lab", "prepare"): [], ("lab", "down"): [], ("lab", "status"): [],
    ("lab", "call"): [], ("lab", "carrier"): ["answer"], ("lab", "scenario"): ["reset"],
    ("lab", "dialer"): ["15551230001"], ("lab", "console"): [],
    ("status",): [], ("config", "show"): [],
    ("config", "set"): ["endpoint", "carrier", "from_user", "15551230000"],
    ("check",): [], ("logger", "on"): ["--address", "203.0.113.10"], ("logger", "off"): [],
    ("logger", "show"): [], ("logger", "guard"): [],
    ("identify", "add"): ["carrier", "203.0.113.12"],
    ("identify", "remove"): ["carrier", "203.0.113.12"],
    ("trunk", "add"): ["newtrunk", "--provider-ip", "203.0.113.40"],
    ("firewall", "verdict"): ["--src", "203.0.113.10", "--dport", "5060"],
    ("firewall", "report"): [], ("troubleshoot",): ["carrier"],
    ("firewall", "trace"): ["--src", "203.0.113.12"], ("firewall", "trace-guard"): [],
    ("logs", "show"): [], ("logs", "enable"): [], ("watch",): [], ("history",): [],
    ("bundle",): [], ("unban",): ["203.0.113.12"],
    ("preflight",): ["carrier", "--to", "15550001111"],
    ("did", "route"): ["carrier", "--pilot", "15550000000"],
}
SECRET = Path("/nonexistent/ami.secret")
# flag, value typed, attribute, parsed value
COMMON = [
    ("--host", "198.51.100.9", "host", "198.51.100.9"),
    ("--port", "5039", "port", 5039),
    ("--username", "ops", "username", "ops"),
    ("--secret-file", str(SECRET), "secret_file", SECRET),
    ("--config-dir", "/srv/asterisk", "config_dir", Path("/srv/asterisk")),
    ("--readonly", None, "readonly", True),
]
LEAVES = [path for path, _parser in leaf_parsers(build_parser())]


def test_every_subcommand_is_listed() -> None:
    assert sorted(LEAVES) == sorted(REQUIRED), "add the new subcommand's arguments to REQUIRED"


def _typed(flag: str, value: str | None) -> list[str]:
    return [flag] if value is None else [flag, value]


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
@pytest.mark.parametrize(("flag", "value", "attr", "parsed"), COMMON, ids=[c[0] for c in COMMON])
def test_common_flag_means_the_same_before_and_after(path: tuple[str, ...], flag: str,
                                                     value: str | None, attr: str,
                                                     parsed: object) -> None:
    parser = build_parser()
    rest = [*path, *REQUIRED[path]]
    before = parser.parse_args([*_typed(flag, value), *rest])
    after = parser.parse_args([*rest, *_typed(flag, value)])
    absent = parser.parse_args(rest)
    assert getattr(before, attr) == parsed
    assert getattr(after, attr) == parsed
    assert getattr(absent, attr, None) in (None, False)
    others = {a for _f, _v, a, _p in COMMON} - {attr}
    for other in others:  # the flag sets nothing else
        assert getattr(before, other, None) in (None, False)
        assert getattr(after, other, None) in (None, False)


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_resolved_settings_agree_wherever_typed(path: tuple[str, ...], tmp_path: Path) -> None:
    secret = tmp_path / "ami.secret"
    secret.write_text("hunter2\n")
    secret.chmod(0o600)
    flags = ["--host", "198.51.100.9", "--port", "5039", "--username", "ops",
             "--secret-file", str(secret), "--config-dir", str(tmp_path), "--readonly"]
    rest = [*path, *REQUIRED[path]]
    results = []
    for argv in ([*flags, *rest], [*rest, *flags], [*flags[:6], *rest, *flags[6:]]):
        settings = settings_from_args(build_parser().parse_args(argv))
        results.append((settings.ami.host, settings.ami.port, settings.ami.username,
                        settings.ami.secret.reveal(), settings.asterisk_dir, settings.readonly))
    assert results[0] == results[1] == results[2] == (
        "198.51.100.9", 5039, "ops", "hunter2", tmp_path, True)


def test_a_second_meaning_is_refused_when_the_parser_is_built() -> None:
    from trunkconsole.cli.main import add_common_arguments

    same = argparse.ArgumentParser(prog="same")
    same.add_argument("--config-dir", type=Path, default=argparse.SUPPRESS)
    add_common_arguments(same)  # the same flag, declared twice: fine
    other = argparse.ArgumentParser(prog="other")
    other.add_argument("--host", action="append", default=[])  # e.g. a provider address
    with pytest.raises(ValueError, match="--host must be the common flag"):
        add_common_arguments(other)


def test_last_typed_wins() -> None:
    args = build_parser().parse_args(["--port", "5039", "status", "--port", "5040"])
    assert args.port == 5040


@pytest.mark.parametrize("bad", ["0", "65536", "x"])
def test_port_is_checked(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["status", "--port", bad])
    assert "not a port number" in capsys.readouterr().err


def test_logger_address_is_not_the_ami_host() -> None:
    args = build_parser().parse_args(["logger", "on", "--address", "203.0.113.10",
                                      "--host", "127.0.0.2"])
    assert args.addresses == ["203.0.113.10"]
    assert args.host == "127.0.0.2"
    assert isinstance(args, argparse.Namespace)


# -- the real commands ------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCONSOLE_AMI_SECRET"}
    return subprocess.run([sys.executable, "-m", "trunkconsole", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "ami.secret"
    path.write_text("hunter2\n")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("before", [True, False])
def test_status_uses_the_port_wherever_typed(secret: Path, before: bool) -> None:
    flags = ["--port", "9", "--secret-file", str(secret)]
    argv = [*flags, "status", "--timeout", "3"] if before else ["status", "--timeout", "3",
                                                                  *flags]
    out = cli(*argv)
    assert out.returncode == 3
    assert "127.0.0.1:9" in out.stderr
    assert "Traceback" not in out.stderr


def test_logger_on_with_ami_host_and_provider_address(secret: Path) -> None:
    out = cli("logger", "on", "--address", "203.0.113.10", "--host", "127.0.0.2", "--port",
              "9", "--secret-file", str(secret))
    assert out.returncode == 3, out.stderr
    assert "127.0.0.2:9" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("before", [True, False])
def test_config_dir_before_the_subcommand_is_kept(tmp_path: Path, before: bool) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text("[only-here]\ntype=aor\ncontact=sip:203.0.113.10\n")
    argv = (["--config-dir", str(etc), "config", "show"] if before
            else ["config", "show", "--config-dir", str(etc)])
    out = cli(*argv)
    assert out.returncode == 0, out.stderr
    assert "aor only-here" in out.stdout


def test_identify_add_looks_for_credentials_in_its_config_dir(tmp_path: Path) -> None:
    """No secret given: the AMI user comes from manager.conf of --config-dir, not
    /etc/asterisk (the lab test applies through that user for real)."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text("[carrier]\ntype=endpoint\n[carrier]\ntype=identify\n"
                                    "endpoint=carrier\nmatch=203.0.113.10\n")
    for argv in (["identify", "add", "carrier", "203.0.113.12", "--yes", "--config-dir",
                  str(etc)],
                 ["--config-dir", str(etc), "identify", "add", "carrier", "203.0.113.12",
                  "--yes"]):
        out = cli(*argv)
        assert out.returncode == 3, out.stdout + out.stderr
        assert f"{etc}/manager.conf does not exist" in out.stderr
        assert "/etc/asterisk" not in out.stderr
