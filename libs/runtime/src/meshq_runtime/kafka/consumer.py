"""Consumers that commit only after the side effect, and dead-letter what they cannot process.

A subscription binds a topic (``Topic[E]``) to a handler of ``E``: a type checker refuses a
handler of another topic's events. Each subscription is a FastStream subscriber whose decoder
is the topic's ``TypeAdapter``, and every consumed record goes through the same steps, each a
FastStream middleware of the subscription (outermost first):

1. :class:`_Observe`: the record's offset goes to the bus's
   :class:`~meshq_runtime.kafka.resets.LogResets` (an offset lower than one already consumed
   means the broker lost its log);
2. :class:`_Commit`: the offset is committed once the steps inside are done, and only then;
   the ``consumer.before_commit`` failpoint ends the process just before
   (:data:`FAILPOINT_EXIT`);
3. :class:`_Decode`: the envelope is decoded with the topic's ``TypeAdapter``; a record that
   does not decode is parked on ``meshq.dead-letter`` (with the reason in headers) and
   committed — one bad record never blocks a partition;
4. :class:`_Retry`: the handler runs; what happens when it fails is the subscription's
   :class:`FailurePolicy`:
   - ``FailurePolicy.dead_letter()`` (the default): up to ``MESHQ_KAFKA_MAX_ATTEMPTS``
     tries with backoff, then the event is parked on the dead-letter topic and the partition
     moves on (for consumers whose events may be set aside and replayed);
   - ``FailurePolicy.until_stored(permanent=...)``: the handler is retried, with backoff,
     until it succeeds — the partition waits while the store is away, and
     :meth:`EventConsumer.probe` makes ``/ready`` say so. Only an error that ``permanent``
     says can never succeed (a malformed event) is dead-lettered; for a chain that must not
     skip (the audit log).

Delivery is at least once: a crash between the handler and the commit re-delivers the event
after restart, and every handler is idempotent on the event id in its own store (the audit
log's unique event id, the SOAR dispatch records, the snapshot status records) or changes
nothing when run twice (a NetBox sync, a revision re-read). No store of seen event ids stands
in front of the handlers: a repeated audit event must reach the audit service, which announces
it again so that the producer still waiting for its receipt gets one.

Every dead letter is an alert: an ``event.dead_lettered`` error log and the
:attr:`EventConsumer.dead_lettered` count.

Batches
-------
:meth:`EventConsumer.subscribe_batch` hands the handler a list of events at once (FastStream's
batch subscriber: what one fetch returned, up to ``max_records``), for a store that writes many
in one transaction (the audit chain). The same steps run once per batch:

1. :class:`_BatchObserve`: every record's offset goes to ``LogResets``;
2. :class:`_BatchCommit`: one offset commit for the whole batch, after the steps inside, behind
   the same ``consumer.before_commit`` failpoint;
3. :class:`_BatchDecode`: each record is decoded on its own; one that does not decode is parked
   alone (``invalid``) and the rest of the batch goes on;
4. :class:`_BatchRetry`: the handler takes the decoded events, in order, under the
   subscription's policy, applied to the batch as a whole: ``until_stored`` retries the whole
   batch while the store is away. When the policy gives up on the batch (an error it calls
   permanent, or the tries of ``dead_letter`` spent), each event is handled again on its own,
   under the same policy, so that only the events that fail alone are parked. The handler is
   idempotent on the event id, so handing it again what an earlier try half-did is harmless.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any, Generic, Literal, TypeVar, cast

import structlog
from faststream import AckPolicy, BaseMiddleware, ContextRepo, StreamMessage
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from network_discovery.contracts import topics
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import adapter_for
from network_discovery.contracts.topics import Topic
from pydantic import ValidationError

from meshq_runtime.http import Probe
from meshq_runtime.kafka.broker import EventBus
from meshq_runtime.logging import bind_correlation
from meshq_runtime.settings import KafkaSettings, ServiceSettings

__all__ = [
    "FAILPOINT_EXIT",
    "BatchHandler",
    "EventConsumer",
    "FailurePolicy",
    "Handler",
    "Waiting",
]

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=EventBase)

#: What a subscription to a ``Topic[E]`` runs for each of its events.
Handler = Callable[[E], Awaitable[None]]

#: What a batch subscription to a ``Topic[E]`` runs for each batch of its events (in order).
BatchHandler = Callable[[list[E]], Awaitable[None]]

#: The rest of a subscription's steps, as FastStream hands it to a middleware.
Next = Callable[[Any], Awaitable[Any]]

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
    #: Events waiting together (a batch, whose first event is ``event_id``).
    records: int = 1

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.since

    def describe(self) -> str:
        more = f" and {self.records - 1} more" if self.records > 1 else ""
        return (
            f"{self.topic}[{self.partition}] waits at offset {self.offset} (event "
            f"{self.event_id}{more}) for {self.seconds:.1f}s, {self.attempts} tries: {self.error}"
        )


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

    @property
    def group_id(self) -> str:
        """``PREFIX.SERVICE``: the group of subscriptions that name none."""
        return self._settings.group(self._service)

    def subscribe(
        self,
        topic: Topic[E],
        handler: Handler[E],
        *,
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
        group_id = self._settings.group(group) if group is not None else self.group_id
        sub = _Subscription(self, topic.name, group_id, policy or FailurePolicy.dead_letter())

        async def decode(msg: StreamMessage[Any]) -> E:
            return adapter.validate_json(msg.body)

        async def deliver(message: KafkaMessage) -> None:
            await handler(cast(E, await _event(message)))

        self._register(sub, (_Observe, _Commit, _Decode, _Retry), decode, deliver, offset_reset)
        return group_id

    def subscribe_batch(
        self,
        topic: Topic[E],
        handler: BatchHandler[E],
        *,
        max_records: int = 500,
        max_wait_ms: int = 100,
        offset_reset: Literal["earliest", "latest"] = "earliest",
        group: str | None = None,
        policy: FailurePolicy | None = None,
    ) -> str:
        """Handle ``topic`` a batch at a time: ``handler`` takes the events of one fetch (at
        most ``max_records``, in partition order) and the offsets are committed once, after it
        returned. ``max_wait_ms`` is how long a fetch waits for a first record, and the pause
        after a fetch that found none (an idle subscription sees a new record within about
        that long); a fetch never waits to fill a batch, so a quiet topic's events are handed
        over as they arrive.

        A record that does not decode is parked alone; ``policy`` applies to the batch, and
        what it gives up on is handled again one event at a time (see the module's
        docstring). Returns the consumer group it joins, as :meth:`subscribe` does.
        """
        if max_records < 1 or max_wait_ms < 1:
            raise ValueError("max_records and max_wait_ms must be at least 1")
        adapter = adapter_for(topic)
        group_id = self._settings.group(group) if group is not None else self.group_id
        sub = _Subscription(self, topic.name, group_id, policy or FailurePolicy.dead_letter())

        async def decode(msg: StreamMessage[Any]) -> _Batch[E]:
            batch: _Batch[E] = _Batch()
            for raw in _records(msg):
                try:
                    batch.entries.append((raw, adapter.validate_json(raw.value or b"")))
                except ValidationError as exc:
                    batch.invalid.append((raw, exc))
            return batch

        async def deliver(message: KafkaMessage) -> None:
            batch = cast(_Batch[E], await message.decode())
            await handler(list(batch.handing))

        steps = (_BatchObserve, _BatchCommit, _BatchDecode, _BatchRetry)
        self._register(
            sub,
            steps,
            decode,
            deliver,
            offset_reset,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=max_wait_ms,
        )
        return group_id

    def _register(
        self,
        sub: _Subscription,
        steps: Sequence[Callable[..., BaseMiddleware[Any, Any]]],
        decode: Callable[[StreamMessage[Any]], Awaitable[Any]],
        deliver: Callable[[KafkaMessage], Awaitable[None]],
        offset_reset: Literal["earliest", "latest"],
        **options: Any,
    ) -> None:
        """One router per subscription, its middlewares the subscription's steps, with one
        subscriber on the subscription's topic and group (manual commits)."""
        router = KafkaRouter(middlewares=[partial(step, sub=sub) for step in steps])
        router.subscriber(
            self._settings.topic(sub.topic),
            group_id=sub.group_id,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset=offset_reset,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            decoder=decode,
            **options,
        )(deliver)
        self._broker.include_router(router)

    def probe(self, name: str = "consumer") -> Probe:
        """A readiness probe that fails, saying why, while a subscription waits for its store."""

        async def check() -> None:
            if self.waiting:
                raise ConnectionError("; ".join(w.describe() for w in self.waiting.values()))

        return (name, check)

    async def _dead_letter(
        self, sub: _Subscription, msg: StreamMessage[Any], *, kind: str, error: str
    ) -> None:
        """Park the record on the dead-letter topic; while the broker does not take it, try
        again (the offset is not committed before the record is parked)."""
        await self._park(sub, _record(msg), msg.body or b"", kind=kind, error=error)

    async def _park(
        self, sub: _Subscription, raw: Any, value: bytes, *, kind: str, error: str
    ) -> None:
        """Park one record (``raw``, the aiokafka ``ConsumerRecord``) as :meth:`_dead_letter`
        says; a batch parks its records one by one."""
        headers = {
            "x-meshq-original-topic": sub.topic,
            "x-meshq-original-partition": str(raw.partition),
            "x-meshq-original-offset": str(raw.offset),
            "x-meshq-consumer-group": sub.group_id,
            "x-meshq-error-kind": kind,
            "x-meshq-error": error,
        }
        delay = self._retry_delay
        while True:
            try:
                await self._bus.publish_raw(
                    topics.DEAD_LETTER.name, key=raw.key, value=value, headers=headers
                )
                break
            except Exception as exc:
                log.warning("event.dead_letter_retry", topic=sub.topic, error=_short(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.dead_lettered += 1
        log.error(
            "event.dead_lettered",
            topic=sub.topic,
            kind=kind,
            partition=raw.partition,
            offset=raw.offset,
            error=error,
            alert=True,
        )


class _Outcome(Enum):
    """What became of a decoded record, as the steps hand it back outwards."""

    HANDLED = "handled"
    PARKED = "parked"  # the handler gave up: dead-lettered
    INVALID = "invalid"  # it did not decode: dead-lettered


@dataclass(frozen=True)
class _Subscription:
    """What the steps of one subscription share."""

    consumer: EventConsumer
    topic: str
    group_id: str
    policy: FailurePolicy

    def where(self, msg: StreamMessage[Any]) -> dict[str, Any]:
        raw = _record(msg)
        return {"topic": self.topic, "partition": raw.partition, "offset": raw.offset}


class _Step(BaseMiddleware[Any, Any]):
    """A step of a subscription's pipeline (FastStream makes one per record)."""

    def __init__(self, msg: Any, /, *, context: ContextRepo, sub: _Subscription) -> None:
        super().__init__(msg, context=context)
        self.sub = sub


class _Observe(_Step):
    """Every consumed offset goes to the bus's ``LogResets``, whatever becomes of the record."""

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        raw = _record(msg)
        self.sub.consumer._bus.resets.observe(
            f"consumed:{self.sub.group_id}", raw.topic, raw.partition, raw.offset
        )
        return await call_next(msg)


class _Commit(_Step):
    """Commit once the steps inside are done (handled, or parked on the dead-letter topic).

    The subscriber's own acknowledgement (``AckPolicy``) is off: FastStream's would commit after
    a failure as well, and would swallow a refused commit without a word. An error out of the
    steps inside (none is expected: they catch what the handler raises) leaves the offset
    uncommitted, so the record comes again after a restart or a rebalance.
    """

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        where = self.sub.where(msg)
        try:
            outcome = await call_next(msg)
        except Exception:
            log.error("event.uncommitted", **where, exc_info=True, alert=True)
            raise
        if outcome is _Outcome.INVALID:
            await _commit(msg, where)
            return None
        event = await _event(msg)
        consumer = self.sub.consumer
        with bind_correlation(event.correlation_id, event_id=event.id, event_type=event.type):
            if consumer._failpoints is not None and consumer._failpoints.failpoint(
                "consumer.before_commit"
            ):
                log.warning("failpoint.hit", failpoint="consumer.before_commit", **where)
                os._exit(FAILPOINT_EXIT)
            await _commit(msg, where)
            consumer.processed += 1
            log.info("event.consumed", **where)
        return None


class _Decode(_Step):
    """Decode with the topic's ``TypeAdapter`` (the subscriber's decoder); park what does not
    decode. The steps inside run with the event's correlation id bound to the logs."""

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        sub = self.sub
        try:
            event = await _event(msg)
        except ValidationError as exc:
            error = _short(exc)
            log.warning("event.invalid", **sub.where(msg), errors=exc.error_count(), error=error)
            await sub.consumer._dead_letter(sub, msg, kind="invalid", error=error)
            return _Outcome.INVALID
        with bind_correlation(event.correlation_id, event_id=event.id, event_type=event.type):
            return await call_next(msg)


class _Tries(_Step):
    """Runs a handler under the subscription's :class:`FailurePolicy` (shared by the steps of
    single records and of batches)."""

    async def _run(
        self,
        handle: Callable[[], Awaitable[Any]],
        event: EventBase,
        where: dict[str, Any],
        *,
        records: int = 1,
    ) -> tuple[str, str] | None:
        """None when the handler succeeded, else the dead letter's kind and reason.

        ``records`` above 1 is a batch (``event`` its first): a give-up is not yet an alert,
        since its events are handled again one by one (:class:`_BatchRetry`).
        """
        consumer, policy = self.sub.consumer, self.sub.policy
        attempts = consumer._settings.kafka_max_attempts
        topic = str(where["topic"])
        attempt = 0
        try:
            while True:
                attempt += 1
                try:
                    await handle()
                except Exception as exc:
                    error = _short(exc)
                    permanent = policy.permanent(exc)
                    if records > 1 and (permanent or (not policy.wait and attempt >= attempts)):
                        log.warning(
                            "event.batch_failed",
                            **where,
                            attempt=attempt,
                            permanent=permanent,
                            error=error,
                        )
                        return ("permanent" if permanent else "failed", error)
                    if permanent:
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
                    delay = self._delay(attempt)
                    if policy.wait:
                        self._note_wait(topic, event, where, error, attempt, delay, records)
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
            waited = consumer.waiting.pop(topic, None)
            if waited is not None:
                consumer.waits_recovered += 1
                log.warning(
                    "event.wait_over",
                    **where,
                    waited_s=round(waited.seconds, 3),
                    attempts=waited.attempts,
                )

    def _delay(self, attempt: int) -> float:
        policy = self.sub.policy
        delay = self.sub.consumer._retry_delay * 2 ** min(attempt - 1, 16)
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
        delay: float,
        records: int = 1,
    ) -> None:
        consumer, policy = self.sub.consumer, self.sub.policy
        waiting = consumer.waiting.get(topic)
        if waiting is None or waiting.event_id != event.id or waiting.records != records:
            waiting = Waiting(
                topic,
                int(where["partition"]),
                int(where["offset"]),
                event.id,
                error,
                records=records,
            )
            consumer.waiting[topic] = waiting
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


class _Retry(_Tries):
    """Run the handler under the subscription's :class:`FailurePolicy`; park the event when
    the policy gives up on it.

    The tries happen here, around the handler, rather than by handing the record back to the
    consumer (a nack seeks back and fetches it again, through every step): the backoff holds
    the partition where it is, the tries are counted in one place, and a waiting subscription
    stays in :attr:`EventConsumer.waiting` (the ``/ready`` probe) until its handler succeeds.
    """

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        sub = self.sub
        event = await _event(msg)
        failed = await self._run(partial(call_next, msg), event, sub.where(msg))
        if failed is None:
            return _Outcome.HANDLED
        kind, error = failed
        await sub.consumer._dead_letter(sub, msg, kind=kind, error=error)
        return _Outcome.PARKED


@dataclass
class _Batch(Generic[E]):
    """A fetched batch, as the subscription's decoder leaves it (cached on the message)."""

    #: (ConsumerRecord, event) of every record that decoded, in the order fetched.
    entries: list[tuple[Any, E]] = field(default_factory=list)
    #: (ConsumerRecord, why) of every record that did not.
    invalid: list[tuple[Any, ValidationError]] = field(default_factory=list)
    #: What the next call of the handler takes (set by :class:`_BatchRetry`).
    handing: list[E] = field(default_factory=list)


def _batch_where(sub: _Subscription, raws: Sequence[Any]) -> dict[str, Any]:
    """Where a batch lies: its first record's partition and offset (what ``/ready`` names
    while it waits), how many records, and the offsets per partition (``p:first-last``)."""
    spans: dict[int, tuple[int, int]] = {}
    for raw in raws:
        first, last = spans.get(raw.partition, (raw.offset, raw.offset))
        spans[raw.partition] = (min(first, raw.offset), max(last, raw.offset))
    head = raws[0]
    return {
        "topic": sub.topic,
        "partition": head.partition,
        "offset": head.offset,
        "records": len(raws),
        "offsets": ",".join(f"{p}:{a}-{b}" for p, (a, b) in sorted(spans.items())),
    }


async def _batch(msg: StreamMessage[Any]) -> _Batch[Any]:
    """The batch under a message, from the subscription's decoder (which never raises for a
    record that does not decode: it sets it aside)."""
    return cast(_Batch[Any], await msg.decode())


class _BatchObserve(_Step):
    """Every offset of the batch goes to the bus's ``LogResets``."""

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        resets, view = self.sub.consumer._bus.resets, f"consumed:{self.sub.group_id}"
        for raw in _records(msg):
            resets.observe(view, raw.topic, raw.partition, raw.offset)
        return await call_next(msg)


class _BatchCommit(_Step):
    """One commit for the whole batch, once the steps inside are done with every record of
    it (handled, or parked); as :class:`_Commit` does for one record."""

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        where = _batch_where(self.sub, _records(msg))
        try:
            await call_next(msg)
        except Exception:
            log.error("event.uncommitted", **where, exc_info=True, alert=True)
            raise
        batch = await _batch(msg)
        consumer = self.sub.consumer
        failpoints = consumer._failpoints
        if (
            batch.entries
            and failpoints is not None
            and failpoints.failpoint("consumer.before_commit")
        ):
            log.warning("failpoint.hit", failpoint="consumer.before_commit", **where)
            os._exit(FAILPOINT_EXIT)
        await _commit(msg, where)
        consumer.processed += len(batch.entries)
        log.info("event.batch_consumed", **where, events=len(batch.entries))
        return None


class _BatchDecode(_Step):
    """Park, one by one, the records of the batch that did not decode; the rest goes on."""

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        sub = self.sub
        batch = await _batch(msg)
        for raw, exc in batch.invalid:
            error = _short(exc)
            where = {"topic": sub.topic, "partition": raw.partition, "offset": raw.offset}
            log.warning("event.invalid", **where, errors=exc.error_count(), error=error)
            await sub.consumer._park(sub, raw, raw.value or b"", kind="invalid", error=error)
        if not batch.entries:
            return _Outcome.INVALID
        return await call_next(msg)


class _BatchRetry(_Tries):
    """Run the handler on the batch under the subscription's policy; when the policy gives up
    on the batch, run it on each event alone, and park only the events that fail alone."""

    async def consume_scope(self, call_next: Next, msg: StreamMessage[Any]) -> Any:
        batch = await _batch(msg)
        return await self._handle(partial(call_next, msg), batch, batch.entries)

    async def _handle(
        self,
        handle: Callable[[], Awaitable[Any]],
        batch: _Batch[Any],
        entries: list[tuple[Any, Any]],
    ) -> _Outcome:
        sub = self.sub
        batch.handing = [event for _, event in entries]
        first_raw, first = entries[0]
        if len(entries) == 1:
            where = {
                "topic": sub.topic,
                "partition": first_raw.partition,
                "offset": first_raw.offset,
            }
            with bind_correlation(first.correlation_id, event_id=first.id, event_type=first.type):
                failed = await self._run(handle, first, where)
                if failed is None:
                    return _Outcome.HANDLED
                kind, error = failed
                value = first_raw.value or b""
                await sub.consumer._park(sub, first_raw, value, kind=kind, error=error)
            return _Outcome.PARKED
        where = _batch_where(sub, [raw for raw, _ in entries])
        if await self._run(handle, first, where, records=len(entries)) is None:
            return _Outcome.HANDLED
        log.warning("event.batch_split", **where)
        outcomes = [await self._handle(handle, batch, [entry]) for entry in entries]
        return _Outcome.PARKED if _Outcome.PARKED in outcomes else _Outcome.HANDLED


async def _commit(msg: StreamMessage[Any], where: dict[str, Any]) -> None:
    """Commit; a commit the broker refuses (a rebalance, a broker that restarted) only means
    the event may come again, which its handler's idempotence absorbs."""
    try:
        await msg.ack()
    except Exception as exc:
        log.warning("event.commit_failed", **where, error=_short(exc))


async def _event(msg: StreamMessage[Any]) -> EventBase:
    """The record's event, from the subscriber's decoder (the topic's ``TypeAdapter``): decoded
    by :class:`_Decode`, and cached on the message for the steps inside."""
    return cast(EventBase, await msg.decode())


def _short(exc: BaseException, limit: int = 500) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _record(msg: StreamMessage[Any]) -> Any:
    """The aiokafka ``ConsumerRecord`` under a message (aiokafka is untyped). These subscribers
    take one record at a time, never a batch, so it is never a tuple."""
    return msg.raw_message


def _records(msg: StreamMessage[Any]) -> tuple[Any, ...]:
    """The aiokafka ``ConsumerRecord``s under the message of a batch subscriber, in the order
    fetched (FastStream hands a batch over as a tuple)."""
    raw = msg.raw_message
    return tuple(raw) if isinstance(raw, tuple | list) else (raw,)
