"""Replaying dead letters: ``POST /soar/replay`` (what ``meshq soar replay`` calls).

The dispatcher reads ``meshq.soar.dead-letter`` with a consumer group of its own, up to the end
offsets seen when the replay starts (letters that fail again are not replayed twice in one run),
re-sends each with its original body and idempotency key, and commits after each one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from litestar import post
from litestar.datastructures import State
from meshq_runtime.http import ProblemError
from meshq_runtime.kafka.security import client_options
from network_discovery.contracts import topics
from network_discovery.contracts.events import SoarDeadLettered, adapter_for
from pydantic import ValidationError

from meshq_soar_dispatcher.service import SERVICE, Dispatcher

__all__ = ["ROUTES", "replay_dead_letters"]

log = structlog.get_logger(__name__)
_LOCK = asyncio.Lock()


async def replay_dead_letters(dispatcher: Dispatcher, settings: Any) -> dict[str, int]:
    topic = settings.topic(topics.SOAR_DEAD_LETTER.name)
    adapter = adapter_for(topics.SOAR_DEAD_LETTER.name)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.group(f"{SERVICE}-replay"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **client_options(settings),
    )
    await consumer.start()
    counts = {"replayed": 0, "delivered": 0, "dead_lettered": 0, "skipped": 0}
    try:
        await consumer.topics()  # fetches the cluster metadata
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        pending = {tp for tp in parts if ends[tp] > await _position(consumer, tp)}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        pending.discard(tp)
                        break
                    await _replay_one(dispatcher, adapter, record.value, counts)
                    consumer.seek(tp, record.offset + 1)
                    await consumer.commit({tp: record.offset + 1})
                if await _position(consumer, tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    log.info("soar.replayed", **counts)
    return counts


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    return int(await consumer.position(tp))


async def _replay_one(
    dispatcher: Dispatcher, adapter: Any, value: bytes | None, counts: dict[str, int]
) -> None:
    try:
        dead = adapter.validate_json(value or b"")
    except ValidationError:
        counts["skipped"] += 1
        return
    if not isinstance(dead, SoarDeadLettered) or dead.data.payload is None:
        counts["skipped"] += 1
        return
    outcome = await dispatcher.replay(dead)
    counts["replayed"] += 1
    counts["delivered" if outcome.delivered else "dead_lettered"] += 1


@post("/soar/replay", status_code=200)
async def replay(state: State) -> dict[str, int]:
    extras = state.service.extras
    dispatcher: Dispatcher = extras["dispatcher"]
    if not extras["license"].allows("soar_webhooks"):
        raise ProblemError(403, "Feature not available", "soar_webhooks needs the Enterprise plan")
    if not dispatcher.configured:
        raise ProblemError(409, "No webhook", "SOAR_WEBHOOK_URL is not set")
    if _LOCK.locked():
        raise ProblemError(409, "Replay running", "a replay is already running")
    async with _LOCK:
        return await replay_dead_letters(dispatcher, extras["settings"])


ROUTES = [replay]
