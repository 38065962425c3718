"""A real MeshOptixIQ stack for the bench: embedded Kafka (Tansu), PostgreSQL, Redis and the
services as child processes, on loopback, torn down at the end (no process left behind).

The machine's PostgreSQL/Redis on 127.0.0.1 are used when reachable (a fresh database is
created and dropped); otherwise the project's embedded ones are started.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from meshq_runtime.embedded import free_port
from meshq_runtime.embedded.spawn import ServiceProc, reachable
from meshq_runtime.service_auth import generate_token

API_KEY = "bench-" + "k" * 30


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Stack:
    """Infrastructure plus any services started with :meth:`spawn`; a context manager."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="meshq-bench-stack-")
        self.workdir = Path(self._tmp.name)
        self._infra: list[Any] = []
        self.services: list[ServiceProc] = []
        self._pg_server = ""
        self._db = f"meshq_bench_{uuid.uuid4().hex[:10]}"
        self.env: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.graph_url = ""

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        from meshq_runtime.embedded import Tansu
        from meshq_runtime.kafka import ensure_topics
        from meshq_runtime.settings import KafkaSettings

        tansu = Tansu(log_dir=self.workdir)
        tansu.start()
        self._infra.append(tansu)
        self.kinds["kafka"] = "embedded Tansu"
        pg = os.environ.get(
            "MESHQ_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        if reachable(pg, 5432):
            self.kinds["postgres"] = "machine PostgreSQL"
        else:
            from meshq_runtime.embedded import EmbeddedPostgres

            epg = EmbeddedPostgres(data_dir=self.workdir / "postgres")
            epg.start()
            self._infra.append(epg)
            pg = epg.url
            self.kinds["postgres"] = "embedded PostgreSQL"
        asyncio.run(_admin(pg, f'CREATE DATABASE "{self._db}"'))
        self._pg_server = pg
        parts = urlsplit(pg)
        pg_url = urlunsplit((parts.scheme, parts.netloc, f"/{self._db}", parts.query, ""))
        redis_url = os.environ.get("MESHQ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        if reachable(redis_url, 6379):
            self.kinds["redis"] = "machine Redis"
        else:
            from meshq_runtime.embedded import EmbeddedRedis

            rd = EmbeddedRedis(data_dir=self.workdir / "redis")
            rd.start()
            self._infra.append(rd)
            redis_url = rd.url
            self.kinds["redis"] = "embedded Redis"
        tag = uuid.uuid4().hex[:8]
        self.env = {
            "MESHQ_KAFKA_BOOTSTRAP": tansu.bootstrap,
            "MESHQ_KAFKA_TOPIC_PREFIX": f"b{tag}.",
            "MESHQ_KAFKA_GROUP_PREFIX": f"b{tag}",
            "MESHQ_KAFKA_PARTITIONS": "2",
            "MESHQ_KAFKA_IDEMPOTENT": "false",
            "MESHQ_POSTGRES_URL": pg_url,
            "MESHQ_REDIS_URL": redis_url,
            "MESHQ_DATA_DIR": str(self.workdir / "data"),
            "MESHQ_LOG_LEVEL": "warning",
            "MESHOPTIXIQ_DEMO_MODE": "true",
            "API_KEY": API_KEY,
            # the internal APIs' credential (bench calls graph-engine directly too)
            "MESHQ_SERVICE_TOKEN": generate_token(),
        }
        # strings from the environment, which the settings model parses
        kafka_env: dict[str, Any] = {
            k: v for k, v in self.env.items() if k.startswith("MESHQ_KAFKA_")
        }
        kafka = KafkaSettings(**kafka_env)
        asyncio.run(ensure_topics(kafka))

    @property
    def bootstrap(self) -> str:
        return self.env["MESHQ_KAFKA_BOOTSTRAP"]

    @property
    def prefix(self) -> str:
        return self.env["MESHQ_KAFKA_TOPIC_PREFIX"]

    def spawn(self, module: str, **extra: str) -> ServiceProc:
        logs = self.workdir / "logs" / f"{module}.log"
        service = ServiceProc(module, free_port(), {**self.env, **extra}, logs)
        self.services.append(service)
        return service.start()

    def core(self) -> dict[str, ServiceProc]:
        """Licensing, graph engine, audit and the gateway, started and ready."""
        lic = self.spawn("meshq_licensing").wait_healthy(timeout=90)
        self.env["MESHQ_LICENSING_URL"] = lic.url
        graph = self.spawn("meshq_graph_engine").wait_healthy(timeout=90)
        self.graph_url = graph.url
        audit = self.spawn("meshq_audit").wait_healthy(timeout=90)
        gateway = self.spawn("meshq_query_gateway", MESHQ_GRAPH_ENGINE_URL=graph.url)
        gateway.wait_healthy(timeout=90, path="/health")
        return {"licensing": lic, "graph": graph, "audit": audit, "gateway": gateway}

    def load_demo(self) -> None:
        """The demo snapshot, submitted to the graph engine's intake and applied."""
        from meshq_runtime.service_auth import ServiceCredential, internal_client
        from meshq_runtime.snapshot_submit import submit_snapshot
        from network_discovery.demo import load_snapshot

        async def submit() -> None:
            credential = ServiceCredential(self.env["MESHQ_SERVICE_TOKEN"], caller="bench")
            async with internal_client(credential, base_url=self.graph_url) as graph:
                status = await submit_snapshot(graph, load_snapshot(), wait=60)
            if status.get("status") != "applied":
                raise RuntimeError(f"the demo snapshot was not applied: {status}")

        asyncio.run(submit())

    def close(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self._pg_server:
            try:
                drop = f'DROP DATABASE IF EXISTS "{self._db}" WITH (FORCE)'
                asyncio.run(_admin(self._pg_server, drop))
            except Exception as exc:  # the bench still reports; say what was left
                print(f"[bench] could not drop {self._db}: {exc}", file=sys.stderr)
            self._pg_server = ""
        for part in reversed(self._infra):
            (getattr(part, "purge", None) or part.stop)()
        self._infra.clear()
        self._tmp.cleanup()
