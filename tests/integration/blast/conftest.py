"""A real graph engine and gateway on the demo network for the CI-gate examples.

Every test takes its own named key: the chaos-simulate limit (5 a minute) is per identity and
kept in the shared Redis, so no two tests (or runs) share a budget.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.cli.apikey import apikey
from network_discovery.contracts.events import TopologyChanged
from network_discovery.demo import load_snapshot
from network_discovery.ingest import publish_snapshot
from support.procs import ServiceProc, free_port

pytestmark = pytest.mark.integration


@dataclass
class Gate:
    url: str
    keys_file: Path

    def key(self) -> str:
        """A fresh named key (group Network-Ops)."""
        name = f"ci-{uuid.uuid4().hex[:10]}"
        result = CliRunner().invoke(
            apikey, ["create", name, "--file", str(self.keys_file), "--group", "Network-Ops"]
        )
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()[0]


def _proc(module: str, port_env: str, env: dict[str, str], logs: Path) -> ServiceProc:
    port = free_port()
    return ServiceProc(
        module=module, port=port, env={**env, port_env: str(port)}, log_path=logs / f"{module}.log"
    ).start()


@pytest.fixture(scope="package")
def gate(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    tmp = tmp_path_factory.mktemp("blast-gate")
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
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "API_KEY": secrets.token_urlsafe(24),
        "MESHQ_API_KEYS_FILE": str(tmp / "api_keys.json"),
    }
    asyncio.run(
        ensure_topics(
            KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA")})
        )
    )
    procs: list[ServiceProc] = []
    try:
        graph = _proc("meshq_graph_engine", "MESHQ_GRAPH_ENGINE_PORT", env, tmp)
        procs.append(graph)
        graph.wait_healthy()
        published = asyncio.run(
            publish_snapshot(
                load_snapshot(),
                bootstrap=stack.kafka_bootstrap,
                topic_prefix=env["MESHQ_KAFKA_TOPIC_PREFIX"],
                wait=True,
                timeout=90,
            )
        )
        assert isinstance(published.result, TopologyChanged), graph.tail()
        gw_env = {**env, "MESHQ_GRAPH_ENGINE_URL": graph.url}
        gateway = _proc("meshq_query_gateway", "MESHQ_GATEWAY_PORT", gw_env, tmp)
        procs.append(gateway)
        gateway.wait_healthy()
        yield Gate(url=gateway.url, keys_file=tmp / "api_keys.json")
    finally:
        for proc in reversed(procs):
            proc.stop()
