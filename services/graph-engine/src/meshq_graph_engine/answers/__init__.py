"""Answers kept at ingest: what full-graph queries would otherwise recount on every call.

Two are kept, in the graph store (so that query-only replicas read them too):

- the IP index (:mod:`.ip_index`): every address in use, by address, with per-bucket counts of
  duplicated and uncovered addresses (``duplicate_ip_addresses``, ``ips_in_subnet``,
  ``orphaned_ips``, ``locate_endpoint_by_ip``);
- the unlocated endpoints (:mod:`.unlocated`), by MAC (``endpoints_without_location``);
- summary_stats' counters (:mod:`.summary`): per device, per site and for the network.

The writer updates them from each apply's diff once it is written (:func:`maintain`). Each has
an ``AnswerState`` node; a query answers from them only while it says ``ok`` in the format it
reads, and otherwise counts live, as the queries always did. What would leave them behind the
graph is handled where it happens: a start after an apply a crash cut short marks them stale
(:func:`mark_interrupted`, before the engine's own repair) and a start builds whatever is
missing, stale or of another version again (:func:`repair`); an apply that finds an earlier
apply unfinished, or a failure while updating, builds them again too. Updating never fails an
apply: a failure marks the answers stale (queries count live) and the next apply rebuilds.

The writer also keeps, in its own memory, the rows of the whole-graph lists (every link for
``topology_edges`` and ``netbox_drift``, every device for ``all_devices``; :mod:`.kept`), taken
from the graph it holds there and brought up to date from each applied change; replicas read
those from the store.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.answers import ip_index, summary, unlocated
from meshq_graph_engine.answers.state import read_state, write_state
from meshq_graph_engine.diff import GraphDiff
from meshq_graph_engine.revision import read_revision

__all__ = [
    "ip_index",
    "ip_index_ready",
    "maintain",
    "mark_interrupted",
    "repair",
    "summary",
    "summary_ready",
    "unlocated",
    "unlocated_ready",
]

log = structlog.get_logger(__name__)

_JOURNAL = "MATCH (s:SnapshotApply) RETURN count(s) AS n"


async def _unfinished_applies(store: GraphStore) -> int:
    rows = await store.execute(_JOURNAL)
    return int(rows[0]["n"]) if rows else 0


async def _count(store: GraphStore, label: str) -> int:
    rows = await store.execute(f"MATCH (n:{label}) RETURN count(n) AS n")
    return int(rows[0]["n"]) if rows else 0


async def _first_load(store: GraphStore, diff: Any) -> bool:
    """Whether the diff added everything the IP index holds (a first load into an empty
    graph): then it is built from the diff, without reading the graph back."""
    for label in ("Endpoint", "IPAddress"):
        if await _count(store, label) != len(diff.added.get(label) or ()):
            return False
    return True


async def _ip_index(store: GraphStore, diff: Any, full: bool) -> str:
    state = await read_state(store, ip_index.NAME)
    if full or state is None or not state.current(ip_index.FORMAT):
        if state is None and not full and await _first_load(store, diff):
            await store.execute("MATCH (b:IpBucket) DELETE b")
            await ip_index.maintain(store, diff)
            return "built from the diff"
        await ip_index.rebuild(store)
        return "rebuilt"
    await ip_index.maintain(store, diff)
    return "updated"


async def _unlocated(store: GraphStore, diff: Any, full: bool) -> str:
    state = await read_state(store, unlocated.NAME)
    if full or state is None or not state.current(unlocated.FORMAT):
        await unlocated.rebuild(store)
        return "rebuilt"
    await unlocated.maintain(store, diff)
    return "updated"


async def _summary(store: GraphStore, diff: Any, full: bool) -> str:
    state = await read_state(store, summary.NAME)
    if full or state is None or not state.current(summary.FORMAT):
        await summary.rebuild(store)
        return "rebuilt"
    await summary.maintain(store, diff)
    return "updated"


async def maintain(store: GraphStore, diff: Any) -> None:
    """Bring the answers up to date with an apply's diff, once the diff is in the store."""
    try:
        full = await _unfinished_applies(store) > 1  # an earlier apply failed midway
    except Exception:  # the store will say more below
        full = True
    for name, fmt, update in (
        (ip_index.NAME, ip_index.FORMAT, _ip_index),
        (unlocated.NAME, unlocated.FORMAT, _unlocated),
        (summary.NAME, summary.FORMAT, _summary),
    ):
        started = time.monotonic()
        try:
            how = await update(store, diff, full)
            await write_state(store, name, fmt)
        except Exception as exc:  # never fail the apply: answer live until rebuilt
            log.error(
                "answers.update_failed", answer=name, error=f"{type(exc).__name__}: {exc}"[:300]
            )
            try:
                await write_state(store, name, fmt, status="stale")
            except Exception as again:
                log.error("answers.mark_stale_failed", answer=name, error=str(again)[:200])
            continue
        log.info(
            "answers.updated",
            answer=name,
            how=how,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )


