"""The C allocator's share of graph-engine's resident set, kept small (glibc only).

Most of what an ingest allocates outside Python's own object allocator (the store's threads,
Arrow tables, large texts) goes through glibc's ``malloc``, which by default gives each thread
that contends for it an arena of its own (up to eight per core) and keeps freed memory in them:
after an apply, some hundreds of megabytes stay resident though nothing uses them. Two arenas,
and handing free pages back to the system after each snapshot is read and applied, keep the
resident set nearer what is in use (at 5,000 devices the bench's peak fell from 1,533 to some
1,450 MB). ``MALLOC_ARENA_MAX``, where set, is left to decide. Elsewhere than glibc nothing
changes."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache
from typing import Any

__all__ = ["ARENAS", "release_free_memory", "resident_mb", "tune_allocator"]

#: ``malloc`` arenas at most (``M_ARENA_MAX``).
ARENAS = 2
_M_ARENA_MAX = -8


@cache
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


@cache
def tune_allocator() -> bool:
    """At most :data:`ARENAS` arenas from now on (once per process); False where the C library
    is not glibc or ``MALLOC_ARENA_MAX`` says otherwise."""
    libc = _libc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, ARENAS))


def release_free_memory() -> None:
    """Hand the C allocator's free pages back to the system (after a large piece of work)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def resident_mb() -> tuple[float, float] | None:
    """This process's resident set now and at its peak (``VmRSS``, ``VmHWM``), in MB; None
    where /proc does not tell."""
    now = peak = None
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    now = round(int(line.split()[1]) / 1024, 1)
                elif line.startswith("VmHWM:"):
                    peak = round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None if now is None or peak is None else (now, peak)
