"""A real MeshOptixIQ stack for the bench: embedded Kafka (Tansu), PostgreSQL, Redis and the
services as child processes, on loopback, torn down at the end (no process left behind).

The machine's PostgreSQL/Redis on 127.0.0.1 are used when reachable (a fresh database is
created and dropped); otherwise the project's embedded ones are started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from meshq_runtime.embedded import free_port

API_KEY = "bench-" + "k" * 30

PORT_ENV = {
    "meshq_licensing": "MESHQ_LICENSING_PORT",
    "meshq_graph_engine": "MESHQ_GRAPH_ENGINE_PORT",
    "meshq_query_gateway": "MESHQ_GATEWAY_PORT",
    "meshq_audit": "MESHQ_AUDIT_PORT",
    "meshq_soar_dispatcher": "MESHQ_SOAR_DISPATCHER_PORT",
}


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # keep polling until the deadline
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Service:
    """One service as a child process, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, module: str, env: dict[str, str], logs: Path) -> None:
        self.module = module
        self.port = free_port()
        self.env = {**os.environ, **env, PORT_ENV[module]: str(self.port)}
        self.env["MESHQ_LOG_FORMAT"] = "json"
        self.log_path = logs / f"{module}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_healthy(self, path: str = "/ready", timeout: float = 90.0) -> Service:
        def ok() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited {self.proc.returncode}")
            return httpx.get(self.url + path, timeout=2).status_code == 200

        try:
            wait_for(ok, timeout=timeout, what=f"{self.module} ready")
        except (TimeoutError, RuntimeError) as exc:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{exc}\n--- {self.module} log ---\n{tail}") from None
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


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
        self.services: list[Service] = []
        self._pg_server = ""
        self._db = f"meshq_bench_{uuid.uuid4().hex[:10]}"
        self.env: dict[str, str] = {}
        self.kinds: dict[str, str] = {}

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
        if _reachable(pg, 5432):
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
        if _reachable(redis_url, 6379):
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

    def spawn(self, module: str, **extra: str) -> Service:
        service = Service(module, {**self.env, **extra}, self.workdir / "logs")
        self.services.append(service)
        return service.start()

    def core(self) -> dict[str, Service]:
        """Licensing, graph engine, audit and the gateway, started and ready."""
        lic = self.spawn("meshq_licensing").wait_healthy()
        self.env["MESHQ_LICENSING_URL"] = lic.url
        graph = self.spawn("meshq_graph_engine").wait_healthy()
        audit = self.spawn("meshq_audit").wait_healthy()
        gateway = self.spawn("meshq_query_gateway", MESHQ_GRAPH_ENGINE_URL=graph.url)
        gateway.wait_healthy(path="/health")
        return {"licensing": lic, "graph": graph, "audit": audit, "gateway": gateway}

    def load_demo(self) -> None:
        from network_discovery.demo import load_snapshot
        from network_discovery.ingest import publish_snapshot

        asyncio.run(
            publish_snapshot(
                load_snapshot(), bootstrap=self.bootstrap, topic_prefix=self.prefix, wait=True
            )
        )

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
