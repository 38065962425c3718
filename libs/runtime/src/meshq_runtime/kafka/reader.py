"""Reading a whole topic, for the readers that are no consumer-group handler.

Event handlers subscribe through :class:`meshq_runtime.kafka.EventConsumer` (FastStream: a
consumer group, retries, dead letters, offsets committed after the handler). Two readers need
something else, and take it here, configured from the same settings (bootstrap, TLS/SASL,
topic prefix) and decoded through the same typed topic contracts:

- :meth:`TopicReader.follow`: every record of a topic from its start, then each new one, with
  no consumer group, so every process sees every record (the license follower: each pod
  applies every license state itself);
- :meth:`TopicReader.to_end`: the records a consumer group has not taken yet, up to the end
  offsets seen when it starts, with :meth:`TopicReader.commit` after each one is kept (the
  SOAR dispatcher's import of dead letters before a replay).

A record that does not decode as its topic's event is yielded with ``event=None`` (the caller
counts or skips it); it never stops the reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from network_discovery.contracts.events import EventBase, adapter_for
from network_discovery.contracts.topics import Topic
from pydantic import ValidationError

from meshq_runtime.kafka.security import client_options
from meshq_runtime.settings import KafkaSettings

__all__ = ["Read", "TopicReader"]

E = TypeVar("E", bound=EventBase)


@dataclass(frozen=True)
class Read(Generic[E]):
    """One record: its event (None when it does not decode), where it was."""

    event: E | None
    partition: int
    offset: int


class TopicReader(Generic[E]):
    """One topic, read outside the event handlers; ``start()``/``stop()`` or ``async with``.

    ``group``: the consumer group whose committed offsets :meth:`to_end` starts from (None:
    from the topic's start, nothing committed)."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: Topic[E],
        *,
        client_id: str,
        group: str | None = None,
    ) -> None:
        self._topic = topic
        self._name = settings.topic(topic.name)
        self._adapter = adapter_for(topic)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=client_id,
            **client_options(settings),
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def __aenter__(self) -> TopicReader[E]:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _read(self, partition: int, offset: int, value: bytes | None) -> Read[E]:
        try:
            event: E | None = self._adapter.validate_json(value or b"")
        except ValidationError:
            event = None
        return Read(event=event, partition=partition, offset=offset)

    async def follow(self) -> AsyncIterator[Read[E]]:
        """Every record from the topic's start, then each new one, until cancelled."""
        self._consumer.subscribe([self._name])
        async for record in self._consumer:
            yield self._read(record.partition, record.offset, record.value)

    async def to_end(self) -> AsyncIterator[Read[E]]:
        """The records after the group's committed offsets (or from the start), up to the end
        offsets as they are now; the caller commits each one it has kept."""
        await self._consumer.topics()  # fetches the cluster's metadata
        parts = [
            TopicPartition(self._name, p)
            for p in sorted(self._consumer.partitions_for_topic(self._name) or ())
        ]
        if not parts:
            return
        self._consumer.assign(parts)
        ends = await self._consumer.end_offsets(parts)
        pending = {tp for tp in parts if ends[tp] > await self._consumer.position(tp)}
        while pending:
            batch = await self._consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        pending.discard(tp)
                        break
                    yield self._read(tp.partition, record.offset, record.value)
                    self._consumer.seek(tp, record.offset + 1)
                if await self._consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)

    async def commit(self, read: Read[E]) -> None:
        """The group has taken ``read`` (and everything before it on its partition)."""
        tp = TopicPartition(self._name, read.partition)
        await self._consumer.commit({tp: read.offset + 1})
