"""Python's cyclic garbage collector held off while the graph is built or a snapshot applied.

Building the graph (or a snapshot's fact rows) makes millions of long-lived, acyclic objects
(tuples, strings, dictionaries); each full collection the allocations trigger scans every one
of them again: at 10,000 devices, four full collections took 12 of a first ingest's 97 s of
CPU. The collector is held off for the build and for the apply around it (one at a time, under
the writer's lock) and resumes after; cycles made meanwhile, by the apply or by queries served
during it, are collected then as they always are.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off cyclic collection for a block (nested blocks keep it off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
