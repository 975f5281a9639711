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
from trunkconsole.pjsip.manager import manager_config
from trunkconsole.settings import AmiTarget, Secret

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
    """manager.conf with its #includes: trunkconsole.conf loads it as main/config.c does,
    trunkconsole.pjsip.manager grants classes as get_perm() does; secrets are read here."""
    path = config_dir / "manager.conf"
    loaded = load_config(config_dir, "manager.conf")
    if not loaded.found:
        raise OperatorError(f"{path} does not exist",
                            fix="pass --username and --secret-file, or run on the PBX")
    if not loaded.valid:
        fatal = [i for i in loaded.issues if i.level.value == "fatal"]
        raise OperatorError(
            f"{path} cannot be used: Asterisk would reject it too",
            evidence="; ".join(f"{i.location()}: {i.message}" for i in fatal[:3]),
            fix="correct manager.conf, or pass --username and --secret-file")
    conf = manager_config(loaded)
    users: list[ManagerUser] = []
    for conf_user in conf.users.values():
        cat = loaded.first(conf_user.name)
        secret = cat.get("secret") if cat is not None else None
        users.append(ManagerUser(
            name=conf_user.name,
            secret=Secret(secret.value if secret is not None else ""),
            read=conf_user.read,
            write=conf_user.write,
            read_text=conf_user.read_line.value if conf_user.read_line else "",
            write_text=conf_user.write_line.value if conf_user.write_line else "",
            location=f"{conf_user.file}:{conf_user.line}",
        ))
    return ManagerConfig(path=path, enabled=conf.enabled, bindaddr=conf.bindaddr,
                         port=conf.port, users=tuple(users))


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


def user_target(config_dir: Path, username: str) -> tuple[AmiTarget, list[str]]:
    """The named user from manager.conf, even if it lacks classes; and what it lacks."""
    conf = read_manager_conf(config_dir)
    for user in conf.users:
        if user.name == username and user.secret:
            host = "127.0.0.1" if conf.bindaddr in ("0.0.0.0", "::", "[::]", "") \
                else conf.bindaddr
            gaps = [] if user.sufficient() else [
                f"AMI user '{user.name}' ({user.location}) lacks {explain_missing(user)}"
                f"{_trap_hint(user.read_text) or _trap_hint(user.write_text)}"]
            return AmiTarget(host=host, port=conf.port, username=user.name,
                             secret=user.secret, secret_source=user.location), gaps
    raise OperatorError(f"no AMI user [{username}] with a secret in {conf.path}",
                        fix="pass --secret-file, or add the user to manager.conf")
