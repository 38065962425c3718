"""Consumers that commit only after the side effect, dedupe on event id and dead-letter.

Every consumed record goes through the same steps:

1. decode the envelope with the topic's ``TypeAdapter``; a record that does not decode is
   parked on ``meshq.dead-letter`` (with the reason in headers) and committed — one bad
   record never blocks a partition;
2. skip it when the dedupe store has already seen its event id (at-least-once delivery);
3. run the handler, retrying up to ``MESHQ_KAFKA_MAX_ATTEMPTS`` times with backoff; an event
   that keeps failing is parked on the dead-letter topic;
4. mark the id as seen and only then commit the offset.

A crash between 3 and 4 re-delivers the event after restart; handlers are idempotent on the
event id (a unique key in their store, or the dedupe store).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from network_discovery.contracts import topics
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import adapter_for
from pydantic import ValidationError
from redis.asyncio import Redis

from meshq_runtime.kafka.broker import EventBus
from meshq_runtime.logging import bind_correlation
from meshq_runtime.settings import KafkaSettings, ServiceSettings

__all__ = ["Dedupe", "EventConsumer", "Handler", "RedisDedupe"]

log = structlog.get_logger(__name__)

Handler = Callable[[Any], Awaitable[None]]

#: Exit status of a process killed by the ``consumer.before_commit`` failpoint.
FAILPOINT_EXIT = 75


class Dedupe(Protocol):
    async def seen(self, event_id: str) -> bool: ...

    async def mark(self, event_id: str) -> None: ...


class RedisDedupe:
    """Event ids a consumer group has processed, kept in Redis for ``ttl`` seconds."""

    def __init__(self, redis: Redis, consumer: str, ttl: int = 7 * 24 * 3600) -> None:
        self._redis = redis
        self._prefix = f"meshq:seen:{consumer}:"
        self._ttl = ttl

    async def seen(self, event_id: str) -> bool:
        return bool(await self._redis.exists(self._prefix + event_id))

    async def mark(self, event_id: str) -> None:
        await self._redis.set(self._prefix + event_id, b"1", ex=self._ttl)


class EventConsumer:
    """Registers topic handlers on a broker for one service (one consumer group)."""

    def __init__(
        self,
        broker: KafkaBroker,
        bus: EventBus,
        settings: KafkaSettings,
        *,
        service: str,
        service_settings: ServiceSettings | None = None,
        retry_delay: float = 0.2,
    ) -> None:
        self._broker = broker
        self._bus = bus
        self._settings = settings
        self._service = service
        self._failpoints = service_settings
        self._retry_delay = retry_delay
        self.processed = 0
        self.dead_lettered = 0

    @property
    def group_id(self) -> str:
        """``PREFIX.SERVICE``: the group of subscriptions that name none."""
        return self._settings.group(self._service)

    def subscribe(
        self,
        topic: str,
        handler: Handler,
        *,
        dedupe: Dedupe | None = None,
        offset_reset: Literal["earliest", "latest"] = "earliest",
        group: str | None = None,
    ) -> str:
        """Handle ``topic``; a new group starts at its beginning, or at its end (``latest``).
        Returns the consumer group it joins.

        Each subscription is its own Kafka consumer. A second topic of the same service takes
        its own ``group`` (``PREFIX.group``): two consumers in one group with different
        subscriptions rebalance each other on every join, which can hold a start for minutes.
        """
        adapter = adapter_for(topic)
        physical = self._settings.topic(topic)
        group_id = self._settings.group(group) if group is not None else self.group_id

        async def on_record(msg: KafkaMessage) -> None:
            await self._consume(topic, adapter, handler, dedupe, msg, group_id)

        self._broker.subscriber(
            physical,
            group_id=group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset=offset_reset,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )(on_record)
        return group_id

    async def _consume(
        self,
        topic: str,
        adapter: Any,
        handler: Handler,
        dedupe: Dedupe | None,
        msg: KafkaMessage,
        group_id: str,
    ) -> None:
        raw = _record(msg)
        where = {"topic": topic, "partition": raw.partition, "offset": raw.offset}
        try:
            event: EventBase = adapter.validate_json(msg.body)
        except ValidationError as exc:
            log.warning("event.invalid", **where, errors=exc.error_count(), error=_short(exc))
            await self._dead_letter(topic, msg, group_id, kind="invalid", error=_short(exc))
            await msg.ack()
            return
        with bind_correlation(event.correlation_id, event_id=event.id, event_type=event.type):
            if dedupe is not None and await dedupe.seen(event.id):
                log.info("event.duplicate", **where)
                await msg.ack()
                return
            error = await self._run(handler, event, where)
            if error is not None:
                await self._dead_letter(topic, msg, group_id, kind="failed", error=error)
            elif dedupe is not None:
                await dedupe.mark(event.id)
            if self._failpoints is not None and self._failpoints.failpoint(
                "consumer.before_commit"
            ):
                log.warning("failpoint.hit", failpoint="consumer.before_commit", **where)
                os._exit(FAILPOINT_EXIT)
            await msg.ack()
            self.processed += 1
            log.info("event.consumed", **where)

    async def _run(self, handler: Handler, event: EventBase, where: dict[str, Any]) -> str | None:
        attempts = self._settings.kafka_max_attempts
        for attempt in range(1, attempts + 1):
            try:
                await handler(event)
                return None
            except Exception as exc:
                log.warning(
                    "event.handler_failed",
                    **where,
                    attempt=attempt,
                    attempts=attempts,
                    error=_short(exc),
                    exc_info=attempt == attempts,
                )
                if attempt == attempts:
                    return _short(exc)
                await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
        return None  # pragma: no cover

    async def _dead_letter(
        self, topic: str, msg: KafkaMessage, group_id: str, *, kind: str, error: str
    ) -> None:
        raw = _record(msg)
        headers = {
            "x-meshq-original-topic": topic,
            "x-meshq-original-partition": str(raw.partition),
            "x-meshq-original-offset": str(raw.offset),
            "x-meshq-consumer-group": group_id,
            "x-meshq-error-kind": kind,
            "x-meshq-error": error,
        }
        await self._bus.publish_raw(
            topics.DEAD_LETTER.name, key=raw.key, value=msg.body or b"", headers=headers
        )
        self.dead_lettered += 1
        log.warning("event.dead_lettered", topic=topic, kind=kind, offset=raw.offset)


def _short(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _record(msg: KafkaMessage) -> Any:
    """The aiokafka ``ConsumerRecord`` under a message (aiokafka is untyped). These subscribers
    take one record at a time, never a batch, so it is never a tuple."""
    return msg.raw_message
