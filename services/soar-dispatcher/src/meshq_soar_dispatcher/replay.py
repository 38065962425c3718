"""Replaying dead letters: ``POST /soar/replay`` (what ``meshq soar replay`` calls).

Dead letters are kept in PostgreSQL (``soar_dead_letters``), so a replay finds them after any
restart of the dispatcher or the broker. A replay sends each letter not replayed yet, oldest
first, with its original body and idempotency key, and marks it replayed with the outcome in
the same transaction that keeps a new dead letter when it fails again (replayed by a later run,
never twice in one).

Before that it takes in the letters still on ``meshq.soar.dead-letter`` that the table does not
hold (written by a version that kept them only there), through a consumer group of its own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypeAlias

import structlog
from litestar import post
from litestar.di import NamedDependency
from meshq_runtime.http import ProblemError
from meshq_runtime.kafka.reader import TopicReader
from meshq_runtime.license import LicenseFollower
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts import topics
from network_discovery.contracts.events import SoarDeadLettered

from meshq_soar_dispatcher.repository import DispatchLog
from meshq_soar_dispatcher.service import SERVICE, Dispatcher

__all__ = ["ROUTES", "SoarDeps", "import_topic_letters", "replay_dead_letters"]

log = structlog.get_logger(__name__)
_LOCK = asyncio.Lock()


async def replay_dead_letters(
    dispatcher: Dispatcher, store: DispatchLog, settings: Any
) -> dict[str, int]:
    counts = {"replayed": 0, "delivered": 0, "dead_lettered": 0, "skipped": 0}
    counts["imported"] = await import_topic_letters(store, settings)
    for row in await store.pending():
        if row.event.data.payload is None:
            counts["skipped"] += 1
            continue
        outcome = await dispatcher.replay(row.event, letter=row.id)
        counts["replayed"] += 1
        counts["delivered" if outcome.delivered else "dead_lettered"] += 1
    log.info("soar.replayed", **counts)
    return counts


async def import_topic_letters(store: DispatchLog, settings: Any) -> int:
    """Keep the letters on the dead-letter topic that the table lacks, up to the end offsets
    seen at the start; return how many were new."""
    imported = 0
    async with TopicReader(
        settings,
        topics.SOAR_DEAD_LETTER,
        client_id=f"{SERVICE}-replay",
        group=settings.group(f"{SERVICE}-replay"),
    ) as reader:
        async for read in reader.to_end():
            dead = read.event
            if isinstance(dead, SoarDeadLettered) and await store.keep(dead):
                imported += 1
            await reader.commit(read)
    if imported:
        log.info("soar.dead_letters_imported", letters=imported)
    return imported


@dataclass(frozen=True)
class SoarDeps:
    """What the dispatcher's handlers use, built once by the lifespan."""

    dispatcher: Dispatcher
    store: DispatchLog
    license: LicenseFollower
    settings: KafkaSettings


#: A handler's ``deps`` parameter (Litestar's named dependency).
Deps: TypeAlias = NamedDependency[SoarDeps]


@post("/soar/replay", status_code=200)
async def replay(deps: Deps) -> dict[str, int]:
    dispatcher = deps.dispatcher
    if not deps.license.allows("soar_webhooks"):
        raise ProblemError(403, "Feature not available", "soar_webhooks needs the Enterprise plan")
    if not dispatcher.configured:
        raise ProblemError(409, "No webhook", "SOAR_WEBHOOK_URL is not set")
    if _LOCK.locked():
        raise ProblemError(409, "Replay running", "a replay is already running")
    async with _LOCK:
        return await replay_dead_letters(dispatcher, deps.store, deps.settings)


ROUTES = [replay]
