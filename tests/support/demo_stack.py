"""The demo network in a real graph engine behind a real gateway (child processes)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.demo import load_snapshot

from support.procs import ServiceProc, free_port, new_service_token
from support.submit import submit

__all__ = ["DemoStack", "demo_stack", "keyed_demo_stack", "load_demo"]


@dataclass
class DemoStack:
    env: dict[str, str]
    graph: ServiceProc
    gateway: ServiceProc


async def load_demo(env: dict[str, str], graph_url: str | None = None) -> None:
    """Submit the demo snapshot to the graph engine at ``graph_url`` (else the one
    ``MESHQ_GRAPH_ENGINE_URL`` names) and wait until it is applied."""
    url = graph_url or env["MESHQ_GRAPH_ENGINE_URL"]
    status = await submit(url, env, load_snapshot())
    assert status["status"] == "applied", status


def _proc(module: str, port_env: str, env: dict[str, str], logs: Path) -> ServiceProc:
    port = free_port()
    return ServiceProc(
        module=module, port=port, env={**env, port_env: str(port)}, log_path=logs / f"{module}.log"
    ).start()


@contextmanager
def demo_stack(stack: Any, tmp: Path, **extra: str) -> Iterator[DemoStack]:
    """Graph engine with the demo network applied, and a gateway in front of it; ``extra``
    environment on top (API_KEY, demo mode, key files)."""
    tag = uuid.uuid4().hex[:8]
    env = {
        "MESHQ_KAFKA_TOPIC_PREFIX": f"t{tag}.",
        "MESHQ_KAFKA_GROUP_PREFIX": f"g{tag}",
        "MESHQ_KAFKA_PARTITIONS": "2",
        "MESHQ_KAFKA_IDEMPOTENT": "false",
        "MESHQ_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "MESHQ_POSTGRES_URL": stack.postgres_url,
        "MESHQ_REDIS_URL": stack.redis_url,
        "MESHQ_DATA_DIR": str(tmp / "data"),
        "MESHQ_LOG_LEVEL": "info",
        **new_service_token(),
        **extra,
    }
    kafka = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    asyncio.run(ensure_topics(kafka))
    procs: list[ServiceProc] = []
    try:
        graph = _proc("meshq_graph_engine", "MESHQ_GRAPH_ENGINE_PORT", env, tmp)
        procs.append(graph)
        graph.wait_healthy()
        asyncio.run(load_demo(env, graph.url))
        gw_env = {**env, "MESHQ_GRAPH_ENGINE_URL": graph.url}
        gateway = _proc("meshq_query_gateway", "MESHQ_GATEWAY_PORT", gw_env, tmp)
        procs.append(gateway)
        gateway.wait_healthy()
        yield DemoStack(env, graph, gateway)
    finally:
        for proc in reversed(procs):
            proc.stop()


@contextmanager
def keyed_demo_stack(stack: Any, tmp: Path, **extra: str) -> Iterator[tuple[str, DemoStack]]:
    """``demo_stack`` in demo mode, with no licensing server to reach, a fresh API key and a
    key file under ``tmp`` (``extra`` environment on top): (that key, the stack)."""
    key = secrets.token_urlsafe(24)
    with demo_stack(
        stack,
        tmp,
        MESHQ_LICENSING_URL="http://127.0.0.1:9",
        MESHOPTIXIQ_DEMO_MODE="true",
        API_KEY=key,
        MESHQ_API_KEYS_FILE=str(tmp / "api_keys.json"),
        **extra,
    ) as running:
        yield key, running
