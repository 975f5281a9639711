"""Pause the cyclic garbage collector while building large object graphs.

Loading a 130,000-line pjsip.conf creates a few hundred thousand small objects; each
allocation burst triggers generation scans over all of them, which more than doubles
the load time. Nothing we build here holds reference cycles that need collecting
mid-load, so the collector is paused and restored afterwards.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

# How often a long-running process (the console, `watch`) gives frozen garbage back.
COLLECT_FROZEN_EVERY = 600.0
_last_collect = [time.monotonic()]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic GC for the block (re-enabled only if it was enabled).

    On the way out everything alive is frozen (gc.freeze): otherwise the first collection
    after re-enabling scans the few hundred thousand objects just built (0.1-0.3 s for
    10,000 trunks, measured), and every later one until they reach the oldest generation.
    The next paused block unfreezes them first, but it freezes them again on its way out
    with the collector still off: a reference cycle that is garbage at a freeze is never
    collected. So what is built in here must free itself by reference counting (no cycles;
    a cached exception's traceback was one: Documents keeps copies, tested in
    tests/unit/test_config_fastpaths.py).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    gc.unfreeze()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def collect_frozen(every: float = COLLECT_FROZEN_EVERY) -> bool:
    """Unfreeze and run one full collection when `every` seconds have passed since the last.

    A pause freezes everything alive on its way out, other code's garbage cycles included
    (a closed Textual screen's widgets, asyncio's finished tasks that reached the oldest
    generation before the freeze): frozen, they are never collected. The console and
    `watch` pause often (the firewall is re-read every minute), so they call this from
    their tick; one full collection every ten minutes costs what one load would have.
    Returns True when it collected.
    """
    now = time.monotonic()
    if now - _last_collect[0] < every:
        return False
    _last_collect[0] = now
    gc.unfreeze()
    gc.collect()
    gc.freeze()  # what survived a full collection is alive: out of the scans again
    return True


def freeze_long_lived() -> None:
    """Move what is alive now out of the collector's generations (gc.freeze).

    Called when a resync completes: the model it built (10,000 endpoints are a few
    hundred thousand objects) lives as long as the session. Unfrozen, every full
    collection scans it again; and a busy console makes garbage cycles fast (each of
    Textual's Strips holds seven caches, and one that caches itself is a cycle), so full
    collections came every 5 s under 20 calls/s, each a pause of 120-160 ms at only
    66,000 objects on the lab machine (bench_live_load; 8-50 ms once frozen, the
    keypress p99 65 -> 20 ms). The young generations are collected first; a cycle that is
    garbage in the oldest one waits for collect_frozen, as after gc_paused.
    """
    gc.collect(1)
    gc.freeze()
