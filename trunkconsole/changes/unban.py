"""Lift a fail2ban ban for good: ignoreip in jail.local (reviewed diff), reload, unban.

Order matters: the ignoreip line first, then `fail2ban-client reload` (a reload restores
the bans from fail2ban's database, even of an address the new ignoreip covers: seen with
fail2ban 1.0.2), then `fail2ban-client set JAIL unbanip ADDRESS`. Verified by asking the
server (the address is no longer banned and is ignored) and the kernel (no fail2ban set
or chain holds it any more). A reload that fails (a config error) rolls the file back
and reloads again; the unban is not undone by a rollback, nor needed to be.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from trunkconsole.changes.changeset import ChangeSet, HostStep, Unchanged, Verdict
from trunkconsole.changes.jail_local import plan_ignore
from trunkconsole.errors import OperatorError
from trunkconsole.net.fail2ban import (
    DEFAULT_CONFIG,
    Runner,
    Server,
    find_servers,
    parse_ignoreip,
    parse_jail_list,
    run_client,
)


@dataclass
class UnbanPlan:
    changeset: ChangeSet
    jail: str
    address: str
    config_dir: Path
    server: Server | None


def _address(text: str) -> str:
    if any(ch in text for ch in "\r\n\x00 "):
        raise OperatorError(f"{text!r} is not an IP address")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as exc:
        raise OperatorError(f"{text!r} is not an IP address",
                            fix="give the banned address, e.g. 203.0.113.12") from exc


def _tail(out: str, err: str, rc: int) -> str:
    """The client's last error line, without its logging prefix (time, pid)."""
    lines = (err or out).strip().splitlines()
    errors = [line for line in lines if "ERROR" in line and "Init of command line" not in line]
    if errors:
        return errors[0][errors[0].index("ERROR"):][:300]
    return lines[-1][-200:] if lines else f"exit {rc}"


def jails_banning(server: Server, address: str, run: Runner = run_client) -> list[str]:
    """`fail2ban-client banned ADDRESS` -> `[['asterisk']]`: the jails that ban it."""
    rc, out, _ = run([*server.client(), "banned", address])
    if rc != 0:
        return []
    return [name.strip(" '\"") for name in out.strip().strip("[]").replace("[", "").
            replace("]", "").split(",") if name.strip(" '\"")]


def plan_unban(address: str, jail: str | None = None, *, config_dir: Path | None = None,
               ignore: bool = True, run: Runner = run_client,
               servers: list[Server] | None = None) -> UnbanPlan:
    """The reviewed change that stops fail2ban banning address in jail."""
    address = _address(address)
    servers = find_servers() if servers is None else servers
    server = next((s for s in servers if config_dir is None or s.config_dir == config_dir),
                  None)
    if server is None and servers and config_dir is not None:
        server = Server(servers[0].pid, config_dir, servers[0].socket)
    directory = config_dir or (server.config_dir if server else DEFAULT_CONFIG)
    if server is not None:
        rc, out, err = run([*server.client(), "status"])
        if rc != 0:
            raise OperatorError("fail2ban-client cannot reach the server",
                                evidence=_tail(out, err, rc),
                                fix=f"check that fail2ban runs with {directory}")
        jails = parse_jail_list(out)
        if jail is None:
            banning = jails_banning(server, address, run)
            if len(banning) != 1:
                raise OperatorError(
                    f"{address} is banned by {len(banning)} jails" if banning else
                    f"no fail2ban jail bans {address} now",
                    evidence=", ".join(banning) or "fail2ban-client banned: none",
                    fix="name the jail: --jail JAIL (jails: " + ", ".join(jails) + ")")
            jail = banning[0]
        elif jail not in jails:
            raise OperatorError(f"fail2ban has no jail {jail!r}",
                                evidence="jails: " + (", ".join(jails) or "none"))
    if jail is None:
        raise OperatorError("fail2ban is not running here: name the jail (--jail JAIL)")
    changeset = ChangeSet(title=f"fail2ban: stop banning {address} in jail {jail}")
    if ignore:
        plan = plan_ignore(directory, jail, address)
        if plan.new_text is None and server is not None and not _banned(server, jail,
                                                                         address, run):
            raise Unchanged(f"fail2ban jail {jail} ignores {address} and does not ban it",
                            evidence=plan.reason)
        if plan.new_text is not None:
            changeset.add(plan.before.path, plan.new_text.encode("utf-8", "surrogateescape"),
                          plan.before)
            changeset.title += f" (ignoreip {plan.reason})"
        else:
            changeset.notes.append(plan.reason + ": only the ban is lifted")
    if server is None:
        changeset.notes.append(
            "fail2ban-server is not running here: the ignoreip takes effect when it starts; "
            "a ban left in the kernel stays until removed by hand")
        return UnbanPlan(changeset, jail, address, directory, None)
    client = server.client()

    async def call(*args: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(run, [*client, *args])

    async def reload() -> Verdict:
        rc, out, err = await call("reload")
        return Verdict(rc == 0, "OK" if rc == 0 else _tail(out, err, rc))

    async def unban() -> Verdict:
        rc, out, err = await call("set", jail, "unbanip", address)
        return Verdict(rc == 0, f"{out.strip() or 'done'} ({address})" if rc == 0
                       else _tail(out, err, rc))

    async def verify() -> Verdict:
        rc, out, err = await call("get", jail, "banip")
        if rc != 0:
            return Verdict(False, f"fail2ban-client get {jail} banip: {_tail(out, err, rc)}")
        if address in out.split():
            return Verdict(False, f"fail2ban still bans {address} in jail {jail}")
        details = [f"fail2ban no longer bans {address} in jail {jail}"]
        if ignore:
            rc, out, err = await call("get", jail, "ignoreip")
            ignored = [t for t in parse_ignoreip(out) if _within(address, t)]
            if rc != 0 or not ignored:
                return Verdict(False, f"{address} is not in jail {jail}'s ignoreip after "
                               "the reload")
            details.append(f"ignored ({ignored[0]})")
        kernel = await asyncio.to_thread(_kernel_bans, address)
        if kernel:
            return Verdict(False, f"the kernel still holds the ban: {kernel}")
        details.append("no fail2ban set or chain holds it")
        return Verdict(True, "; ".join(details))

    if changeset.changes:
        changeset.host_steps.append(HostStep("fail2ban-client reload", reload))
    changeset.host_steps.append(HostStep(f"fail2ban-client set {jail} unbanip {address}",
                                         unban, again_on_rollback=False))
    changeset.host_verify = verify
    return UnbanPlan(changeset, jail, address, directory, server)


def _banned(server: Server, jail: str, address: str, run: Runner) -> bool:
    rc, out, _err = run([*server.client(), "get", jail, "banip"])
    return rc != 0 or address in out.split()  # unknown: treat as banned (unban is harmless)


def _within(address: str, token: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(token, strict=False)
    except ValueError:
        return False


def _kernel_bans(address: str) -> str:
    """fail2ban bans of address the firewall still holds ('' when none or unreadable)."""
    from trunkconsole.net.bans import BanIndex
    from trunkconsole.net.collect import read_ruleset

    try:
        ruleset = read_ruleset()
    except OperatorError:
        return ""
    left = [b.where for b in BanIndex(ruleset=ruleset).lookup(address) if b.tool == "fail2ban"]
    return "; ".join(left)
