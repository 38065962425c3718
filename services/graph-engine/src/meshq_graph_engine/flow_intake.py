"""The flow store graph-engine holds, and the consumer that fills it from ``meshq.flows.records``.

The store is the one the environment names (``MESHQ_FLOWS_PATH``: embedded, in this process;
``MESHQ_FLOWS_CLICKHOUSE_URL``: a ClickHouse server). The writer consumes the flow-collector's
batches (consumer group ``<prefix>.graph-engine-flows``) and stores each one, then commits its
offset: delivery is at least once, and a batch stored twice is dropped by the store (its batch
id). A record that is not a flow batch is logged, counted and skipped; while the store fails,
the same records are tried again, and nothing is committed past them. A reader replica reads a
ClickHouse server; the embedded store lives in the writer alone (one process may open it).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from meshq_runtime.kafka.security import client_options
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts.topics import FLOW_RECORDS
from network_discovery.flows.batch import BatchError, FlowBatch, decode_record
from network_discovery.flows.store import FlowStore, FlowStoreError

__all__ = ["FlowIntake", "open_flow_store", "start_flow_intake"]

log = structlog.get_logger(__name__)

GROUP = "graph-engine-flows"
#: Records taken from the broker at once (each a batch of up to thousands of flows).
MAX_RECORDS = 64
RETRY_S = (0.5, 1.0, 2.0, 5.0, 10.0)


def open_flow_store(
    *, reader: bool = False, environ: Mapping[str, str] | None = None
) -> FlowStore | None:
    """The configured flow store, or None (then the Flows queries answer 503). A reader
    replica opens only a ClickHouse server."""
    env = os.environ if environ is None else environ
    if reader and not env.get("MESHQ_FLOWS_CLICKHOUSE_URL"):
        return None
    try:
        store = FlowStore.from_env(env)
    except (FlowStoreError, ValueError) as exc:
        log.error("flows.store.unavailable", error=str(exc)[:500])
        return None
    if store is None:
        log.info(
            "flows.store.off", reason="neither MESHQ_FLOWS_PATH nor MESHQ_FLOWS_CLICKHOUSE_URL"
        )
    return store


class FlowIntake:
    """``meshq.flows.records`` into the flow store; :meth:`start` and :meth:`stop`."""

    def __init__(self, store: FlowStore, settings: KafkaSettings, *, client_id: str) -> None:
        self.store = store
        self.topic = settings.topic(FLOW_RECORDS.name)
        self.counts: Counter[str] = Counter()
        self._consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.group(GROUP),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=client_id,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **client_options(settings),
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="flow-intake")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def _store(self, batches: list[FlowBatch]) -> int:
        rows = 0
        for batch in batches:
            rows += self.store.insert(batch.records, batch.received, batch.batch_id)
        statuses = {b.exporter: b.status for b in batches if b.status is not None}
        if statuses:
            self.store.record_status([s for s in statuses.values() if s is not None])
        return rows

    def _decode(self, records: list[Any]) -> list[FlowBatch]:
        out = []
        for record in records:
            try:
                out.append(
                    decode_record(record.key, record.value, {k: v for k, v in record.headers or ()})
                )
            except BatchError as exc:
                self.counts["invalid"] += 1
                log.warning(
                    "flows.batch.invalid",
                    partition=record.partition,
                    offset=record.offset,
                    reason=str(exc)[:300],
                )
        return out

    async def _run(self) -> None:
        while True:
            fetched: dict[TopicPartition, list[Any]] = await self._consumer.getmany(
                timeout_ms=1000, max_records=MAX_RECORDS
            )
            if not fetched:
                continue
            batches = self._decode([r for records in fetched.values() for r in records])
            attempt = 0
            while True:
                try:
                    rows = await asyncio.to_thread(self._store, batches)
                    break
                except FlowStoreError as exc:
                    delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                    attempt += 1
                    self.counts["store_failures"] += 1
                    log.warning("flows.store.failed", error=str(exc)[:300], retry_in_s=delay)
                    await asyncio.sleep(delay)
            self.counts["batches"] += len(batches)
            self.counts["rows"] += rows
            await self._consumer.commit(
                {tp: records[-1].offset + 1 for tp, records in fetched.items() if records}
            )


async def start_flow_intake(
    store: FlowStore | None, settings: KafkaSettings, stack: AsyncExitStack, *, client_id: str
) -> FlowIntake | None:
    """The consumer started (and stopped with ``stack``) when there is a store to fill."""
    if store is None:
        return None
    intake = FlowIntake(store, settings, client_id=client_id)
    await intake.start()
    stack.push_async_callback(intake.stop)
    return intake
