"""Add an address to a fail2ban jail's `ignoreip`, as the smallest edit of a .local file.

fail2ban reads jail.conf, jail.d/*.conf, jail.local, jail.d/*.local in that order, the
last value of an option winning (man jail.conf). So:
- when a .local file already sets `ignoreip` in the jail's section, the address is
  appended to that value, where it is;
- otherwise jail.local gets `ignoreip = %(known/ignoreip)s ADDRESS` in the jail's section
  (created when missing): `known/` keeps what the earlier files (or [DEFAULT]) ignore.
  fail2ban 1.0.2 refuses `%(known/ignoreip)s` when no file defines ignoreip at all ("Bad
  value substitution"; jail.conf ships it commented out), so then the line is just the
  address.
The .conf files belong to the package and are never edited.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from trunkconsole.changes.files import FileSnapshot, snapshot
from trunkconsole.errors import OperatorError

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^(?P<key>[A-Za-z0-9_./-]+)\s*[=:]\s*(?P<value>.*)$")
JAIL_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


@dataclass(frozen=True)
class Setting:
    """Where an option is set: file, section, first and last line index of its value."""

    path: Path
    section: str
    first: int
    last: int
    value: str


def read_order(config_dir: Path) -> list[Path]:
    """jail.conf, jail.d/*.conf, jail.local, jail.d/*.local (those that exist)."""
    jail_d = config_dir / "jail.d"
    files = [config_dir / "jail.conf", *sorted(jail_d.glob("*.conf")),
             config_dir / "jail.local", *sorted(jail_d.glob("*.local"))]
    return [f for f in files if f.is_file()]


def find_settings(path: Path, text: str, option: str) -> list[Setting]:
    """Every `option = ...` (with continuation lines) in text, with its section."""
    found: list[Setting] = []
    section = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        head = _SECTION.match(line)
        if head:
            section = head.group("name").strip()
        else:
            opt = _OPTION.match(line)
            if opt and opt.group("key").strip().lower() == option:
                last = index
                values = [opt.group("value")]
                while last + 1 < len(lines) and lines[last + 1][:1] in (" ", "\t") and \
                        lines[last + 1].strip() and not lines[last + 1].lstrip().startswith(
                            ("#", ";")):
                    last += 1
                    values.append(lines[last].strip())
                found.append(Setting(path, section, index, last, " ".join(values)))
                index = last
        index += 1
    return found


def _tokens(value: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", value) if t]


def _covered(address: str, tokens: list[str]) -> bool:
    ip = ipaddress.ip_address(address)
    for token in tokens:
        try:
            if ip in ipaddress.ip_network(token, strict=False):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class IgnorePlan:
    """The file to change (with the snapshot it was computed from) and its new text;
    new_text is None when the address is already ignored by the jail's last setting."""

    before: FileSnapshot
    new_text: str | None
    reason: str


def plan_ignore(config_dir: Path, jail: str, address: str) -> IgnorePlan:
    """Where and how to add address to [jail] ignoreip."""
    if not JAIL_NAME.match(jail):
        raise OperatorError(f"{jail!r} is not a fail2ban jail name")
    try:
        address = str(ipaddress.ip_network(address, strict=False)) if "/" in address \
            else str(ipaddress.ip_address(address))
    except ValueError as exc:
        raise OperatorError(f"{address!r} is not an IP address or network") from exc
    if not (config_dir / "jail.conf").is_file() and not (config_dir / "jail.local").is_file():
        raise OperatorError(f"{config_dir} holds no jail.conf or jail.local",
                            fix="give fail2ban's configuration directory (--fail2ban-dir)")
    in_jail: list[Setting] = []
    defined = False
    for path in read_order(config_dir):
        text = path.read_text(errors="surrogateescape")
        for setting in find_settings(path, text, "ignoreip"):
            if setting.section == jail:
                in_jail.append(setting)
                defined = True
            elif setting.section.upper() == "DEFAULT":
                defined = True
    last = in_jail[-1] if in_jail else None
    if last is not None and last.path.suffix == ".local":
        snap = snapshot(last.path)
        if _covered(address.split("/")[0], _tokens(last.value)):
            return IgnorePlan(snap, None, f"{address} is already in ignoreip of [{jail}] "
                              f"({last.path}:{last.first + 1})")
        text = snap.content.decode("utf-8", "surrogateescape")
        lines = text.splitlines(keepends=True)
        end = lines[last.last]
        body = end.rstrip("\r\n")
        lines[last.last] = f"{body} {address}" + end[len(body):]
        if not lines[last.last].endswith("\n"):
            lines[last.last] += "\n"
        return IgnorePlan(snap, "".join(lines),
                          f"appended to ignoreip of [{jail}] at {last.path}:{last.first + 1}")
    path = config_dir / "jail.local"
    snap = snapshot(path)
    text = snap.content.decode("utf-8", "surrogateescape") if snap.exists else ""
    line = f"ignoreip = {'%(known/ignoreip)s ' if defined else ''}{address}\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    for index, current in enumerate(lines):
        head = _SECTION.match(current.rstrip("\r\n"))
        if head and head.group("name").strip() == jail:
            lines.insert(index + 1, line)
            return IgnorePlan(snap, "".join(lines), f"added to [{jail}] in {path}")
    if lines and lines[-1].strip():
        lines.append("\n")
    lines += [f"[{jail}]\n", line]
    return IgnorePlan(snap, "".join(lines), f"new [{jail}] section in {path}")
