"""Find an AMI user on the PBX itself: manager.conf (and what it #includes, e.g. manager.d).

Asterisk grants a class when `ast_instring()` finds it in the `read=`/`write=` list
(main/manager.c get_perm): tokens are split on ',' with no whitespace trimming, compared
case-sensitively, every token but the last as a *prefix* (so an empty middle token grants
everything) and the last one exactly. `read = system, call` therefore grants only system
(reference asterisk-ami-pjsip.md §6.2). The last `read=` line of a section wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trunkconsole.conf.loader import load_config
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget, Secret

# main/manager.c perms[] (20/22). "all" grants every class.
CLASSES: tuple[str, ...] = (
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
    "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
    "message", "all",
)
# What the live dashboard needs, and why (said when one is missing).
REQUIRED_READ: dict[str, str] = {
    "system": "contact status, registrations, reloads and FullyBooted",
    "call": "channels and hangup causes",
    "security": "unknown senders (InvalidAccountID)",
}
REQUIRED_WRITE: dict[str, str] = {
    "system": "PJSIPShowEndpoints and the other PJSIP listings",
}
OPTIONAL_WRITE: dict[str, str] = {
    "command": "CLI commands (uptime, SIP logger)",
    "config": "reloads after a reviewed change",
}


def instring(classes: str, label: str) -> bool:
    """ast_instring(classes, label, ','): prefix for inner tokens, exact for the last."""
    tokens = classes.split(",")
    for token in tokens[:-1]:
        if label.startswith(token):
            return True
    return tokens[-1] == label


def granted(classes: str | None) -> frozenset[str]:
    """The classes a `read=`/`write=` value grants, as Asterisk computes them."""
    if classes is None:
        return frozenset()
    if instring(classes, "all"):
        return frozenset(CLASSES)
    return frozenset(label for label in CLASSES if instring(classes, label))


@dataclass(frozen=True)
class ManagerUser:
    """One [user] of manager.conf; the secret never prints."""

    name: str
    secret: Secret
    read: frozenset[str]
    write: frozenset[str]
    read_text: str
    write_text: str
    location: str

    def missing(self) -> dict[str, list[str]]:
        """Required classes this user lacks: {"read": [...], "write": [...]}."""
        return {
            "read": [c for c in REQUIRED_READ if c not in self.read],
            "write": [c for c in REQUIRED_WRITE if c not in self.write],
        }

    def sufficient(self) -> bool:
        gaps = self.missing()
        return not gaps["read"] and not gaps["write"]


@dataclass(frozen=True)
class ManagerConfig:
    """What manager.conf says about AMI on this PBX."""

    path: Path
    enabled: bool
    bindaddr: str
    port: int
    users: tuple[ManagerUser, ...] = field(default_factory=tuple)


def read_manager_conf(config_dir: Path) -> ManagerConfig:
    """Load manager.conf with its #includes (trunkconsole.conf follows main/config.c)."""
    path = config_dir / "manager.conf"
    loaded = load_config(config_dir, "manager.conf")
    if not loaded.found:
        raise OperatorError(f"{path} does not exist",
                            fix="pass --username and --secret-file, or run on the PBX")
    general = loaded.first("general")

    def setting(key: str, default: str) -> str:
        var = general.get(key) if general is not None else None
        return var.value.strip() if var is not None else default

    enabled = setting("enabled", "no").lower() in ("yes", "true", "y", "t", "1", "on")
    try:
        port = int(setting("port", "5038"))
    except ValueError:
        port = 5038
    users: list[ManagerUser] = []
    for cat in loaded.sections():
        if cat.name.lower() == "general":
            continue
        secret = cat.get("secret")
        read, write = cat.get("read"), cat.get("write")
        users.append(ManagerUser(
            name=cat.name,
            secret=Secret(secret.value if secret is not None else ""),
            read=granted(read.value if read is not None else None),
            write=granted(write.value if write is not None else None),
            read_text=read.value if read is not None else "",
            write_text=write.value if write is not None else "",
            location=f"{cat.file}:{cat.line}",
        ))
    return ManagerConfig(path=path, enabled=enabled, bindaddr=setting("bindaddr", "0.0.0.0"),
                         port=port, users=tuple(users))


def explain_missing(user: ManagerUser) -> str:
    """'read=security (unknown senders ...)' for each missing class."""
    gaps = user.missing()
    parts = [f"read={c} ({REQUIRED_READ[c]})" for c in gaps["read"]]
    parts += [f"write={c} ({REQUIRED_WRITE[c]})" for c in gaps["write"]]
    return ", ".join(parts)


def _trap_hint(text: str) -> str:
    if any(tok != tok.strip() for tok in text.split(",")):
        return " (a space after a comma makes the next class name not match)"
    if text != text.lower():
        return " (class names are case sensitive: write them in lower case)"
    return ""


def discover(config_dir: Path, prefer: str | None = None) -> AmiTarget:
    """Pick an AMI user whose read/write classes suffice; say exactly what is missing if none.

    prefer: a username to use if it qualifies (e.g. "trunkconsole" or --username).
    """
    conf = read_manager_conf(config_dir)
    if not conf.enabled:
        raise OperatorError(
            f"AMI is disabled in {conf.path}",
            evidence="[general] enabled is not yes",
            fix="set enabled = yes (and bindaddr = 127.0.0.1) in [general], then "
            "`asterisk -rx 'manager reload'`",
        )
    usable = [u for u in conf.users if u.secret]
    if prefer is not None:
        usable.sort(key=lambda u: u.name != prefer)
    for user in usable:
        if user.sufficient():
            host = "127.0.0.1" if conf.bindaddr in ("0.0.0.0", "::", "[::]", "") \
                else conf.bindaddr
            return AmiTarget(host=host, port=conf.port, username=user.name,
                             secret=user.secret, secret_source=f"{user.location}")
    if not usable:
        raise OperatorError(
            f"no AMI user with a secret in {conf.path}",
            fix="add a [trunkconsole] user: secret=..., read=system,call,security,reporting, "
            "write=system,command,reporting,config",
        )
    best = min(usable, key=lambda u: (len(u.missing()["read"]) + len(u.missing()["write"]),
                                      u.name != prefer))
    hint = _trap_hint(best.read_text) or _trap_hint(best.write_text)
    raise OperatorError(
        f"no AMI user in {conf.path} has the classes trunkconsole needs",
        evidence=f"[{best.name}] ({best.location}) read = {best.read_text!r}, "
        f"write = {best.write_text!r}: lacks {explain_missing(best)}{hint}",
        fix=f"in [{best.name}] write read = system,call,security,reporting and "
        "write = system,command,reporting,config (no spaces), then `manager reload`",
    )
