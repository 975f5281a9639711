"""Who bans an address: fail2ban, CrowdSec or the FreePBX firewall, named from the rules.

The tools are recognised by the names they give their sets and chains (reference
real-hosts §1-3), so a ban is named even when their daemons cannot be asked:
- fail2ban nftables actions: sets `addr-set-<action>` / `addr6-set-<action>` (the stock
  asterisk jail's actions are `asterisk-tcp` and `asterisk-udp`); iptables actions: chain
  `f2b-<action>` with `-s IP -j REJECT` rules; ipset actions: set `f2b-<action>`.
- CrowdSec firewall bouncer: sets `crowdsec-blacklists[-<origin>]` and
  `crowdsec6-blacklists[-<origin>]`, elements with `timeout`/`expires`.
- FreePBX firewall: chain `fpbxblacklist` (`-s NET -j REJECT`); its responsive firewall
  keeps attackers in xt_recent lists (/proc/net/xt_recent/ATTACKER ...), jumping to
  `fpbxattacker` (DROP) or `fpbxshortblock` (REJECT).
A running fail2ban-client, when there is one, gives the jail and the time left.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from trunkconsole.net.crowdsec import BLOCKLIST_ORIGINS, Decision
from trunkconsole.net.fail2ban import Fail2banView
from trunkconsole.net.ir import Field, Match, Prefix, Range, Ruleset, Verdict

_F2B_SET = re.compile(r"^addr6?-set-(?P<action>.+)$")
_F2B_CHAIN = re.compile(r"^f2b-(?P<action>.+)$")
_CROWDSEC_SET = re.compile(r"^crowdsec6?-blacklists(?:-(?P<origin>.+))?$")
_PROTO_SUFFIX = re.compile(r"-(?:tcp|udp|sctp|all)$")
FREEPBX_RECENT = ("ATTACKER",)  # REPEAT/SIGNALLING only count; ATTACKER is dropped

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Ban:
    """One tool blocking one address, and how to lift it."""

    address: str
    tool: str  # fail2ban | crowdsec | freepbx
    where: str  # `set inet f2b-table addr-set-asterisk-udp`
    jail: str = ""  # fail2ban jail (or the action name when fail2ban cannot be asked)
    origin: str = ""  # CrowdSec origin (crowdsec, cscli, lists:...)
    element: str = ""  # the matching element or rule source, when not the address itself
    expires_at: float | None = None  # None: until lifted
    confirmed: bool = False  # the tool itself (fail2ban-client, cscli) reported it
    scenario: str = ""  # CrowdSec: the scenario (or the reason given to cscli)
    decisions: tuple[Decision, ...] = ()  # CrowdSec: the LAPI's decisions behind it
    note: str = ""  # why the tool could not be asked

    def left(self, now: float) -> float | None:
        return None if self.expires_at is None else max(0.0, self.expires_at - now)

    def describe(self, now: float | None = None, *, where: bool = True) -> str:
        """`fail2ban jail asterisk (set inet f2b-table addr-set-asterisk-udp), 9 min left`
        (without `where`: `fail2ban jail asterisk, 9 min left`)."""
        now = time.time() if now is None else now
        who = {"fail2ban": f"fail2ban jail {self.jail}" if self.jail else "fail2ban",
               "crowdsec": "CrowdSec" + (f" ({self.origin}: {self.scenario})" if self.scenario
                                         else f" ({self.origin})" if self.origin else ""),
               "freepbx": "the FreePBX firewall"}.get(self.tool, self.tool)
        place = self.where + (f", element {self.element}" if self.element else "")
        left = self.left(now)
        until = "until lifted" if left is None else f"{_duration(left)} left"
        return f"{who} ({place}), {until}" if where else f"{who}, {until}"

    def marker(self) -> str:
        """`BANNED asterisk`: the tool's own name for the ban, for a table cell."""
        who = {"fail2ban": self.jail or "fail2ban", "crowdsec": "crowdsec",
               "freepbx": "freepbx"}.get(self.tool, self.tool)
        return f"BANNED {who}"

    def lift(self) -> str:
        """The one command that lifts it (fix() says how to keep it lifted)."""
        if self.tool == "fail2ban":
            return f"trunkconsole unban {self.address} --jail {self.jail or 'JAIL'}"
        if self.tool == "crowdsec":
            lifts = dict.fromkeys(d.lift() for d in self.decisions)
            return "; ".join(lifts) or f"cscli decisions delete -i {self.address}"
        if self.tool == "freepbx":
            return f"fwconsole firewall trust {self.address}"
        return ""

    def fix(self) -> str:
        """The commands that lift the ban for good."""
        if self.tool == "fail2ban":
            jail = self.jail or "JAIL"
            return (f"trunkconsole unban {self.address} --jail {jail} (reviewed: adds it to "
                    f"ignoreip of [{jail}] in jail.local, fail2ban-client reload, then "
                    f"fail2ban-client set {jail} unbanip {self.address})")
        if self.tool == "crowdsec":
            again = " (a blocklist decision: the next pull brings it back)" if any(
                d.origin in BLOCKLIST_ORIGINS for d in self.decisions) else ""
            return (f"{self.lift()}{again}; keep it allowed: cscli allowlists create "
                    f"providers -d 'SIP providers' (once), then cscli allowlists add "
                    f"providers {self.address}")
        if self.tool == "freepbx":
            if "fpbxblacklist" in self.where:
                return (f"fwconsole firewall del blacklist {self.element or self.address}; "
                        f"then fwconsole firewall trust {self.address}")
            return (f"fwconsole firewall trust {self.address} (the responsive firewall "
                    "then never blocks it)")
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "tool": self.tool, "where": self.where,
                "jail": self.jail, "origin": self.origin, "element": self.element,
                "expires_at": self.expires_at, "confirmed": self.confirmed,
                "scenario": self.scenario, "note": self.note,
                "decisions": [{"id": d.id, "origin": d.origin, "scenario": d.scenario,
                               "scope": d.scope, "value": d.value, "type": d.type,
                               "left": d.left, "lift": d.lift()} for d in self.decisions],
                "describe": self.describe(), "fix": self.fix()}


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _parse(address: str) -> Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _covers(value: object, ip: Address) -> str | None:
    """The element text when a set element (or rule source) covers ip, else None."""
    try:
        if isinstance(value, str):
            net = ipaddress.ip_network(value, strict=False)
            return value if ip in net else None
        if isinstance(value, Prefix):
            net = ipaddress.ip_network(f"{value.addr}/{value.length}", strict=False)
            return f"{value.addr}/{value.length}" if ip in net else None
        if isinstance(value, Range) and isinstance(value.lo, str) and isinstance(value.hi, str):
            lo, hi = ipaddress.ip_address(value.lo), ipaddress.ip_address(value.hi)
            if lo.version == ip.version and lo <= ip <= hi:  # type: ignore[operator]
                return f"{value.lo}-{value.hi}"
    except ValueError:
        return None
    return None


