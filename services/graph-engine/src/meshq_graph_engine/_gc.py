"""Python's cyclic garbage collector: held off while the graph is built or a snapshot applied,
and kept off the graph itself once it is built.

Building the graph (or a snapshot's fact rows) makes millions of long-lived, acyclic objects
(tuples, strings, dictionaries); each full collection the allocations trigger scans every one
of them again: at 10,000 devices, four full collections took 12 of a first ingest's 97 s of
CPU. The collector is held off for the build and for the apply around it (one at a time, under
the writer's lock) and resumes after.

Between applies the same objects made every query slow now and then: a query's rows are
enough allocations to set off a full collection, which walked the whole graph in memory
(about 1.4 million objects at 10,000 devices: a second or more, in whichever query was
running). So when the outermost held-off block ends, what it left (once that, with what
earlier small blocks left, is many objects) is collected once and the survivors are frozen
(``gc.freeze``): moved out of the collector's generations, never walked again. A frozen
object is still freed as soon as nothing refers to it (reference counting is untouched);
only a reference cycle among frozen objects outlives its last use. To free those too, when
the frozen population has grown by a quarter since it was last built whole (or an hour has
passed), it is unfrozen, collected in full and frozen again, once, after that apply.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog

__all__ = [
    "REFREEZE_GROWTH",
    "REFREEZE_INTERVAL_S",
    "SETTLE_MIN_OBJECTS",
    "collector_paused",
    "frozen",
    "settle",
]

log = structlog.get_logger(__name__)

#: The frozen population is rebuilt whole once it is this many times what it was after the
#: last rebuild...
REFREEZE_GROWTH = 1.25
#: ...or when this many seconds have passed since it (at the next settle).
REFREEZE_INTERVAL_S = 3600.0
#: A block that leaves fewer new objects than this (a metadata patch: a few hundred) is not
#: settled: the young collections take them as they always did. They are counted, and
#: settled with the next block that brings the count to this.
SETTLE_MIN_OBJECTS = 50_000


@dataclass
class _Frozen:
    #: Frozen objects right after the last whole rebuild (0: none yet).
    baseline: int = 0
    #: ``time.monotonic()`` of that rebuild.
    at: float = 0.0
    #: Whole rebuilds so far (collect everything, freeze again).
    rebuilds: int = 0
    #: New objects left by blocks since the last settle (as the collector counts them).
    unsettled: int = 0


_state = _Frozen()
_lock = threading.RLock()


def frozen() -> tuple[int, int]:
    """(objects frozen now, frozen right after the last whole rebuild)."""
    return gc.get_freeze_count(), _state.baseline


def settle(*, whole: bool = False) -> None:
    """Collect what is not frozen and freeze the survivors; rebuild the frozen population
    whole (unfreeze, full collection, freeze) when ``whole``, when it has grown by
    :data:`REFREEZE_GROWTH` since the last rebuild, or after :data:`REFREEZE_INTERVAL_S`."""
    with _lock:
        _state.unsettled = 0
        started = time.monotonic()
        count = gc.get_freeze_count()
        due = whole or _state.baseline == 0 or started - _state.at > REFREEZE_INTERVAL_S
        if not due:
            gc.collect()
            gc.freeze()
            count = gc.get_freeze_count()
            if count <= _state.baseline * REFREEZE_GROWTH:
                log.debug(
                    "gc.frozen",
                    objects=count,
                    elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                )
                return
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        _state.baseline = max(1, gc.get_freeze_count())
        _state.at = time.monotonic()
        _state.rebuilds += 1
        log.info(
            "gc.refrozen",
            objects=_state.baseline,
            before=count,
            freed=freed,
            elapsed_ms=round((_state.at - started) * 1000, 1),
        )


@dataclass
class _Paused:
    #: Blocks open now, in every thread.
    depth: int = 0
    #: Whether the collector ran when the first of them opened.
    was: bool = False


_paused = _Paused()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off cyclic collection for a block (nested blocks keep it off, in any thread: a
    snapshot is read in a worker thread while the event loop's thread may apply another);
    when the last open block ends, collect once and freeze what survived (:func:`settle`)."""
    with _lock:
        if _paused.depth == 0:
            _paused.was = gc.isenabled()
        _paused.depth += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _paused.depth -= 1
            if _paused.depth == 0 and _paused.was:
                try:
                    # the collector's count of objects made (less those freed) since it last
                    # ran: with it held off, what the block left
                    _state.unsettled += gc.get_count()[0]
                    if _state.unsettled >= SETTLE_MIN_OBJECTS:
                        settle()
                finally:
                    gc.enable()
