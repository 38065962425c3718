"""A graph-engine writer process and a query-only reader, over the real broker.

The reader must see every ``topology.changed`` (a consumer group of its own), re-read the
revision the writer stores, and then answer exactly what the writer answers.

Where the reader runs: with ``MEMGRAPH_URI`` set (a scratch Memgraph, emptied here), both are
real processes sharing it, as in production. No Memgraph runs on the build machines, so there
the writer process keeps its embedded LadybugDB and the reader's code runs in this process,
reading the writer's files read-only (reopened for each statement, since a read-only open sees
the files as they were when opened). The product refuses that mode for real readers; it stands
in for the shared store only so that the reader's refresh and query path meet a real writer.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.controllers import ROUTES
from meshq_graph_engine.deps import ReaderDeps
from meshq_graph_engine.reader import GraphReader, follow_topology
from meshq_runtime.graph.store import EmbeddedStore, MemgraphStore
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.service import open_kafka
from meshq_runtime.settings import KafkaSettings
from network_discovery.demo import load_snapshot
from network_discovery.model import Snapshot
from support.procs import internal_headers
from support.submit import submit

pytestmark = pytest.mark.integration

GONE = "hq-a-acc-02"  # the second snapshot takes this switch's facts away
TARGETS = ("hq-core-01", GONE)


class WriterFiles:
    """The writer's LadybugDB files, opened read-only afresh for every statement."""

    dialect = "ladybug"

    def __init__(self, path: Path) -> None:
        self.path = path

    async def execute(self, cypher: str, params: dict[str, Any] | None = None) -> list[Any]:
        store = EmbeddedStore(self.path, read_only=True)
        try:
            return await store.execute(cypher, params)
        finally:
            await store.close()

    async def ping(self) -> None:
        await self.execute("RETURN 1 AS ok")

    async def close(self) -> None:
        return None


def _second_snapshot() -> Snapshot:
    demo = load_snapshot()
    kinds = next(s.facts for s in demo.scope if s.device == GONE)
    device = next(d for d in demo.devices if d.id == GONE)
    # The switch is still there, but reports no interfaces, neighbours or tables any more.
    return Snapshot.model_validate(
        {
            "snapshot_id": "reader-2",
            "source": "test",
            "collected_at": demo.collected_at.isoformat(),
            "scope": [{"device": GONE, "facts": [str(k) for k in kinds]}],
            "devices": [device.model_dump(mode="json")],
        }
    )


async def _publish(graph_url: str, env: dict[str, str], snapshot: Snapshot) -> dict[str, Any]:
    status = await submit(graph_url, env, snapshot)
    assert status["status"] == "applied", status
    return dict(status["result"])


async def _answers(url: str, env: dict[str, str]) -> dict[str, Any]:
    headers = internal_headers(env)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        out = {}
        for device in TARGETS:
            r = await client.post("/internal/queries/blast_radius_device", json={"device": device})
            r.raise_for_status()
            out[device] = r.json()["rows"]
        return out


async def _until(check: Any, what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.2)


async def test_reader_follows_a_writer_process_on_its_files(
    service_env: dict[str, str], spawn: Any, tmp_path: Path
) -> None:
    path = tmp_path / "graph" / "meshq.lbug"
    env = {**service_env, "MESHQ_GRAPH_PATH": str(path)}
    writer = spawn("meshq_graph_engine", env, name="writer")
    writer.wait_healthy()

    reader = GraphReader(WriterFiles(path))  # type: ignore[arg-type]
    assert await reader.refresh() and reader.graph_revision == 0
    settings = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    kafka = open_kafka(settings, service="graph-engine")
    group = follow_topology(kafka.consumer, reader, "graph-engine")
    assert group != f"{settings.kafka_group_prefix}.graph-engine"
    await kafka.start()
    try:
        # "latest": wait for the partitions before anything is published.
        async def assigned() -> bool:
            return all(s.consumer and s.consumer.assignment() for s in kafka.broker.subscribers)

        await _until(assigned, "reader's partitions")

        async def answers() -> dict[str, Any]:
            ctx = QueryContext(reader.store, reader)
            out = {}
            for device in TARGETS:
                result = await run_query(REGISTRY, "blast_radius_device", {"device": device}, ctx)
                out[device] = json.loads(json.dumps(result.rows, default=str))
            return out

        changed = await _publish(writer.url, env, load_snapshot())
        assert not changed["empty"]

        async def at(revision: int) -> bool:
            return reader.graph_revision == revision

        # Only the event moves it here: the periodic refresh does not run in this test.
        await _until(lambda: at(1), "reader at revision 1")
        first = await answers()
        assert first == await _answers(writer.url, env)
        assert first[GONE], "the access switch has a blast radius while collected"

        await _publish(writer.url, env, _second_snapshot())
        await _until(lambda: at(2), "reader at revision 2")
        second = await answers()
        assert second == await _answers(writer.url, env)
        assert second != first

        await _forwarded_to_the_writer(reader, writer.url, load_snapshot().snapshot_id, env)
    finally:
        await kafka.broker.stop()