def element_expiries(document: dict[str, Any] | None, now: float) -> dict[
        tuple[str, str, str, str], float]:
    """(family, table, set, element) -> expiry time, from nft JSON elements with `expires`
    (seconds left at listing time)."""
    found: dict[tuple[str, str, str, str], float] = {}
    for item in (document or {}).get("nftables", []):
        body = item.get("set") if isinstance(item, dict) else None
        if not isinstance(body, dict):
            continue
        elems = body.get("elem") or []
        for elem in elems if isinstance(elems, list) else [elems]:
            if not (isinstance(elem, dict) and isinstance(elem.get("elem"), dict)):
                continue
            inner = elem["elem"]
            expires, value = inner.get("expires"), inner.get("val")
            if isinstance(expires, int | float):
                key = _element_text(value)
                if key:
                    found[(str(body.get("family")), str(body.get("table")),
                           str(body.get("name")), key)] = now + float(expires)
    return found


def _element_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("prefix"), dict):
        return f"{value['prefix'].get('addr')}/{value['prefix'].get('len')}"
    if isinstance(value, dict) and isinstance(value.get("range"), list):
        lo, hi = value["range"]
        return f"{lo}-{hi}"
    return ""


@dataclass
class BanIndex:
    """Everything that can name a ban, read once; lookup per address is cheap."""

    ruleset: Ruleset | None = None
    fail2ban: Fail2banView = field(default_factory=Fail2banView)
    expiries: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    recent: dict[str, set[str]] = field(default_factory=dict)  # xt_recent list -> addresses
    read_at: float = field(default_factory=time.time)
    # `cscli decisions list -i ADDR` (net/crowdsec.py), asked only for addresses a
    # CrowdSec set holds; None: cscli is not installed here
    crowdsec: Callable[[str], tuple[list[Decision], str]] | None = None
    _asked: dict[str, tuple[list[Decision], str]] = field(default_factory=dict, repr=False)

    def lookup(self, address: str) -> list[Ban]:
        """Every ban on address, fail2ban-client's own answer first."""
        ip = _parse(address)
        if ip is None:
            return []
        bans: list[Ban] = []
        for ban in self.fail2ban.of(str(ip)):
            bans.append(Ban(str(ip), "fail2ban", "fail2ban-client", jail=ban.jail,
                            expires_at=ban.ends, confirmed=True))
        bans += self._from_sets(ip) + self._from_chains(ip) + self._from_recent(ip)
        return _merge(bans)

    def lookup_many(self, addresses: Iterable[str]) -> dict[str, list[Ban]]:
        return {a: found for a in dict.fromkeys(addresses) if (found := self.lookup(a))}

    def _jail_of(self, action: str) -> str:
        """The jail behind an action name: asterisk-udp -> asterisk."""
        for jail in sorted(self.fail2ban.jails, key=len, reverse=True):
            if action == jail or action.startswith(jail + "-"):
                return jail
        return _PROTO_SUFFIX.sub("", action)

    def _from_sets(self, ip: Address) -> list[Ban]:
        bans = []
        for table in self.ruleset.tables if self.ruleset else []:
            for named in table.sets.values():
                tool, jail, origin = _set_owner(named.name)
                if not tool:
                    continue
                for element in named.elements:
                    text = _covers(element, ip)
                    if text is None:
                        continue
                    key = (named.family, named.table, named.name, text)
                    where = f"ipset {named.name}" if named.table == "ipset" else \
                        f"set {named.family} {named.table} {named.name}"  # net/ipset.py
                    ban = Ban(str(ip), tool, where,
                              jail=self._jail_of(jail) if jail else "", origin=origin,
                              element="" if text == str(ip) else text,
                              expires_at=self.expiries.get(key), confirmed=False)
                    bans.append(self._with_decisions(ban) if tool == "crowdsec" else ban)
                    break
        return bans

    def _with_decisions(self, ban: Ban) -> Ban:
        """The LAPI's own account of a CrowdSec set element: origin, scenario, time left."""
        if self.crowdsec is None:
            return ban
        if ban.address not in self._asked:
            self._asked[ban.address] = self.crowdsec(ban.address)
        decisions, error = self._asked[ban.address]
        if not decisions:
            return replace(ban, note=f"cscli: {error}" if error else
                           "cscli lists no decision on it: the set is out of date")
        first = next((d for d in decisions if d.type == "ban" and not d.simulated),
                     decisions[0])
        left = first.left
        return replace(ban, origin=first.origin, scenario=first.scenario,
                       expires_at=self.read_at + left if left is not None else ban.expires_at,
                       confirmed=True, decisions=tuple(decisions))

    def _from_chains(self, ip: Address) -> list[Ban]:
        bans = []
        for table in self.ruleset.tables if self.ruleset else []:
            for chain in table.chains.values():
                f2b = _F2B_CHAIN.match(chain.name)
                tool = "fail2ban" if f2b else "freepbx" if chain.name == "fpbxblacklist" \
                    else ""
                if not tool:
                    continue
                for rule in chain.rules:
                    source = _blocked_source(rule.statements)
                    text = _covers(source, ip) if source is not None else None
                    if text is None:
                        continue
                    bans.append(Ban(str(ip), tool, f"{rule.label()}",
                                    jail=self._jail_of(f2b.group("action")) if f2b else "",
                                    element="" if text.split("/")[0] == str(ip) else text))
                    break
        return bans

    def _from_recent(self, ip: Address) -> list[Ban]:
        return [Ban(str(ip), "freepbx", f"responsive firewall list {name} (xt_recent)")
                for name, members in self.recent.items() if str(ip) in members]


