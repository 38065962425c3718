"""A handler that keeps failing is retried, then parked; the next event still goes through."""

from __future__ import annotations

import asyncio

import pytest
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.service import open_kafka
from meshq_runtime.settings import KafkaSettings, ServiceSettings
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    NetboxSyncRequested,
    NetboxSyncRequestedData,
)
from support.kafka import collect

pytestmark = pytest.mark.integration


class _Settings(ServiceSettings, KafkaSettings):
    pass


async def test_failing_handler_is_retried_then_dead_lettered(stack, isolation) -> None:
    settings = _Settings(
        MESHQ_KAFKA_BOOTSTRAP=stack.kafka_bootstrap, MESHQ_KAFKA_MAX_ATTEMPTS=3, **isolation
    )
    await ensure_topics(settings)
    kafka = open_kafka(settings, service="retry-test")
    attempts: dict[str, int] = {}
    done = asyncio.Event()

    async def handler(event: NetboxSyncRequested) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if event.data.direction == "push":
            raise RuntimeError("NetBox answered 502")
        done.set()

    kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, handler)
    await kafka.start()
    try:
        poison = NetboxSyncRequested(
            source="test", subject="netbox", data=NetboxSyncRequestedData(direction="push")
        )
        fine = NetboxSyncRequested(
            source="test", subject="netbox", data=NetboxSyncRequestedData(direction="pull")
        )
        await kafka.bus.publish(poison)
        await kafka.bus.publish(fine)
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        await kafka.broker.stop()

    assert attempts == {poison.id: 3, fine.id: 1}
    parked = await collect(stack.kafka_bootstrap, settings.topic(topics.DEAD_LETTER.name), count=1)
    assert len(parked) == 1
    headers = {k: v.decode() for k, v in parked[0].headers}
    assert headers["x-meshq-error-kind"] == "failed"
    assert "NetBox answered 502" in headers["x-meshq-error"]
    assert poison.id.encode() in parked[0].value
