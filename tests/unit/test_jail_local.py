"""The ignoreip edit, judged by the real fail2ban: `fail2ban-client -c DIR -d` parses the
configuration exactly as the server would (no server needed) and dumps the jail's
effective ignore list. Every layout must keep what was ignored before and add the address.
The stock files are the Debian package's (/etc/fail2ban, package fail2ban in setup.sh).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

from trunkconsole.changes.jail_local import plan_ignore
from trunkconsole.errors import OperatorError

STOCK = Path("/etc/fail2ban")
NEW = "203.0.113.12"

pytestmark = pytest.mark.skipif(shutil.which("fail2ban-client") is None or
                                not (STOCK / "jail.conf").is_file(),
                                reason="fail2ban is not installed (apt-get install fail2ban)")


def stock_dir(tmp_path: Path) -> Path:
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("fail2ban.conf", "jail.conf", "paths-common.conf", "paths-debian.conf"):
        shutil.copy2(STOCK / name, etc / name)
    for name in ("filter.d", "action.d"):
        shutil.copytree(STOCK / name, etc / name, ignore=shutil.ignore_patterns("*.local"))
    (etc / "jail.d").mkdir()
    (tmp_path / "security.log").touch()
    return etc


def effective_ignoreip(etc: Path, jail: str = "asterisk") -> list[str]:
    """The jail's ignore list as fail2ban itself computes it."""
    proc = subprocess.run(["fail2ban-client", "-c", str(etc), "-d"], capture_output=True,
                          text=True, timeout=30)
    assert "ERROR" not in proc.stderr, proc.stderr
    for line in proc.stdout.splitlines():
        if line.startswith("['set', '" + jail + "', 'addignoreip'"):
            return [str(x) for x in ast.literal_eval(line)[3:]]
    return []


def apply_plan(etc: Path, address: str = NEW, jail: str = "asterisk") -> Path:
    plan = plan_ignore(etc, jail, address)
    assert plan.new_text is not None, plan.reason
    plan.before.path.write_text(plan.new_text)
    return plan.before.path


def enable(tmp_path: Path) -> str:
    return f"enabled = true\nlogpath = {tmp_path / 'security.log'}\nbackend = polling\n"


LAYOUTS = {
    # name: (jail.local or None, {jail.d file: text}, ignore list before)
    "no jail.local at all (jail enabled in jail.d/*.conf)": (
        None, {"asterisk.conf": "[asterisk]\n{enable}"}, []),
    "ignoreip nowhere (jail.conf ships it commented out)": (
        "[asterisk]\n{enable}", {}, []),
    "DEFAULT ignoreip in jail.local": (
        "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 192.0.2.0/24\n\n[asterisk]\n{enable}", {},
        ["127.0.0.1/8", "::1", "192.0.2.0/24"]),
    "jail's own ignoreip, comma separated, continued on the next line": (
        "[asterisk]\n{enable}ignoreip = 127.0.0.1/8, ::1,\n    198.51.100.0/24\n", {},
        ["127.0.0.1/8", "::1", "198.51.100.0/24"]),
    "jail's ignoreip in a jail.d .local that wins over jail.local": (
        "[asterisk]\n{enable}ignoreip = 10.0.0.1\n",
        {"zz-office.local": "[asterisk]\nignoreip = 192.0.2.10 ::1\n"},
        ["192.0.2.10", "::1"]),
    "jail's ignoreip in jail.d/*.conf (package side): kept through known/": (
        "[asterisk]\n{enable}", {"asterisk.conf": "[asterisk]\nignoreip = 192.0.2.10\n"},
        ["192.0.2.10"]),
    "jail.local without the jail's section, no final newline": (
        "[DEFAULT]\nignoreip = 127.0.0.1/8", {"asterisk.conf": "[asterisk]\n{enable}"},
        ["127.0.0.1/8"]),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_fail2ban_ignores_the_address_and_keeps_the_rest(tmp_path: Path, layout: str) -> None:
    etc = stock_dir(tmp_path)
    local, drop_ins, before = LAYOUTS[layout]
    if local is not None:
        (etc / "jail.local").write_text(local.format(enable=enable(tmp_path)))
    for name, body in drop_ins.items():
        (etc / "jail.d" / name).write_text(body.format(enable=enable(tmp_path)))
    assert effective_ignoreip(etc) == before
    untouched = {p: p.read_bytes() for p in etc.rglob("*.conf")}
    apply_plan(etc)
    assert effective_ignoreip(etc) == [*before, NEW]
    assert {p: p.read_bytes() for p in etc.rglob("*.conf")} == untouched  # package files
    again = plan_ignore(etc, "asterisk", NEW)
    assert again.new_text is None
    assert "already" in again.reason


def test_a_network_already_ignored_needs_no_edit(tmp_path: Path) -> None:
    etc = stock_dir(tmp_path)
    (etc / "jail.local").write_text(f"[asterisk]\n{enable(tmp_path)}"
                                    "ignoreip = 203.0.113.0/24\n")
    assert plan_ignore(etc, "asterisk", NEW).new_text is None


@pytest.mark.parametrize(("jail", "address"), [
    ("asterisk]\n[sshd", NEW), ("asterisk", "203.0.113.12\nbantime = 1"),
    ("asterisk", "provider.example"), ("", NEW),
])
def test_bad_input_changes_nothing(tmp_path: Path, jail: str, address: str) -> None:
    etc = stock_dir(tmp_path)
    (etc / "jail.local").write_text("[asterisk]\nenabled = true\n")
    with pytest.raises(OperatorError):
        plan_ignore(etc, jail, address)
    assert (etc / "jail.local").read_text() == "[asterisk]\nenabled = true\n"


def test_not_a_fail2ban_directory(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match=r"no jail\.conf"):
        plan_ignore(tmp_path, "asterisk", NEW)
