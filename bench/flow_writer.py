"""The flow intake's insert rate: bus batches of 5,000 decoder-shaped flows stored one insert
per batch (the store's and the enriched rollup's inserts, batch by batch) against
:class:`~meshq_graph_engine.flow_intake.FlowWriter` storing several batches per insert.

``python -m bench.flow_writer [--flows N]`` prints flows/s of each on one embedded store.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from meshq_graph_engine.flow_enrich import FlowEnricher
from meshq_graph_engine.flow_enriched import EnrichedFlows
from meshq_graph_engine.flow_intake import MAX_ROWS, FlowWriter
from network_discovery.flows.batch import FlowBatch
from network_discovery.flows.store import FlowStore

from bench.flows import BATCH_ROWS, _chunk, _directory


def run(flows: int = 200_000, batch_rows: int = BATCH_ROWS) -> dict[str, Any]:
    rng = np.random.default_rng(25)
    n = max(1, flows // batch_rows)
    tables = [_chunk(rng, batch_rows) for _ in range(n)]
    blank = [FlowEnricher.blank(t) for t in tables]
    now = time.time()
    out: dict[str, Any] = {"batch_rows": batch_rows, "flows": n * batch_rows}
    stamp = int(now)
    # one insert per bus batch (each table gets a part per batch)
    store = FlowStore.embedded(_directory(), f"bench_w1_{stamp}")
    enriched = EnrichedFlows(store)
    t0 = time.perf_counter()
    for i, (t, e) in enumerate(zip(tables, blank, strict=True)):
        store.insert(t, now - 60 * (i % 60), f"one-{i}")
        enriched.insert(e, now - 60 * (i % 60), f"one-{i}")
    out["one_insert_per_batch_flows_per_s"] = round(n * batch_rows / (time.perf_counter() - t0))
    store.backend.execute(f"DROP DATABASE IF EXISTS {store.database} SYNC")
    # the writer: what one fetch of the bus brings (64 records at most) per write
    store = FlowStore.embedded(_directory(), f"bench_wn_{stamp}")
    writer = FlowWriter(store, max_rows=MAX_ROWS)
    batches = [
        FlowBatch("192.0.2.1", f"many-{i}", now - 60 * (i % 60), t) for i, t in enumerate(tables)
    ]
    t0 = time.perf_counter()
    for start in range(0, n, 64):
        writer.write(batches[start : start + 64], blank[start : start + 64])
    out["combined_flows_per_s"] = round(n * batch_rows / (time.perf_counter() - t0))
    out["combined_inserts"] = writer.counts["inserts"]
    store.backend.execute(f"DROP DATABASE IF EXISTS {store.database} SYNC")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=200_000)
    args = parser.parse_args()
    print(json.dumps(run(args.flows), indent=2))


if __name__ == "__main__":
    main()
