"""gc_paused freezes what is alive on its way out, garbage cycles of other code included;
collect_frozen gives them back in long-running processes."""

from __future__ import annotations

import gc
import weakref

from trunkconsole.conf import gcpause
from trunkconsole.conf.gcpause import collect_frozen, freeze_long_lived, gc_paused


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_a_cycle_frozen_by_a_pause_is_collected_by_collect_frozen() -> None:
    was = gc.isenabled()
    gc.enable()
    try:
        node = _Node()
        dead = weakref.ref(node)
        gc.collect()  # it reaches the oldest generation, as a closed screen's widgets do
        del node  # garbage now, but only a full collection would see it
        with gc_paused():
            pass  # e.g. the firewall re-read every minute
        gc.collect()
        assert dead() is not None, "a frozen cycle is out of every collection's reach"
        assert not collect_frozen(every=3600.0)  # not yet due
        assert dead() is not None
        gcpause._last_collect[0] -= 3601.0
        assert collect_frozen(every=3600.0)
        assert dead() is None
    finally:
        gc.unfreeze()
        if not was:
            gc.disable()


def test_freeze_long_lived_keeps_the_living_and_drops_young_cycles_first() -> None:
    was = gc.isenabled()
    gc.enable()
    try:
        gc.unfreeze()
        young = _Node()
        dead = weakref.ref(young)
        del young  # a fresh cycle (the youngest generation): collected, never frozen
        kept = {"endpoint": _Node()}  # the model: alive
        before = gc.get_freeze_count()
        freeze_long_lived()
        assert dead() is None
        assert gc.get_freeze_count() > before
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of the scans
        # A full collection later gives garbage back and freezes the survivors again.
        gcpause._last_collect[0] -= 3601.0
        assert collect_frozen(every=3600.0)
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())
    finally:
        gc.unfreeze()
        if not was:
            gc.disable()
