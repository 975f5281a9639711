"""Bans of this host's providers, kept current for screens that show them beside other
things (the dashboard's trunk rows).

The ban tools keep their bans in the kernel (fail2ban's and CrowdSec's set elements,
FreePBX's blacklist chain): every ban and unban is a ruleset change that `nft monitor`
reports, so the console's one RulesetFeed (net/feed.py, shared with the Network and
Diagnoses screens) says when to read again. fail2ban's time left and FreePBX's xt_recent
lists change without such an event: they are read again every RECHECK seconds as well.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from trunkconsole.net.bans import Ban, BanIndex, banned_addresses
from trunkconsole.net.feed import RulesetFeed
from trunkconsole.net.pjsip_inputs import contact_host
from trunkconsole.net.watch import RulesetWatcher

RECHECK = 60.0


def read_bans(feed: RulesetFeed | None = None) -> BanIndex:
    """The bans on this host now: the rules (CAP_NET_ADMIN; from the feed when given, read
    once per change), fail2ban-client, xt_recent."""
    from trunkconsole.net.bans import gather_bans
    from trunkconsole.net.collect import capture

    raw = feed.current()[0] if feed is not None else capture()
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
        self._owns_watcher = True
        self.recheck = recheck
        self.bans: TrunkBans | None = None
        self.error = ""
        self.started_at: float | None = None  # wall clock of the last read's start
        self._lock = threading.Lock()
        self._reading = False

    @classmethod
    def from_feed(cls, feed: RulesetFeed, recheck: float = RECHECK) -> BanWatch:
        """Bans read through the process's one feed (its watcher is the feed's: started
        here if need be, stopped by the feed's owner, never by this watch)."""
        watch = cls(partial(read_bans, feed), feed.watcher, recheck)
        watch._owns_watcher = False
        return watch

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        if self._owns_watcher:
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