def _set_owner(name: str) -> tuple[str, str, str]:
    """(tool, fail2ban action, CrowdSec origin) for a set name; tool '' if none."""
    if (found := _F2B_SET.match(name)) or (found := _F2B_CHAIN.match(name)):
        return "fail2ban", found.group("action"), ""
    if found := _CROWDSEC_SET.match(name):
        return "crowdsec", "", found.group("origin") or ""
    return "", "", ""


def _blocked_source(statements: tuple[object, ...]) -> object | None:
    """The source a `-s X -j REJECT|DROP` rule blocks (other matches: not a plain ban)."""
    source: object | None = None
    for statement in statements:
        if isinstance(statement, Match):
            left = statement.left
            if isinstance(left, Field) and left.name == "saddr" and statement.op == "==":
                source = statement.right
        elif isinstance(statement, Verdict):
            return source if statement.kind in ("drop", "reject") else None
    return None


def _merge(bans: list[Ban]) -> list[Ban]:
    """fail2ban-client's answer and the sets it fills are one ban: keep one line per jail,
    with the kernel's places and the client's time."""
    merged: list[Ban] = []
    for ban in bans:
        twin = next((m for m in merged if m.tool == ban.tool == "fail2ban"
                     and m.jail == ban.jail), None)
        if twin is None:
            merged.append(ban)
            continue
        if twin.where == "fail2ban-client":
            where = ban.where
        elif ban.where == "fail2ban-client" or ban.where in twin.where:
            where = twin.where
        elif ban.where.startswith("set ") and twin.where.startswith("set ") and \
                ban.where.rsplit(" ", 1)[0] == twin.where.split(" + ")[0].rsplit(" ", 1)[0]:
            where = f"{twin.where} + {ban.where.rsplit(' ', 1)[1]}"
        else:
            where = f"{twin.where}; {ban.where}"
        merged[merged.index(twin)] = Ban(
            ban.address, "fail2ban", where, jail=ban.jail, element=twin.element or ban.element,
            expires_at=twin.expires_at if twin.confirmed else ban.expires_at,
            confirmed=twin.confirmed or ban.confirmed)
    return merged


