"""Bans of this host's providers, kept current for screens that show them beside other
things (the dashboard's trunk rows).

The ban tools keep their bans in the kernel (fail2ban's and CrowdSec's set elements,
FreePBX's blacklist chain): every ban and unban is a ruleset change that `nft monitor`
reports, so the RulesetWatcher the Network screen uses (net/watch.py) says when to read
again. fail2ban's time left and FreePBX's xt_recent lists change without such an event:
they are read again every RECHECK seconds as well.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from trunkconsole.net.bans import Ban, BanIndex, banned_addresses
from trunkconsole.net.pjsip_inputs import contact_host
from trunkconsole.net.watch import RulesetWatcher

RECHECK = 60.0


def read_bans() -> BanIndex:
    """The bans on this host now: the rules (CAP_NET_ADMIN), fail2ban-client, xt_recent."""
    from trunkconsole.net.bans import gather_bans
    from trunkconsole.net.collect import capture

    raw = capture()
    return gather_bans(raw.ruleset(), raw.document)


def trunk_addresses(matches: Iterable[str], contact_uris: Iterable[str]) -> list[str]:
    """Identify matches (CIDR) and contact hosts that are addresses; hostnames left out."""
    found: dict[str, None] = {}
    for match in matches:
        try:
            found.setdefault(str(ipaddress.ip_network(match.strip(), strict=False)), None)
        except ValueError:
            continue
    for uri in contact_uris:
        host = contact_host(uri)
        try:
            found.setdefault(str(ipaddress.ip_network(host or "", strict=False)), None)
        except ValueError:
            continue
    return list(found)


@dataclass
class TrunkBans:
    """One index, asked per trunk: single addresses looked up, networks searched for
    the banned addresses inside them."""

    index: BanIndex
    _banned: list[str] | None = field(default=None, repr=False)

    def of(self, networks: Iterable[str]) -> list[Ban]:
        bans: dict[tuple[str, str, str], Ban] = {}
        for text in networks:
            net = ipaddress.ip_network(text, strict=False)
            if net.num_addresses == 1:
                candidates = [str(net.network_address)]
            else:
                if self._banned is None:
                    self._banned = banned_addresses(self.index)
                candidates = [a for a in self._banned if _inside(a, net)]
            for address in candidates:
                for ban in self.index.lookup(address):
                    bans.setdefault((ban.address, ban.tool, ban.jail or ban.where), ban)
        return list(bans.values())


def _inside(address: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(address) in net
    except ValueError:
        return False


class BanWatch:
    """The latest BanIndex, read again (by the caller, in a thread) when `due()`."""

    def __init__(self, read: Callable[[], BanIndex] = read_bans,
                 watcher: RulesetWatcher | None = None, recheck: float = RECHECK) -> None:
        self._read = read
        self.watcher = watcher if watcher is not None else RulesetWatcher()
        self.recheck = recheck
        self.bans: TrunkBans | None = None
        self.error = ""
        self.started_at: float | None = None  # wall clock of the last read's start
        self._lock = threading.Lock()
        self._reading = False

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def due(self, now: float | None = None) -> bool:
        """Never read, the rules changed since the last read began, or RECHECK passed."""
        now = time.time() if now is None else now
        with self._lock:
            if self._reading:
                return False
            return self.started_at is None or self.watcher.changed_since(self.started_at) \
                or now - self.started_at >= self.recheck

    def read(self) -> TrunkBans | None:
        """Read now (blocking: nft, fail2ban-client); errors are kept, not raised."""
        from trunkconsole.errors import OperatorError

        with self._lock:
            self._reading = True
            self.started_at = time.time()
        try:
            self.bans, self.error = TrunkBans(self._read()), ""
        except OperatorError as exc:  # nothing shown beats bans that may be lifted by now
            self.bans, self.error = None, exc.render()
        finally:
            with self._lock:
                self._reading = False
        return self.bans
