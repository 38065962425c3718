"""The FastStream KafkaBroker factory and the event publisher."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from faststream.kafka import KafkaBroker
from network_discovery.contracts.envelope import EventBase

from meshq_runtime.kafka.resets import LogResets
from meshq_runtime.kafka.security import broker_security
from meshq_runtime.settings import KafkaSettings

__all__ = ["PRODUCER_BATCH_BYTES", "EventBus", "OutgoingRecord", "create_broker"]

log = structlog.get_logger(__name__)

#: The most bytes a producer puts in one partition's record batch. The producer has one
#: request in flight per broker, and what is handed to it meanwhile waits for the next one: at
#: aiokafka's 16 KiB, a burst of audit announcements (about 600 bytes each) took a round trip
#: per 27 records a partition, and the broker's CPU per record was 2-3x what it is at this
#: size. Well under a broker's default limit on a batch (``message.max.bytes``, 1 MiB).
PRODUCER_BATCH_BYTES = 256 * 1024


def create_broker(settings: KafkaSettings, *, client_id: str) -> KafkaBroker:
    """A broker with durable producer settings.

    ``acks=all`` always; the idempotent producer where the broker supports it (Apache Kafka),
    off against Tansu (``MESHQ_KAFKA_IDEMPOTENT=false``). Consumers stay idempotent on the event
    id either way. Record batches of up to :data:`PRODUCER_BATCH_BYTES` per partition.
    """
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotent,
        max_batch_size=PRODUCER_BATCH_BYTES,
        request_timeout_ms=15_000,
        allow_auto_create_topics=True,
        graceful_timeout=10.0,
        logger=None,
        security=broker_security(settings),
    )


@dataclass(frozen=True)
class OutgoingRecord:
    """A record to publish as it is (:meth:`EventBus.publish_raw_many`)."""

    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    correlation_id: str | None = None


class EventBus:
    """Publishes envelope events on their topic, keyed by subject.

    A publish returns once the broker acknowledged the record (``acks=all``); the offset of
    each acknowledgement goes to :attr:`resets`, which notices a broker that lost its log.
    """

    def __init__(
        self, broker: KafkaBroker, settings: KafkaSettings, *, resets: LogResets | None = None
    ) -> None:
        self._broker = broker
        self._settings = settings
        self.resets = resets or LogResets()

    def topic(self, name: str) -> str:
        return self._settings.topic(name)

    async def publish(self, event: EventBase) -> None:
        await self.publish_raw(
            event.topic,
            key=event.key(),
            value=event.model_dump_json().encode(),
            headers={"content-type": "application/json", "x-meshq-type": event.type},
            correlation_id=event.correlation_id,
        )
        log.info(
            "event.published",
            topic=event.topic,
            event_type=event.type,
            event_id=event.id,
            correlation_id=event.correlation_id,
        )

    async def publish_raw(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes,
        headers: dict[str, str] | None = None,
        correlation_id: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"topic": self.topic(topic), "key": key, "headers": headers or {}}
        if correlation_id:
            kwargs["correlation_id"] = correlation_id
        began = self.resets.now()
        meta = await self._broker.publish(value, **kwargs)
        offset = getattr(meta, "offset", None)
        if isinstance(offset, int) and offset >= 0:
            self.resets.observe(
                "produced", kwargs["topic"], int(meta.partition), offset, since=began
            )

    async def publish_raw_many(
        self, records: Sequence[OutgoingRecord]
    ) -> tuple[int, BaseException | None]:
        """Publish ``records`` in order and wait for their acknowledgements together. Returns
        how many of them, from the first, the broker acknowledged, and the error of the first
        one that failed (None when all were acknowledged).

        Every record is handed to the producer before any acknowledgement is awaited, so the
        producer sends them in batches, in the order given (one partition's records keep their
        order). A record the producer refuses stops the sending: the records after it are not
        sent. The count ends at the first record not acknowledged, even when later ones were:
        a caller that sends the rest again keeps their order (and their consumers, idempotent
        on the event id, take the repeats).
        """
        began = self.resets.now()
        refused: BaseException | None = None
        sent: list[tuple[str, Any]] = []
        for record in records:
            topic = self.topic(record.topic)
            kwargs: dict[str, Any] = {"topic": topic, "key": record.key, "headers": record.headers}
            if record.correlation_id:
                kwargs["correlation_id"] = record.correlation_id
            try:
                pending = await self._broker.publish(record.value, no_confirm=True, **kwargs)
            except Exception as exc:
                refused = exc
                break
            sent.append((topic, pending))
        acknowledged = 0
        failed: BaseException | None = None
        for topic, pending in sent:
            try:
                meta = await pending if inspect.isawaitable(pending) else pending
            except Exception as exc:
                failed = failed or exc
                continue
            if failed is None:
                acknowledged += 1
            offset = getattr(meta, "offset", None)
            if isinstance(offset, int) and offset >= 0:
                self.resets.observe("produced", topic, int(meta.partition), offset, since=began)
        return acknowledged, failed or refused