def read_recent_lists(read: Any = None) -> dict[str, set[str]]:
    """FreePBX responsive firewall lists in /proc/net/xt_recent (absent elsewhere)."""
    from pathlib import Path

    found: dict[str, set[str]] = {}
    base = Path("/proc/net/xt_recent")
    for name in FREEPBX_RECENT:
        try:
            text = (base / name).read_text() if read is None else read(base / name)
        except OSError:
            continue
        found[name] = {line.split()[0].removeprefix("src=") for line in text.splitlines()
                       if line.startswith("src=")}
    return found


def banned_addresses(index: BanIndex, limit: int = 5000) -> list[str]:
    """Single addresses the ban tools hold now (fail2ban-client first), at most limit."""
    found: dict[str, None] = {b.address: None for b in index.fail2ban.bans}
    for table in index.ruleset.tables if index.ruleset else []:
        for named in table.sets.values():
            if not _set_owner(named.name)[0]:
                continue
            for element in named.elements:
                if isinstance(element, str) and _parse(element) is not None:
                    found.setdefault(element, None)
                if len(found) >= limit:
                    return list(found)
        for chain in table.chains.values():
            if _F2B_CHAIN.match(chain.name) or chain.name == "fpbxblacklist":
                for rule in chain.rules:
                    source = _blocked_source(rule.statements)
                    if isinstance(source, Prefix) and source.length in (32, 128):
                        found.setdefault(source.addr, None)
                    elif isinstance(source, str) and _parse(source) is not None:
                        found.setdefault(source, None)
    for members in index.recent.values():
        for address in members:
            found.setdefault(address, None)
    return list(found)[:limit]


def gather_bans(ruleset: Ruleset | None, document: dict[str, Any] | None = None) -> BanIndex:
    """Read fail2ban-client (if a server runs here) and the FreePBX recent lists."""
    from trunkconsole.net.crowdsec import cscli_reader
    from trunkconsole.net.fail2ban import read_view

    now = time.time()
    return BanIndex(ruleset=ruleset, fail2ban=read_view(), read_at=now,
                    expiries=element_expiries(document, now), recent=read_recent_lists(),
                    crowdsec=cscli_reader())
