"""The flow store graph-engine holds, and the consumer that fills it from ``meshq.flows.records``.

The store is the one the environment names (``MESHQ_FLOWS_PATH``: embedded, in this process;
``MESHQ_FLOWS_CLICKHOUSE_URL``: a ClickHouse server). The writer consumes the flow-collector's
batches (consumer group ``<prefix>.graph-engine-flows``) and stores each one, then commits its
offset: delivery is at least once, and a batch stored twice is dropped by the store (its batch
id). A record that is not a flow batch is logged, counted and skipped; while the store fails,
the same records are tried again, and nothing is committed past them. A reader replica reads a
ClickHouse server; the embedded store lives in the writer alone (one process may open it).

Given the graph, the writer also enriches each batch with what the graph says at its current
revision (``flow_enrich``) and stores it folded per minute in ``flows_enriched_1m``
(``flow_enriched``), under the same deduplication token. The batches of each fetch (up to
``MAX_ROWS`` flows, waiting at most ``MAX_WAIT_S`` for more) are stored together: one insert
per table for all of them (see :class:`FlowWriter` for how they stay counted once). A batch
the graph cannot be read for is stored with its enrichment empty (unknown) and counted,
rather than held back.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

import numpy as np
import pyarrow as pa
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from meshq_runtime.graph.store import GraphStore
from meshq_runtime.kafka.security import client_options
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts.topics import FLOW_RECORDS
from network_discovery.flows.batch import BatchError, FlowBatch, decode_record
from network_discovery.flows.store import FlowStore, FlowStoreError, param_text

from meshq_graph_engine.flow_enrich import FlowEnricher
from meshq_graph_engine.flow_enriched import EnrichedFlows

__all__ = ["FlowIntake", "FlowWriter", "open_flow_store", "start_flow_intake"]

log = structlog.get_logger(__name__)

GROUP = "graph-engine-flows"
#: Records taken from the broker at once (each a batch of up to thousands of flows).
MAX_RECORDS = 64
RETRY_S = (0.5, 1.0, 2.0, 5.0, 10.0)
#: Records stored in one insert (several bus batches), at most.
MAX_ROWS = 100_000
#: How long fetched batches may wait for more before they are stored.
MAX_WAIT_S = 1.0
#: The batch ids stored (a redelivered batch is left out of later inserts).
LEDGER = "flow_batches"


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


def _token(batch_ids: Sequence[str]) -> str:
    """The deduplication token of a combined insert: its batches' ids, in order, hashed."""
    return "m-" + hashlib.sha256("\n".join(batch_ids).encode()).hexdigest()


