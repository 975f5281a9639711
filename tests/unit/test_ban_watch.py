"""The dashboard's ban source: trunk addresses, bans per trunk, and when to read again.

Bans come from fail2ban 1.0.2's real nftables listing (tests/fixtures/net/bans)."""

from __future__ import annotations

from pathlib import Path

from trunkconsole.errors import OperatorError
from trunkconsole.net.ban_watch import BanWatch, TrunkBans, trunk_addresses
from trunkconsole.net.bans import BanIndex
from trunkconsole.net.collect import Capture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "net" / "bans"


def index() -> BanIndex:
    text = (FIXTURES / "fail2ban-1.0.2-nftables-multiport.json").read_text()
    return BanIndex(ruleset=Capture(nft_json=text).ruleset())


class StillWatcher:
    """A RulesetWatcher stand-in that reports a change only when told (the real one
    needs `nft monitor` in a namespace: tests/lab/test_dashboard_bans.py)."""

    def __init__(self) -> None:
        self.changed_at = 0.0
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def changed_since(self, when: float) -> bool:
        return self.changed_at > when


def test_trunk_addresses_from_identify_matches_and_contacts() -> None:
    assert trunk_addresses(["203.0.113.10/32", "198.51.100.0/255.255.255.0", "sip.example"],
                           ["sip:203.0.113.10:5060", "sip:[2001:db8::5]:5060",
                            "sip:carrier.example.net"]) == [
        "203.0.113.10/32", "198.51.100.0/24", "2001:db8::5/128"]


def test_bans_of_a_trunk_by_address_and_by_network() -> None:
    bans = TrunkBans(index())
    [ban] = bans.of(["203.0.113.12/32"])
    assert (ban.address, ban.jail, ban.marker()) == ("203.0.113.12", "asterisk",
                                                     "BANNED asterisk")
    assert ban.lift() == "trunkconsole unban 203.0.113.12 --jail asterisk"
    assert [b.address for b in bans.of(["203.0.113.0/24"])] == ["203.0.113.12"]
    assert bans.of(["203.0.113.10/32", "198.51.100.0/24"]) == []


def test_read_again_when_the_rules_change_or_the_recheck_is_due() -> None:
    watcher = StillWatcher()
    reads: list[int] = []

    def read() -> BanIndex:
        reads.append(1)
        return index()

    watch = BanWatch(read, watcher, recheck=60)  # type: ignore[arg-type]
    assert watch.due()
    assert watch.read() is not None
    started = watch.started_at
    assert started is not None
    assert not watch.due(started + 1)
    assert watch.due(started + 61)
    watcher.changed_at = started + 0.5
    assert watch.due(started + 1)
    assert len(reads) == 1


def test_a_failed_read_shows_no_bans_rather_than_old_ones() -> None:
    answers = [index()]

    def read() -> BanIndex:
        if answers:
            return answers.pop()
        raise OperatorError("reading the firewall needs CAP_NET_ADMIN (root)")

    watch = BanWatch(read, StillWatcher())  # type: ignore[arg-type]
    assert watch.read() is not None
    assert watch.read() is None
    assert "CAP_NET_ADMIN" in watch.error
