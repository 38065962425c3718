"""Consumers that commit only after the side effect, dedupe on event id and dead-letter.

Every consumed record goes through the same steps:

1. decode the envelope with the topic's ``TypeAdapter``; a record that does not decode is
   parked on ``meshq.dead-letter`` (with the reason in headers) and committed — one bad
   record never blocks a partition;
2. skip it when the dedupe store has already seen its event id (at-least-once delivery);
3. run the handler; what happens when it fails is the subscription's :class:`FailurePolicy`:
   - ``FailurePolicy.dead_letter()`` (the default): up to ``MESHQ_KAFKA_MAX_ATTEMPTS``
     tries with backoff, then the event is parked on the dead-letter topic and the partition
     moves on (for consumers whose events may be set aside and replayed);
   - ``FailurePolicy.until_stored(permanent=...)``: the handler is retried, with backoff,
     until it succeeds — the partition waits while the store is away, and
     :meth:`EventConsumer.probe` makes ``/ready`` say so. Only an error that ``permanent``
     says can never succeed (a malformed event) is dead-lettered; for a chain that must not
     skip (the audit log);
4. mark the id as seen and only then commit the offset.

A crash between 3 and 4 re-delivers the event after restart; handlers are idempotent on the
event id (a unique key in their store, or the dedupe store). Every dead letter is an alert:
an ``event.dead_lettered`` error log and the :attr:`EventConsumer.dead_lettered` count.
Offsets of the records consumed go to the bus's :class:`~meshq_runtime.kafka.resets.LogResets`
(an offset lower than one already consumed means the broker lost its log).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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

from meshq_runtime.http import Probe
from meshq_runtime.kafka.broker import EventBus
from meshq_runtime.logging import bind_correlation
from meshq_runtime.settings import KafkaSettings, ServiceSettings

__all__ = ["Dedupe", "EventConsumer", "FailurePolicy", "Handler", "RedisDedupe", "Waiting"]

log = structlog.get_logger(__name__)

Handler = Callable[[Any], Awaitable[None]]

#: Exit status of a process killed by the ``consumer.before_commit`` failpoint.
FAILPOINT_EXIT = 75


def _never(_: BaseException) -> bool:
    return False


@dataclass(frozen=True)
class FailurePolicy:
    """What a subscription does when its handler fails (see the module's docstring)."""

    #: Retry until the handler succeeds instead of parking the event after a few tries.
    wait: bool = False
    #: Errors that no retry can cure: dead-lettered at once, whatever ``wait`` says.
    permanent: Callable[[BaseException], bool] = _never
    #: Longest pause between two tries while waiting.
    max_delay_s: float = 5.0
    #: While waiting, an error log (the alert) once the wait has lasted this long.
    alert_after_s: float = 30.0

    @classmethod
    def dead_letter(cls, *, permanent: Callable[[BaseException], bool] = _never) -> FailurePolicy:
        """A few tries (``MESHQ_KAFKA_MAX_ATTEMPTS``), then the dead-letter topic."""
        return cls(wait=False, permanent=permanent)

    @classmethod
    def until_stored(
        cls,
        *,
        permanent: Callable[[BaseException], bool] = _never,
        max_delay_s: float = 5.0,
        alert_after_s: float = 30.0,
    ) -> FailurePolicy:
        """Retry until the store is back; dead-letter only what ``permanent`` names."""
        return cls(
            wait=True, permanent=permanent, max_delay_s=max_delay_s, alert_after_s=alert_after_s
        )


@dataclass
class Waiting:
    """A subscription whose handler keeps failing while its policy waits."""

    topic: str
    partition: int
    offset: int
    event_id: str
    error: str
    attempts: int = 1
    since: float = field(default_factory=time.monotonic)
    alerted: bool = False

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.since

    def describe(self) -> str:
        return (
            f"{self.topic}[{self.partition}] waits at offset {self.offset} (event "
            f"{self.event_id}) for {self.seconds:.1f}s, {self.attempts} tries: {self.error}"
        )


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
        #: Every record parked on the dead-letter topic (each one is an alert).
        self.dead_lettered = 0
        #: Subscriptions (by topic) whose handler is failing while their policy waits.
        self.waiting: dict[str, Waiting] = {}
        #: Waits that ended with the handler succeeding (the store came back).
        self.waits_recovered = 0
        self._policies: dict[str, FailurePolicy] = {}

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
        policy: FailurePolicy | None = None,
    ) -> str:
        """Handle ``topic``; a new group starts at its beginning, or at its end (``latest``).
        Returns the consumer group it joins. ``policy`` says what a failing handler does
        (default: :meth:`FailurePolicy.dead_letter`).

        Each subscription is its own Kafka consumer. A second topic of the same service takes
        its own ``group`` (``PREFIX.group``): two consumers in one group with different
        subscriptions rebalance each other on every join, which can hold a start for minutes.
        """
        adapter = adapter_for(topic)
        physical = self._settings.topic(topic)
        group_id = self._settings.group(group) if group is not None else self.group_id
        chosen = policy or FailurePolicy.dead_letter()
        self._policies[topic] = chosen

        async def on_record(msg: KafkaMessage) -> None:
            await self._consume(topic, adapter, handler, dedupe, msg, group_id, chosen)

        self._broker.subscriber(
            physical,
            group_id=group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset=offset_reset,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )(on_record)
        return group_id

    def probe(self, name: str = "consumer") -> Probe:
        """A readiness probe that fails, saying why, while a subscription waits for its store."""

        async def check() -> None:
            if self.waiting:
                raise ConnectionError("; ".join(w.describe() for w in self.waiting.values()))

        return (name, check)

    async def _consume(
        self,
        topic: str,
        adapter: Any,
        handler: Handler,
        dedupe: Dedupe | None,
        msg: KafkaMessage,
        group_id: str,
        policy: FailurePolicy,
    ) -> None:
        raw = _record(msg)
        where = {"topic": topic, "partition": raw.partition, "offset": raw.offset}
        self._bus.resets.observe(f"consumed:{group_id}", raw.topic, raw.partition, raw.offset)
        try:
            event: EventBase = adapter.validate_json(msg.body)
        except ValidationError as exc:
            log.warning("event.invalid", **where, errors=exc.error_count(), error=_short(exc))
            await self._dead_letter(topic, msg, group_id, kind="invalid", error=_short(exc))
            await self._commit(msg, where)
            return
        with bind_correlation(event.correlation_id, event_id=event.id, event_type=event.type):
            if dedupe is not None and await dedupe.seen(event.id):
                log.info("event.duplicate", **where)
                await self._commit(msg, where)
                return
            failed = await self._run(handler, event, where, policy)
            if failed is not None:
                kind, error = failed
                await self._dead_letter(topic, msg, group_id, kind=kind, error=error)
            elif dedupe is not None:
                await dedupe.mark(event.id)
            if self._failpoints is not None and self._failpoints.failpoint(
                "consumer.before_commit"
            ):
                log.warning("failpoint.hit", failpoint="consumer.before_commit", **where)
                os._exit(FAILPOINT_EXIT)
            await self._commit(msg, where)
            self.processed += 1
            log.info("event.consumed", **where)

    async def _commit(self, msg: KafkaMessage, where: dict[str, Any]) -> None:
        """Commit; a commit the broker refuses (a rebalance, a broker that restarted) only
        means the event may come again, which its handler's idempotence absorbs."""
        try:
            await msg.ack()
        except Exception as exc:
            log.warning("event.commit_failed", **where, error=_short(exc))

    async def _run(
        self, handler: Handler, event: EventBase, where: dict[str, Any], policy: FailurePolicy
    ) -> tuple[str, str] | None:
        """Run the handler under ``policy``; None when it succeeded, else the dead letter's
        kind and reason."""
        attempts = self._settings.kafka_max_attempts
        topic = str(where["topic"])
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    await handler(event)
                except Exception as exc:
                    error = _short(exc)
                    if policy.permanent(exc):
                        log.error(
                            "event.unprocessable", **where, error=error, exc_info=True, alert=True
                        )
                        return ("permanent", error)
                    if not policy.wait and attempt >= attempts:
                        log.warning(
                            "event.handler_failed",
                            **where,
                            attempt=attempt,
                            attempts=attempts,
                            error=error,
                            exc_info=True,
                        )
                        return ("failed", error)
                    delay = self._delay(attempt, policy)
                    if policy.wait:
                        self._note_wait(topic, event, where, error, attempt, policy, delay)
                    else:
                        log.warning(
                            "event.handler_failed",
                            **where,
                            attempt=attempt,
                            attempts=attempts,
                            error=error,
                        )
                    await asyncio.sleep(delay)
                    continue
                return None
        finally:
            waited = self.waiting.pop(topic, None)
            if waited is not None:
                self.waits_recovered += 1
                log.warning(
                    "event.wait_over",
                    **where,
                    waited_s=round(waited.seconds, 3),
                    attempts=waited.attempts,
                )

    def _delay(self, attempt: int, policy: FailurePolicy) -> float:
        delay = self._retry_delay * 2 ** min(attempt - 1, 16)
        if policy.wait:
            delay = min(delay, policy.max_delay_s)
            return delay * random.uniform(0.8, 1.0)  # several pods do not retry in step
        return delay

    def _note_wait(
        self,
        topic: str,
        event: EventBase,
        where: dict[str, Any],
        error: str,
        attempt: int,
        policy: FailurePolicy,
        delay: float,
    ) -> None:
        waiting = self.waiting.get(topic)
        if waiting is None or waiting.event_id != event.id:
            waiting = Waiting(topic, int(where["partition"]), int(where["offset"]), event.id, error)
            self.waiting[topic] = waiting
            log.warning("event.waiting_for_store", **where, error=error, retry_in=round(delay, 3))
        else:
            waiting.attempts, waiting.error = attempt, error
            log.info(
                "event.still_waiting",
                **where,
                attempt=attempt,
                waited_s=round(waiting.seconds, 3),
                error=error,
            )
        if not waiting.alerted and waiting.seconds >= policy.alert_after_s:
            waiting.alerted = True
            log.error(
                "event.store_unavailable",
                **where,
                waited_s=round(waiting.seconds, 3),
                error=error,
                alert=True,
            )

    async def _dead_letter(
        self, topic: str, msg: KafkaMessage, group_id: str, *, kind: str, error: str
    ) -> None:
        """Park the record on the dead-letter topic; while the broker does not take it, try
        again (the offset is not committed before the record is parked)."""
        raw = _record(msg)
        headers = {
            "x-meshq-original-topic": topic,
            "x-meshq-original-partition": str(raw.partition),
            "x-meshq-original-offset": str(raw.offset),
            "x-meshq-consumer-group": group_id,
            "x-meshq-error-kind": kind,
            "x-meshq-error": error,
        }
        delay = self._retry_delay
        while True:
            try:
                await self._bus.publish_raw(
                    topics.DEAD_LETTER.name, key=raw.key, value=msg.body or b"", headers=headers
                )
                break
            except Exception as exc:
                log.warning("event.dead_letter_retry", topic=topic, error=_short(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.dead_lettered += 1
        log.error(
            "event.dead_lettered",
            topic=topic,
            kind=kind,
            partition=raw.partition,
            offset=raw.offset,
            error=error,
            alert=True,
        )


def _short(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _record(msg: KafkaMessage) -> Any:
    """The aiokafka ``ConsumerRecord`` under a message (aiokafka is untyped). These subscribers
    take one record at a time, never a batch, so it is never a tuple."""
    return msg.raw_message
