"""A flow intake writer in a process of its own, for the tests that kill it mid-write.

``python -m support.flow_writer_proc PATH DATABASE STOP DELIVERY...`` opens the embedded flow
store at ``PATH`` (database ``DATABASE``) and hands a :class:`FlowWriter` each ``DELIVERY``
(comma-separated batch numbers, made by :func:`make_batch`) as the intake would: one
``write`` call per delivery, every batch of a delivery in one combined insert. ``STOP`` names
the step before which the process stops and waits to be killed (``-``: none): the insert into
a table (``flow_journal``, ``flows``, ``flow_if_counters``, ``flow_interface_names``,
``flows_enriched_1m``, ``flow_batches``) or ``drop`` (the journal entry's removal). It prints
``STOPPED <step>`` there; otherwise, after the last delivery, one JSON line of
:func:`totals`.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pyarrow as pa
from meshq_graph_engine.flow_enrich import FlowEnricher
from meshq_graph_engine.flow_enriched import HOURLY, TABLE
from meshq_graph_engine.flow_intake import JOURNAL, LEDGER, FlowWriter
from network_discovery.flows.batch import FlowBatch
from network_discovery.flows.decode import DomainOptions
from network_discovery.flows.sflow import COUNTER_SCHEMA, counters_table
from network_discovery.flows.store import FlowStore

from support.flow_store import records

EXPORTER = "192.0.2.7"
#: Every batch's time: a fixed minute of the last hour (the same in every process).
RECEIVED = (int(time.time()) // 3600 * 3600) - 1800.0
ROWS = 10


def make_batch(n: int) -> FlowBatch:
    """Batch ``n``: ``ROWS`` flows (every third sampled 1 in 4), an sFlow counter sample, and
    for batch 0 an options record naming an interface."""
    rows: list[dict[str, object]] = [
        {
            "exporter": EXPORTER,
            "version": 10,
            "proto": 6,
            "src_addr": f"10.1.{n}.{k + 1}",
            "dst_addr": f"10.2.0.{k % 3 + 1}",
            "src_port": 40000 + k,
            "dst_port": 443,
            "bytes": 1000 * (n + 1) + k,
            "packets": n + k + 1,
            "input_if": 1 + k % 2,
            "output_if": 3,
            "sampling_rate": 4 if k % 3 == 0 else 0,
        }
        for k in range(ROWS)
    ]
    sample = {name: 0 for name in COUNTER_SCHEMA.names[2:]}
    sample.update(if_index=1, if_speed=10**9, in_octets=10_000 * (n + 1))
    options = (DomainOptions(EXPORTER, 10, 0, interface_names={3: "Et3"}),) if n == 0 else ()
    return FlowBatch(
        EXPORTER,
        f"proc-batch-{n}",
        RECEIVED + n,
        records(rows),
        counters=counters_table(EXPORTER, 0, [sample]),
        options=options,
    )


def totals(store: FlowStore) -> dict[str, Any]:
    """What the store holds, table by table: rows and scaled bytes of the raw table, bytes and
    records of the rollups and the enriched tables, counter samples, ledger and journal."""
    db = store.database

    def one(sql: str) -> list[Any]:
        row = store.backend.query(sql).to_pylist()[0]
        return [int(v or 0) for v in row.values()]

    scaled = "sum(bytes * greatest(sampling_rate, 1)) AS b"
    sums = "sum(bytes) AS b, sum(flows) AS f"
    return {
        "flows": one(f"SELECT count() AS n, {scaled} FROM {db}.flows"),
        **{
            name: one(f"SELECT {sums} FROM {db}.{name}")
            for name in ("flows_1m", "flows_1h", "flows_src_1m", "flows_app_1h", "flows_if_1m")
        },
        "enriched_1m": one(f"SELECT {sums} FROM {db}.{TABLE}"),
        "enriched_1h": one(f"SELECT {sums} FROM {db}.{HOURLY}"),
        "counters": one(f"SELECT count() AS n, sum(in_octets) AS o FROM {db}.flow_if_counters"),
        "names": one(f"SELECT count() AS n FROM {db}.flow_interface_names FINAL"),
        "ledger": one(f"SELECT uniqExact(batch) AS n FROM {db}.{LEDGER}"),
        "journal": one(f"SELECT count() AS n FROM {db}.{JOURNAL}"),
    }


def _stop_before(store: FlowStore, stop: str) -> None:
    """Make the store's engine stop this process (waiting to be killed) before ``stop``."""
    backend = store.backend
    insert, execute = backend.insert, backend.execute

    def halt() -> None:
        print(f"STOPPED {stop}", flush=True)
        time.sleep(3600)

    def stopping_insert(table: str, data: pa.Table, settings: str, params: Any) -> None:
        if table.rsplit(".", 1)[-1] == stop:
            halt()
        insert(table, data, settings, params)

    def stopping_execute(sql: str, params: Any = None) -> None:
        if stop == "drop" and "DROP PARTITION" in sql:
            halt()
        execute(sql, params)

    backend.insert = stopping_insert  # type: ignore[method-assign]
    backend.execute = stopping_execute  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    path, database, stop, *deliveries = argv
    store = FlowStore.embedded(path, database)
    writer = FlowWriter(store)
    if stop != "-":
        _stop_before(store, stop)
    for delivery in deliveries:
        batches = [make_batch(int(n)) for n in delivery.split(",")]
        writer.write(batches, [FlowEnricher.blank(b.records) for b in batches])
    print(json.dumps({"totals": totals(store), "counts": dict(writer.counts)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
