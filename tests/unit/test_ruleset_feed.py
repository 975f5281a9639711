"""The console's one firewall feed: the rules read once per change, and only while a watcher
vouches that nothing changed (the real `nft monitor` is in tests/lab/test_rules_watch.py)."""

from __future__ import annotations

import time

import pytest

from trunkconsole.net.collect import Capture, FirewallUnreadable
from trunkconsole.net.feed import SETTLE, RulesetFeed
from trunkconsole.net.watch import RulesetWatcher


class ToldWatcher(RulesetWatcher):
    """The real watcher's bookkeeping without its threads: monitoring since long ago, and
    a change only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.monitoring, self.monitoring_since = True, time.time() - 10 * SETTLE

    def start(self) -> None:
        raise AssertionError("not started in these tests")


class Reads:
    def __init__(self) -> None:
        self.count = 0
        self.fail = False

    def __call__(self) -> Capture:
        self.count += 1
        if self.fail:
            raise FirewallUnreadable("reading the firewall needs CAP_NET_ADMIN (root)")
        return Capture(nft_json='{"nftables": []}', notes=[f"read {self.count}"])


def test_read_once_until_the_rules_change() -> None:
    watcher, reads = ToldWatcher(), Reads()
    feed = RulesetFeed(reads, watcher)
    first, read_at = feed.current()
    again, vouched = feed.current()
    assert again is first
    assert vouched >= read_at
    assert reads.count == 1
    watcher.changed_at = time.time()  # nft monitor printed a change
    third, third_at = feed.current()
    assert third is not first
    assert third_at >= watcher.changed_at - 0.001
    assert reads.count == 2
    assert feed.current()[0] is third


def test_nothing_kept_without_a_watcher_that_vouches() -> None:
    watcher, reads = ToldWatcher(), Reads()
    watcher.monitoring = False  # nft monitor not running (not started, refused, ended)
    feed = RulesetFeed(reads, watcher)
    feed.current()
    feed.current()
    assert reads.count == 2


def test_legacy_tables_vouch_only_up_to_their_last_poll() -> None:
    watcher, reads = ToldWatcher(), Reads()
    watcher.legacy_tables, watcher.legacy_checked_at = True, time.time() - 60
    feed = RulesetFeed(reads, watcher)
    feed.current()
    feed.current()
    assert reads.count == 2  # polled before the read: a legacy change may be unseen
    watcher.legacy_checked_at = time.time() + 1
    feed.current()
    assert reads.count == 2


def test_a_read_right_after_the_monitor_started_is_not_kept() -> None:
    watcher, reads = ToldWatcher(), Reads()
    watcher.monitoring_since = time.time()  # it may not have subscribed yet
    feed = RulesetFeed(reads, watcher)
    feed.current()
    feed.current()
    assert reads.count == 2


def test_a_failed_read_keeps_nothing() -> None:
    watcher, reads = ToldWatcher(), Reads()
    feed = RulesetFeed(reads, watcher)
    feed.current()
    reads.fail = True
    watcher.changed_at = time.time()
    with pytest.raises(FirewallUnreadable):
        feed.current()
    reads.fail = False
    feed.current()
    assert reads.count == 3
