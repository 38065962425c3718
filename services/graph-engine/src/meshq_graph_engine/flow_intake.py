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
from network_discovery.flows.store import (
    INSERT_SETTINGS,
    OPTION_TABLES,
    FlowStore,
    FlowStoreError,
    param_text,
)

from meshq_graph_engine.flow_enrich import FlowEnricher
from meshq_graph_engine.flow_enriched import INSERT_SETTINGS as ENRICHED_SETTINGS
from meshq_graph_engine.flow_enriched import TABLE as ENRICHED_TABLE
from meshq_graph_engine.flow_enriched import EnrichedFlows

__all__ = ["JOURNAL", "LEDGER", "FlowIntake", "FlowWriter", "open_flow_store", "start_flow_intake"]

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
#: The combined inserts written ahead of running them (see :class:`FlowWriter`).
JOURNAL = "flow_journal"
#: Journal entries read back at once when recovering.
RECOVER_GROUPS = 16


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


def _journal_key(token: str) -> int:
    """A group's journal partition: its token hashed to 63 bits."""
    return int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big") >> 1


def _ipc(data: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_stream(sink, data.schema, options=options) as writer:
        writer.write_table(data)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(payload: bytes | str) -> pa.Table:
    raw = payload.encode() if isinstance(payload, str) else payload
    return pa.ipc.open_stream(pa.BufferReader(raw)).read_all()


def _token(batch_ids: Sequence[str]) -> str:
    """The deduplication token of a combined insert: its batches' ids, in order, hashed."""
    return "m-" + hashlib.sha256("\n".join(batch_ids).encode()).hexdigest()


class FlowWriter:
    """Batches into the flow store and, with an enricher, into the enriched rollup.

    Several batches go into one insert (at most ``max_rows`` records), so that each table gets
    one part for all of them. A combined insert carries one deduplication token (its batch ids
    hashed), and is stored exactly once however the batches come again:

    1. what the group writes (the raw rows, counter samples, options and enriched rows, as the
       tables they are inserted as) goes first into the journal, ``flow_journal``, as one
       part: the group is either wholly there or not at all;
    2. its inserts run, each under the group's token (the views' inserts too);
    3. its batch ids go into ``flow_batches``, and its journal entry is dropped.

    A batch whose id is in ``flow_batches`` is left out of later inserts. A writer stopped
    after 1 (killed, or a store that failed) finds the entry when it writes next (or starts)
    and runs the same inserts again, same rows, same token, before anything else: the engine
    drops what it had stored already, table by table, and stores what it had not, and the
    ids are noted. So a group delivered again in another grouping finds its ids noted and is
    not counted twice; a writer stopped before 1 stored nothing of the group."""

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
        self._journal_ready = False
        #: the journal may hold groups not yet stored (at start, and after a failed write)
        self._unsettled = True
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

    def _journal(self) -> str:
        table = f"{self.store.database}.{JOURNAL}"
        if not self._journal_ready:
            # one partition per group: dropped at once when the group is stored
            self.store.backend.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key UInt64, token String, "
                "ids Array(String), staged DateTime('UTC'), seq UInt8, parts UInt8, "
                "target String, payload String CODEC(NONE)) "
                "ENGINE = MergeTree PARTITION BY key ORDER BY seq"
            )
            self._journal_ready = True
        return table

    def _targets(self) -> dict[str, str]:
        """The tables a group writes, with the settings of their inserts (the only tables the
        journal may name)."""
        db = self.store.database
        return {
            self.store.flows_table: INSERT_SETTINGS,
            self.store.counters_table: INSERT_SETTINGS,
            f"{db}.{ENRICHED_TABLE}": ENRICHED_SETTINGS,
            **{f"{db}.{name}": "" for name in OPTION_TABLES},
        }

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
        Returns the rows stored. The groups a stopped writer left in the journal are stored
        first."""
        try:
            if self._unsettled:
                self.recover()
            return self._write(batches, enriched)
        except BaseException:
            self._unsettled = True
            raise

    def _write(self, batches: list[FlowBatch], enriched: list[pa.Table | None]) -> int:
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
        inserts: list[tuple[str, pa.Table]] = []
        data = FlowStore.flow_rows([(b.records, b.received) for b, _ in group])
        rows = 0
        if data is not None:
            inserts.append((self.store.flows_table, data))
            rows = data.num_rows
        counters = [(b.counters, b.received) for b, _ in group if b.counters is not None]
        samples = FlowStore.counter_rows(counters)
        if samples is not None:  # sFlow counter samples
            inserts.append((self.store.counters_table, samples))
        options = [o for b, _ in group for o in b.options]
        if options:  # interface names and sampling rates from options records
            inserts += self.store.option_rows(options, max(b.received for b, _ in group))
        names = EnrichedFlows.rows_many([(e, b.received) for b, e in group if e is not None])
        if names is not None:
            if self.enriched is None:
                self.enriched = EnrichedFlows(self.store)
            inserts.append((self.enriched.table, names))
        if inserts:
            key = _journal_key(token)
            self._journal_write(key, token, ids, inserts)
            self._apply(token, inserts)
            self._note(ids)
            self._journal_drop(key)
        else:
            self._note(ids)
        self.counts["inserts"] += 1
        return rows

    def _journal_write(
        self, key: int, token: str, ids: Sequence[str], inserts: Sequence[tuple[str, pa.Table]]
    ) -> None:
        """The group's inserts into the journal, in one part."""
        n = len(inserts)
        entry = pa.table(
            {
                "key": pa.array([key] * n, pa.uint64()),
                "token": pa.array([token] * n, pa.string()),
                "ids": pa.array([list(ids)] * n, pa.list_(pa.string())),
                "staged": pa.array(np.full(n, int(time.time()), dtype="int64")).cast(
                    pa.timestamp("s", tz="UTC")
                ),
                "seq": pa.array(range(n), pa.uint8()),
                "parts": pa.array([n] * n, pa.uint8()),
                "target": pa.array([t for t, _ in inserts], pa.string()),
                "payload": pa.array([_ipc(d) for _, d in inserts], pa.binary()),
            }
        )
        self.store.backend.insert(self._journal(), entry, "", {})

    def _apply(self, token: str, inserts: Sequence[tuple[str, pa.Table]]) -> None:
        targets = self._targets()
        for table, data in inserts:
            settings = targets[table]
            self.store.backend.insert(
                table, data, settings, {"batch": token[:200]} if settings else {}
            )

    def _note(self, ids: Sequence[str]) -> None:
        """The group's batch ids into the ledger: stored."""
        stamp = pa.array(np.full(len(ids), int(time.time()), dtype="int64")).cast(
            pa.timestamp("s", tz="UTC")
        )
        self.store.backend.insert(
            self._ledger(), pa.table({"batch": pa.array(ids, pa.string()), "stored": stamp}), "", {}
        )

    def _journal_drop(self, key: int) -> None:
        self.store.backend.execute(f"ALTER TABLE {self._journal()} DROP PARTITION {int(key)}")

    def recover(self) -> int:
        """Store the groups the journal holds (left by a writer stopped before it noted
        them), as they were first written: the same rows under the same token, so the engine
        keeps what was stored and adds what was not. Returns the groups recovered."""
        journal = self._journal()
        targets = self._targets()
        recovered = 0
        while True:
            groups = self.store.backend.query(
                "SELECT key, any(token) AS token, any(ids) AS ids, uniqExact(seq) AS n, "  # noqa: S608 - identifiers from this module, values bound
                f"any(parts) AS parts FROM {journal} GROUP BY key "
                "ORDER BY min(staged), key LIMIT {groups:UInt32}",
                {"groups": param_text(RECOVER_GROUPS)},
            )
            if not groups.num_rows:
                break
            for entry in groups.to_pylist():
                key, token = int(entry["key"]), str(entry["token"])
                ids = [str(i) for i in entry["ids"]]
                if entry["n"] != entry["parts"] or key != _journal_key(token):
                    # not what this writer journals: nothing of it was stored from here
                    log.error("flows.journal.invalid", key=key, token=token[:200])
                    self.counts["journal_invalid"] += 1
                    self._journal_drop(key)
                    continue
                parts = self.store.backend.query(
                    f"SELECT target, payload FROM {journal} "  # noqa: S608 - identifiers from this module, values bound
                    "WHERE key = {key:UInt64} ORDER BY seq LIMIT 1 BY seq "
                    # the payload as bytes (Arrow IPC), not as text
                    "SETTINGS output_format_arrow_string_as_string = 0",
                    {"key": param_text(key)},
                )
                inserts = []
                for raw, payload in zip(
                    parts.column("target").to_pylist(),
                    parts.column("payload").to_pylist(),
                    strict=True,
                ):
                    target = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
                    if target not in targets:
                        raise FlowStoreError(f"the flow journal names {str(target)[:100]!r}")
                    if target.endswith(f".{ENRICHED_TABLE}") and self.enriched is None:
                        self.enriched = EnrichedFlows(self.store)
                    inserts.append((target, _from_ipc(payload)))
                self._apply(token, inserts)
                self._note(ids)
                self._journal_drop(key)
                recovered += 1
                self.counts["recovered"] += 1
                log.warning("flows.journal.recovered", batches=len(ids), token=token[:200])
        self._unsettled = False
        return recovered


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
