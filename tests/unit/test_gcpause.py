"""gc_paused freezes what is alive on its way out, garbage cycles of other code included;
collect_frozen gives them back in long-running processes."""

from __future__ import annotations

import gc
import weakref

from trunkconsole.conf import gcpause
from trunkconsole.conf.gcpause import collect_frozen, gc_paused


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
