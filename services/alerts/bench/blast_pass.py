"""What the blast-radius rules cost: the figures of every managed device (the first round, and
every MESHQ_ALERTS_BLAST_FULL_INTERVAL), then a round after a change (1 % of the access
switches re-collected), on the synthetic campus of ``bench/synth.py``.

The figures after the change are then compared with a full pass (``differ_from_full``: the
devices whose figures the change round left stale). graph-engine's query routes run in this
process (LadybugDB, a query-only reader, the ASGI app called without a network hop), so the
figures leave out the network and a second process; the alert store is a fresh PostgreSQL
database (dropped after).

    .venv/bin/python services/alerts/bench/blast_pass.py --devices 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))


async def _run(devices: int, concurrency: int, server_url: str) -> dict[str, Any]:
    import asyncpg
    import httpx
    from litestar.testing import AsyncTestClient
    from meshq_alerts.evaluator import GraphQueries
    from meshq_alerts.sources import BlastFigures
    from meshq_alerts.store import MIGRATIONS, AlertStore, init_connection
    from meshq_graph_engine.controllers import ROUTES
    from meshq_graph_engine.deps import GraphDeps, ReaderDeps
    from meshq_graph_engine.engine import GraphEngine
    from meshq_graph_engine.reader import GraphReader
    from meshq_runtime.graph.store import EmbeddedStore
    from meshq_runtime.http import ServiceState, build_app
    from meshq_runtime.postgres import apply_schema, create_pool
    from meshq_runtime.settings import PostgresSettings

    from bench.synth import generate, incremental_change

    out: dict[str, Any] = {"devices": devices, "concurrency": concurrency}
    net = generate(devices)
    name = f"meshq_bench_alerts_{uuid.uuid4().hex[:8]}"  # generated here, never user input
    server = await asyncpg.connect(server_url)
    await server.execute(f'CREATE DATABASE "{name}"')
    await server.close()
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        with tempfile.TemporaryDirectory(prefix="meshq-bench-alerts-") as tmp:
            graph = EmbeddedStore(Path(tmp) / "graph")
            engine = GraphEngine(graph)
            await engine.start()
            t0 = time.perf_counter()
            await engine.apply_snapshot(net.snapshot)
            out["ingest_s"] = round(time.perf_counter() - t0, 1)
            reader = GraphReader(graph)
            await reader.refresh()
            state: ServiceState[GraphDeps] = ServiceState(service="graph-engine")
            writer = httpx.AsyncClient(base_url="http://writer.invalid")
            state.deps = ReaderDeps(store=graph, engine=reader, writer=writer, metrics=None)
            app = build_app(service="graph-engine", route_handlers=ROUTES, state=state)
            settings = PostgresSettings.model_validate({"postgres_url": url})
            pool = await create_pool(settings, init=init_connection)
            try:
                await apply_schema(pool, (("alerts", MIGRATIONS),))
                store = AlertStore(pool)
                async with AsyncTestClient(app=app, timeout=600) as client:
                    blast = BlastFigures(store, GraphQueries(client), concurrency=concurrency)
                    from datetime import UTC, datetime

                    full = await blast.refresh(3, datetime.now(UTC))
                    out["full"] = full
                    print(f"full pass: {full}", file=sys.stderr)
                    change = incremental_change(net, 0.01, seed=11)
                    await engine.apply_snapshot(change)
                    await reader.refresh()
                    blast.note_change([s.device for s in change.scope])
                    after = await blast.refresh(3, datetime.now(UTC))
                    out["after_change"] = {**after, "changed_devices": len(change.scope)}
                    print(f"after a change: {out['after_change']}", file=sys.stderr)
                    rows = await store.blast_rows(3)
                    out["max_isolated_endpoints"] = max(r["isolated_endpoints"] for r in rows)
                    # the same figures asked of every device again: what the change round missed
                    blast.full_every_s = 0.0
                    await blast.refresh(3, datetime.now(UTC))
                    fresh = {r["device"]: r for r in await store.blast_rows(3)}
                    held = {r["device"]: r for r in rows}
                    out["after_change"]["differ_from_full"] = sorted(
                        d for d in fresh.keys() | held.keys() if fresh.get(d) != held.get(d)
                    )[:20]
            finally:
                await pool.close()
                await writer.aclose()
                await graph.close()
    finally:
        server = await asyncpg.connect(server_url)
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", help="server URL"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_run(args.devices, args.concurrency, args.postgres)), indent=2))


if __name__ == "__main__":
    main()
