"""The event bus in memory: a service's real subscriptions (handlers and every step around them)
on FastStream's ``TestKafkaBroker``, no broker needed.

    kafka = MemoryKafka(service="audit")
    register(kafka.consumer, service)          # the service's own wiring
    async with kafka.running():
        await kafka.bus.publish(event)         # returns once the subscription is done with it
    assert kafka.commits == 1 and not kafka.parked

A publish runs the subscriptions of its topic before it returns. Offsets are always 0 and
partitions those the publish names (0 by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.message import FAKE_CONSUMER
from meshq_runtime.kafka import EventBus, EventConsumer, LogResets, create_broker
from meshq_runtime.settings import KafkaSettings, ServiceSettings
from network_discovery.contracts import topics

__all__ = ["MemoryKafka", "Parked", "Settings"]


class Settings(ServiceSettings, KafkaSettings):
    pass


@dataclass(frozen=True)
class Parked:
    """A record on the dead-letter topic."""

    value: bytes
    key: bytes
    headers: dict[str, str]


class _Resets(LogResets):
    """Keeps every offset it is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, int, int]] = []

    def observe(
        self, view: str, topic: str, partition: int, offset: int, *, since: float | None = None
    ) -> bool:
        self.seen.append((view, topic, partition, offset))
        return super().observe(view, topic, partition, offset, since=since)


class MemoryKafka:
    def __init__(
        self,
        *,
        service: str = "svc",
        max_attempts: int = 3,
        failpoints: str = "",
        retry_delay: float = 0.001,
    ) -> None:
        self.settings = Settings(
            MESHQ_KAFKA_TOPIC_PREFIX="mem.",
            MESHQ_KAFKA_GROUP_PREFIX="mem",
            MESHQ_KAFKA_MAX_ATTEMPTS=max_attempts,
            MESHQ_FAILPOINTS=failpoints,
        )
        self.broker: KafkaBroker = create_broker(self.settings, client_id=f"meshq-{service}")
        self.resets = _Resets()
        self.bus = EventBus(self.broker, self.settings, resets=self.resets)
        self.consumer = EventConsumer(
            self.broker,
            self.bus,
            self.settings,
            service=service,
            service_settings=self.settings,
            retry_delay=retry_delay,
        )
        #: Records parked on the dead-letter topic, in order.
        self.parked: list[Parked] = []
        #: Offsets committed by the subscriptions.
        self.commits = 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[MemoryKafka]:
        """The broker in memory, with what is parked on the dead-letter topic kept in
        :attr:`parked` and the commits counted in :attr:`commits`."""

        @self.broker.subscriber(self.settings.topic(topics.DEAD_LETTER.name))
        async def keep(message: KafkaMessage) -> None:
            raw: ConsumerRecord[bytes, bytes] = message.raw_message
            headers = {k: v.decode() for k, v in raw.headers}
            self.parked.append(Parked(raw.value or b"", raw.key or b"", headers))

        async def commit() -> None:
            self.commits += 1

        with pytest.MonkeyPatch.context() as patch:
            # the consumer every message of TestKafkaBroker commits through
            patch.setattr(FAKE_CONSUMER, "commit", commit)
            async with TestKafkaBroker(self.broker):
                yield self

    async def publish_raw(self, topic: topics.Topic[Any], value: bytes, **kwargs: Any) -> None:
        """A record as it is, on ``topic`` (the prefixed name), decodable or not."""
        await self.broker.publish(value, topic=self.settings.topic(topic.name), **kwargs)
