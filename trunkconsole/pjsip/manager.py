"""manager.conf: AMI [general] settings and users with their read/write classes.

The class parser is main/manager.c get_perm()/ast_instring(): case-sensitive, no blank
trimming; every token but the last matches a class by prefix (`sys` grants system, an
empty token grants every class including `all`), and the last token must equal the class
name exactly. So `read = system, call` does not grant `call` (reference 6.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trunkconsole.conf.tree import LoadedConfig, Variable
from trunkconsole.pjsip.objects import is_true

CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
           "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test",
           "security", "message")


def instring(bigstr: str, smallstr: str) -> bool:
    """ast_instring(bigstr, smallstr, ','): the quirky token match described above."""
    tokens = bigstr.split(",")
    for token in tokens[:-1]:
        if smallstr.startswith(token):
            return True
    return tokens[-1] == smallstr


def classes(value: str) -> frozenset[str]:
    """The classes a read= or write= value grants ("all" expands to every class)."""
    granted = {name for name in CLASSES if instring(value, name)}
    if instring(value, "all"):
        granted.update(CLASSES)
    return frozenset(granted)


@dataclass
class ManagerUser:
    """An AMI user section."""

    name: str
    file: str
    line: int
    has_secret: bool = False
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    read_line: Variable | None = None
    write_line: Variable | None = None
    writetimeout: int = 100
    acl: list[Variable] = field(default_factory=list)  # deny/permit/acl lines

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "file": self.file, "line": self.line,
                "has_secret": self.has_secret, "read": sorted(self.read),
                "write": sorted(self.write), "writetimeout": self.writetimeout}


@dataclass
class ManagerConfig:
    """manager.conf as main/manager.c reads it."""

    found: bool = False
    enabled: bool = False
    port: int = 5038
    bindaddr: str = "::"
    users: dict[str, ManagerUser] = field(default_factory=dict)


def manager_config(conf: LoadedConfig | None) -> ManagerConfig:
    """Users and [general] from a loaded manager.conf."""
    result = ManagerConfig(found=conf is not None and conf.found and conf.valid)
    if conf is None or not result.found:
        return result
    general = conf.first("general")
    if general is not None:
        enabled = general.get("enabled")
        result.enabled = enabled is not None and is_true(enabled.value)
        port = general.get("port")
        if port is not None and port.value.isdigit():
            result.port = int(port.value)
        bind = general.get("bindaddr")
        if bind is not None:
            result.bindaddr = bind.value
    for cat in conf.sections():
        if cat.name.lower() == "general" or cat.name in result.users:
            continue
        user = ManagerUser(cat.name, cat.file, cat.line)
        for var in cat.variables:
            key = var.name.lower()
            if key == "secret":
                user.has_secret = bool(var.value)
            elif key == "read":
                user.read, user.read_line = classes(var.value), var
            elif key == "write":
                user.write, user.write_line = classes(var.value), var
            elif key == "writetimeout" and var.value.isdigit():
                user.writetimeout = max(100, int(var.value))
            elif key in ("deny", "permit", "acl"):
                user.acl.append(var)
        result.users[cat.name] = user
    return result
