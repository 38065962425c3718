"""Waiting, at shutdown, until the processors have consumed what the entry points sent last.

The lag of a consumer group is, over the partitions of the registry's topics on which it
has committed an offset, the records between its committed offset and the partition's end.
Only groups of this installation count (``MESHQ_KAFKA_GROUP_PREFIX``). A partition a group
never committed on counts for it only when it committed on another partition of that topic.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from network_discovery.contracts.topics import ALL_TOPICS

from meshq_runtime.kafka.security import client_options
from meshq_runtime.settings import KafkaSettings

__all__ = ["consumer_lag", "wait_drained"]

log = structlog.get_logger(__name__)

_TIMEOUT_MS = 3_000


async def _groups(settings: KafkaSettings) -> list[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        request_timeout_ms=_TIMEOUT_MS,
        **client_options(settings),
    )
    await admin.start()
    try:
        listed = await admin.list_consumer_groups()
    finally:
        await admin.close()
    prefix = f"{settings.kafka_group_prefix}."
    return sorted({str(g[0]) for g in listed if str(g[0]).startswith(prefix)})


async def _end_offsets(settings: KafkaSettings) -> dict[TopicPartition, int]:
    probe = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=_TIMEOUT_MS,
        **client_options(settings),
    )
    await probe.start()
    try:
        known = await probe.topics()
        tps = [
            TopicPartition(name, p)
            for name in (settings.topic(t.name) for t in ALL_TOPICS)
            if name in known
            for p in sorted(probe.partitions_for_topic(name) or ())
        ]
        ends = await probe.end_offsets(tps) if tps else {}
    finally:
        await _stop(probe)
    return {tp: int(off) for tp, off in ends.items() if off > 0}


async def _committed(
    settings: KafkaSettings, group: str, tps: list[TopicPartition]
) -> dict[TopicPartition, int | None]:
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,  # never subscribes, so it never joins the group
        enable_auto_commit=False,
        request_timeout_ms=_TIMEOUT_MS,
        **client_options(settings),
    )
    await reader.start()
    try:
        return {tp: await reader.committed(tp) for tp in tps}
    finally:
        await _stop(reader)


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer that never subscribed; against Tansu its stop may end cancelled."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # our own deadline: let it end the wait
    except Exception as exc:
        log.debug("serve.drain_consumer_stop", error=type(exc).__name__)


async def consumer_lag(settings: KafkaSettings) -> dict[str, int]:
    """Records each consumer group of this installation has not committed yet."""
    groups = await _groups(settings)
    ends = await _end_offsets(settings)
    if not groups or not ends:
        return dict.fromkeys(groups, 0)
    busy = sorted(ends, key=lambda tp: (tp.topic, tp.partition))
    lag: dict[str, int] = {}
    for group in groups:
        committed = await _committed(settings, group, busy)
        followed = {tp.topic for tp, off in committed.items() if off is not None}
        lag[group] = sum(
            max(0, ends[tp] - (committed[tp] or 0)) for tp in busy if tp.topic in followed
        )
    return lag


def wait_drained(bootstrap: str, timeout: float) -> dict[str, int]:
    """Poll :func:`consumer_lag` until every group is at the end or ``timeout`` passes; the
    last lag seen (empty when the broker could not be asked)."""
    settings = KafkaSettings().model_copy(update={"kafka_bootstrap": bootstrap})
    started = time.monotonic()
    last: dict[str, int] = {}

    async def poll() -> None:
        nonlocal last
        while True:
            last = await consumer_lag(settings)
            if not any(last.values()):
                return
            await asyncio.sleep(0.2)

    try:
        asyncio.run(asyncio.wait_for(poll(), timeout=max(0.1, timeout)))
    except TimeoutError:
        log.warning(
            "serve.drain_incomplete",
            lag={g: n for g, n in last.items() if n},
            waited_s=round(time.monotonic() - started, 2),
        )
        return last
    except Exception as exc:
        log.warning("serve.drain_skipped", error=f"{type(exc).__name__}: {exc}"[:300])
        return last
    log.info("serve.drained", groups=len(last), waited_s=round(time.monotonic() - started, 2))
    return last