async def mark_interrupted(store: GraphStore) -> None:
    """Before the engine starts: an apply a crash cut short may have written part of its diff
    without the answers following it, and the start finishes it without a diff: mark the
    answers stale, for :func:`repair` to build again."""
    try:
        if not await _unfinished_applies(store):
            return
        for name, fmt in (
            (ip_index.NAME, ip_index.FORMAT),
            (unlocated.NAME, unlocated.FORMAT),
            (summary.NAME, summary.FORMAT),
        ):
            if await read_state(store, name) is not None:
                await write_state(store, name, fmt, status="stale")
                log.warning("answers.marked_stale", answer=name, reason="an apply was cut short")
    except Exception as exc:  # a new graph: the tables are made by the engine's start
        log.debug("answers.not_checked", error=str(exc)[:200])


async def repair(store: GraphStore) -> None:
    """After the engine started: build again each answer that is missing, stale, of another
    format or version, and recount the devices whose site changed by patch meanwhile."""
    for name, fmt, build in (
        (ip_index.NAME, ip_index.FORMAT, ip_index.rebuild),
        (unlocated.NAME, unlocated.FORMAT, unlocated.rebuild),
        (summary.NAME, summary.FORMAT, summary.rebuild),
    ):
        state = await read_state(store, name)
        if state is not None and state.current(fmt):
            if name == summary.NAME and not await summary.stamps_match(store):
                await summary.maintain(store, GraphDiff())
                log.info("answers.recounted", answer=name, reason="sites changed by patch")
            continue
        started = time.monotonic()
        size = await build(store)
        await write_state(store, name, fmt)
        log.info(
            "answers.rebuilt",
            answer=name,
            reason="missing" if state is None else "stale or another version",
            size=size,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )


async def _usable(store: GraphStore, name: str, fmt: int) -> bool:
    try:
        state = await read_state(store, name)
    except Exception:  # a graph no writer of this version has opened: count live
        return False
    return state is not None and state.usable(fmt)


async def ip_index_ready(store: GraphStore) -> bool:
    """Whether queries may answer from the IP index."""
    return await _usable(store, ip_index.NAME, ip_index.FORMAT)


async def unlocated_ready(store: GraphStore) -> bool:
    """Whether endpoints_without_location may answer from the unlocated endpoints kept."""
    return await _usable(store, unlocated.NAME, unlocated.FORMAT)


#: The graph revision at which each store (by ``id``) last had every tally's stamp match its
#: device: the join that checks it runs once per revision (every change, patches included,
#: moves the revision).
_STAMPED: dict[int, int] = {}


async def summary_ready(store: GraphStore) -> bool:
    """Whether summary_stats may answer from its counters: kept, and every device still in
    the site it was counted in."""
    if not await _usable(store, summary.NAME, summary.FORMAT):
        return False
    revision = await read_revision(store)
    if _STAMPED.get(id(store)) == revision:
        return True
    if not await summary.stamps_match(store):
        return False
    _STAMPED[id(store)] = revision
    return True