async def _forwarded_to_the_writer(
    reader: GraphReader, writer_url: str, first: str, env: dict[str, str]
) -> None:
    """The reader's HTTP API (its routes and state as the reader role builds them): writes
    and archived snapshot diffs are answered by the writer process (which wants the
    installation's credential, as the reader role's client sends it)."""
    headers = internal_headers(env, "graph-engine")
    async with httpx.AsyncClient(base_url=writer_url, headers=headers, timeout=60) as to_writer:
        state: ServiceState[ReaderDeps] = ServiceState(
            service="graph-engine",
            probes=[("graph-revision", reader.ready_probe)],
            deps=ReaderDeps(store=reader.store, engine=reader, writer=to_writer),
        )
        app = build_app(service="graph-engine", route_handlers=ROUTES, state=state)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reader") as client:
            assert (await client.get("/ready")).status_code == 200
            r = await client.post(
                "/internal/queries/update_device_metadata",
                json={"device": "hq-core-01", "criticality": "critical", "tags": ["reader"]},
            )
            assert r.status_code == 200, r.text
            assert r.json()["rows"][0]["tags"] == ["reader"]
            # a patch is announced on topology.changed like a snapshot; the re-read here
            # does not wait for the event
            await reader.refresh()
            assert reader.graph_revision == 3
            rows = await client.post("/internal/queries/all_devices", json={})
            assert rows.status_code == 200
            core = next(d for d in rows.json()["rows"] if d["hostname"] == "hq-core-01")
            assert core["criticality"] == "critical"  # read by the reader, from the store

            unknown = await client.post(
                "/internal/queries/update_device_metadata",
                json={"device": "no-such-device", "role": "core"},
            )
            assert unknown.status_code == 404
            assert unknown.headers["content-type"].startswith("application/problem+json")

            path = f"/internal/snapshots/{first}/diff/reader-2"
            diff = await client.get(path)
            assert diff.status_code == 200
            assert diff.json() == (await to_writer.get(path)).json()
            assert diff.json()["kinds"]["interfaces"]["removed"]


@pytest.mark.skipif(
    not os.environ.get("MEMGRAPH_URI"),
    reason="MEMGRAPH_URI is not set: no Memgraph runs on the build machines; set it to a "
    "scratch Memgraph (emptied by this test) to run writer and reader processes on it",
)
async def test_reader_process_on_memgraph(service_env: dict[str, str], spawn: Any) -> None:
    uri = os.environ["MEMGRAPH_URI"]
    scratch = MemgraphStore(uri, os.environ.get("MEMGRAPH_USER", ""))
    await scratch.execute("MATCH (n) DETACH DELETE n")
    await scratch.close()
    env = {**service_env, "MEMGRAPH_URI": uri}
    writer = spawn("meshq_graph_engine", env, name="writer")
    writer.wait_healthy()
    reader = spawn(
        "meshq_graph_engine",
        {
            **env,
            "MESHQ_GRAPH_ENGINE_ROLE": "reader",
            "MESHQ_GRAPH_ENGINE_WRITER_URL": writer.url,
            "MESHQ_GRAPH_ENGINE_REFRESH_INTERVAL": "300",
        },
        name="reader",
    )
    reader.wait_healthy()
    await asyncio.sleep(5)  # the reader's group joins at the end of the topic
    await _publish(writer.url, env, load_snapshot())
    first = await _answers(writer.url, env)

    async def same() -> bool:
        return await _answers(reader.url, env) == first

    await _until(same, "reader answers as the writer")
    # A write sent to the reader is applied by the writer.
    headers = internal_headers(env)
    async with httpx.AsyncClient(base_url=reader.url, headers=headers, timeout=60) as client:
        r = await client.post(
            "/internal/queries/update_device_metadata", json={"device": GONE, "role": "access"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["rows"][0]["role"] == "access"