class FlowWriter:
    """Batches into the flow store and, with an enricher, into the enriched rollup.

    Several batches go into one insert (at most ``max_rows`` records), so that each table gets
    one part for all of them. A combined insert carries one deduplication token (its batch ids
    hashed): the same group written again (a retry after a store failure) is dropped by the
    engine. Once stored, every batch id of the group is kept in ``flow_batches`` and a batch
    whose id is there is left out of later inserts, so a group delivered again in part, or in
    other company, is not counted twice either."""

    def __init__(
        self, store: FlowStore, enricher: FlowEnricher | None = None, *, max_rows: int = MAX_ROWS
    ) -> None:
        self.store = store
        self.enricher = enricher
        self.max_rows = max(1, max_rows)
        #: the enriched table, made on the first batch (in the store's thread)
        self.enriched: EnrichedFlows | None = None
        self.counts: Counter[str] = Counter()
        self._ledger_ready = False
        self._names_loaded = enricher is None

    def _ledger(self) -> str:
        table = f"{self.store.database}.{LEDGER}"
        if not self._ledger_ready:
            self.store.backend.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (batch String, stored DateTime('UTC')) "
                "ENGINE = ReplacingMergeTree ORDER BY batch "
                f"TTL stored + toIntervalSecond({int(self.store.rollup_retention_s)})"
            )
            self._ledger_ready = True
        return table

    def stored(self, batch_ids: Sequence[str]) -> set[str]:
        """Of ``batch_ids``, those stored before (blocking)."""
        if not batch_ids:
            return set()
        table = self.store.backend.query(
            f"SELECT DISTINCT batch FROM {self._ledger()} "  # noqa: S608 - identifiers from this module, values bound
            "WHERE batch IN {ids:Array(String)}",
            {"ids": param_text(list(batch_ids))},
        )
        return {str(v) for v in table.column("batch").to_pylist()} if table.num_rows else set()

    def load_names(self) -> None:
        """The interface names options records told before, into the enricher (blocking)."""
        if self._names_loaded or self.enricher is None:
            return
        self.enricher.learn_names(
            (r["exporter"], r["version"], r["domain"], r["if_index"], r["name"])
            for r in self.store.interface_names(limit=MAX_ROWS)
        )
        self._names_loaded = True

    async def enrich(self, batches: list[FlowBatch]) -> list[pa.Table | None]:
        """Each batch's records with the graph's names (None without an enricher, or for a
        batch of no rows); a batch the graph cannot be read for gets every name empty."""
        if self.enricher is None:
            return [None] * len(batches)
        if not self._names_loaded:
            try:
                await asyncio.to_thread(self.load_names)
            except FlowStoreError as exc:
                log.warning("flows.enrich.names_unavailable", error=str(exc)[:300])
        out: list[pa.Table | None] = []
        for batch in batches:
            # names told before (or in) this batch name its interfaces
            self.enricher.learn_names(
                (o.exporter, o.version, o.domain, i, n)
                for o in batch.options
                for i, n in o.interface_names.items()
            )
            if batch.records.num_rows == 0:
                out.append(None)
                continue
            try:
                out.append(await self.enricher.enrich(batch.records))
            except Exception as exc:  # the graph store failed: the flows still count
                self.counts["enrich_failures"] += 1
                log.warning("flows.enrich.failed", batch=batch.batch_id, error=str(exc)[:300])
                out.append(FlowEnricher.blank(batch.records))
        return out

    def write(self, batches: list[FlowBatch], enriched: list[pa.Table | None]) -> int:
        """Store ``batches`` (and their enriched records), several per insert; blocking.
        Returns the rows stored."""
        seen = self.stored([b.batch_id for b in batches])
        todo = []
        for b, e in zip(batches, enriched, strict=True):
            if b.batch_id not in seen:
                seen.add(b.batch_id)  # a batch twice in one delivery: once
                todo.append((b, e))
        self.counts["already_stored"] += len(batches) - len(todo)
        rows, size = 0, 0
        group: list[tuple[FlowBatch, pa.Table | None]] = []
        for item in todo:
            n = item[0].records.num_rows
            if group and size + n > self.max_rows:
                rows += self._write_group(group)
                group, size = [], 0
            group.append(item)
            size += n
        if group:
            rows += self._write_group(group)
        statuses = {b.exporter: b.status for b in batches if b.status is not None}
        if statuses:
            self.store.record_status([s for s in statuses.values() if s is not None])
        return rows

    def _write_group(self, group: list[tuple[FlowBatch, pa.Table | None]]) -> int:
        ids = [b.batch_id for b, _ in group]
        token = ids[0] if len(ids) == 1 else _token(ids)
        rows = self.store.insert_many([(b.records, b.received) for b, _ in group], token)
        counters = [(b.counters, b.received) for b, _ in group if b.counters is not None]
        if counters:  # sFlow counter samples
            self.store.insert_counters_many(counters, token)
        options = [o for b, _ in group for o in b.options]
        if options:  # interface names and sampling rates from options records
            self.store.record_options(options, max(b.received for b, _ in group))
        names = [(e, b.received) for b, e in group if e is not None]
        if names:
            if self.enriched is None:
                self.enriched = EnrichedFlows(self.store)
            self.enriched.insert_many(names, token)
        stamp = pa.array(np.full(len(ids), int(time.time()), dtype="int64")).cast(
            pa.timestamp("s", tz="UTC")
        )
        self.store.backend.insert(
            self._ledger(), pa.table({"batch": pa.array(ids, pa.string()), "stored": stamp}), "", {}
        )
        self.counts["inserts"] += 1
        return rows


class FlowIntake:
    """``meshq.flows.records`` into the flow store; :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        store: FlowStore,
        settings: KafkaSettings,
        *,
        client_id: str,
        enricher: FlowEnricher | None = None,
    ) -> None:
        self.store = store
        self.writer = FlowWriter(store, enricher)
        self.topic = settings.topic(FLOW_RECORDS.name)
        self.counts = self.writer.counts
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

    async def _fetch(self) -> tuple[dict[TopicPartition, list[Any]], list[FlowBatch]]:
        """Records (and their batches) until the writer's ``max_rows`` flows are in hand or
        the first has waited ``MAX_WAIT_S``: several bus batches per insert."""
        fetched: dict[TopicPartition, list[Any]] = {}
        batches: list[FlowBatch] = []
        rows, started = 0, 0.0
        while True:
            wait_ms = 1000
            if fetched:
                wait_ms = max(1, int((started + MAX_WAIT_S - time.monotonic()) * 1000))
            got: dict[TopicPartition, list[Any]] = await self._consumer.getmany(
                timeout_ms=wait_ms, max_records=MAX_RECORDS
            )
            for tp, records in got.items():
                fetched.setdefault(tp, []).extend(records)
                decoded = self._decode(records)
                batches.extend(decoded)
                rows += sum(b.records.num_rows for b in decoded)
            if fetched and not started:
                started = time.monotonic()
            if fetched and (
                rows >= self.writer.max_rows or time.monotonic() - started >= MAX_WAIT_S
            ):
                return fetched, batches

    async def _run(self) -> None:
        while True:
            fetched, batches = await self._fetch()
            enriched = await self.writer.enrich(batches)
            attempt = 0
            while True:
                try:
                    rows = await asyncio.to_thread(self.writer.write, batches, enriched)
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
    store: FlowStore | None,
    settings: KafkaSettings,
    stack: AsyncExitStack,
    *,
    client_id: str,
    graph: GraphStore | None = None,
    revision: Callable[[], int] | None = None,
) -> FlowIntake | None:
    """The consumer started (and stopped with ``stack``) when there is a store to fill; with
    ``graph`` (and the writer's ``revision``) it enriches what it stores."""
    if store is None:
        return None
    enricher = None
    if graph is not None and revision is not None:
        enricher = FlowEnricher(graph, revision)
    intake = FlowIntake(store, settings, client_id=client_id, enricher=enricher)
    await intake.start()
    stack.push_async_callback(intake.stop)
    return intake
