"""A subscription's handler takes its topic's events: the type checker holds them together.

The repository's mypy configuration checks this file. Each ``type: ignore`` below marks a
subscription mypy must refuse; with ``warn_unused_ignores`` a refusal that stopped being one
fails the check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_type

from meshq_runtime.kafka import EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import (
    ADAPTERS,
    AuditRecorded,
    AuditRequestEvent,
    SnapshotRejected,
    TopologyChanged,
    adapter_for,
)
from pydantic import TypeAdapter


def _subscriptions(consumer: EventConsumer) -> None:
    """Never run: what mypy accepts and refuses."""

    async def on_audit(event: AuditRequestEvent) -> None: ...

    async def on_recorded(event: AuditRecorded) -> None: ...

    async def on_changed(event: TopologyChanged) -> None: ...

    async def on_topology(event: TopologyChanged | SnapshotRejected) -> None: ...

    async def on_any(event: EventBase) -> None: ...

    assert_type(consumer.subscribe(topics.AUDIT_EVENTS, on_audit), str)
    consumer.subscribe(topics.TOPOLOGY_CHANGED, on_topology)
    consumer.subscribe(topics.TOPOLOGY_CHANGED, on_any)  # a handler of any event takes any topic
    # another topic's events
    consumer.subscribe(topics.AUDIT_EVENTS, on_recorded)  # type: ignore[arg-type]
    # a handler that misses one of the topic's events (a rejected snapshot)
    consumer.subscribe(topics.TOPOLOGY_CHANGED, on_changed)  # type: ignore[arg-type]


def _batch_subscriptions(consumer: EventConsumer) -> None:
    """Never run: the same holds for a batch subscription's handler of lists."""

    async def on_audits(events: list[AuditRequestEvent]) -> None: ...

    async def on_recorded(events: list[AuditRecorded]) -> None: ...

    async def on_any(events: Sequence[EventBase]) -> None: ...

    async def on_one(event: AuditRequestEvent) -> None: ...

    assert_type(consumer.subscribe_batch(topics.AUDIT_EVENTS, on_audits), str)
    consumer.subscribe_batch(topics.AUDIT_EVENTS, on_any)  # a sequence of any event
    consumer.subscribe_batch(topics.AUDIT_EVENTS, on_recorded)  # type: ignore[arg-type]
    # a handler of one event where a batch is handed over
    consumer.subscribe_batch(topics.AUDIT_EVENTS, on_one)  # type: ignore[arg-type]


def test_every_topic_but_the_dead_letters_decodes_to_its_events() -> None:
    audit = adapter_for(topics.AUDIT_EVENTS)
    assert_type(audit, TypeAdapter[AuditRequestEvent])
    assert_type(adapter_for(topics.AUDIT_EVENTS.name), TypeAdapter[Any])
    assert audit is adapter_for(topics.AUDIT_EVENTS.name)
    named = {t.name for t in topics.ALL_TOPICS if t not in topics.RAW_TOPICS}
    assert set(ADAPTERS) == named
    assert topics.topic_by_name(topics.AUDIT_EVENTS.name) is topics.AUDIT_EVENTS
