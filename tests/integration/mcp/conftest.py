"""A real graph-engine and query-gateway on the demo network, shared by the MCP tests."""

from __future__ import annotations

import asyncio
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.cli.apikey import apikey
from network_discovery.contracts.events import TopologyChanged
from network_discovery.demo import load_snapshot
from network_discovery.ingest import publish_snapshot
from support.procs import ServiceProc, free_port

pytestmark = pytest.mark.integration


#: RBAC for the named key ``viewer``: it sees every query but may only run the topology ones.
POLICY = """
roles:
  seer: {resources: ["*"], verbs: [list]}
  topo: {resources: ["topology_*", "device_neighbors"], verbs: [list, execute]}
groups:
  Viewers: [seer, topo]
"""


@dataclass
class DemoApi:
    url: str
    api_key: str
    env: dict[str, str]
    gateway: ServiceProc
    graph_url: str
    viewer_key: str


def _named_key(keys_file: Path, name: str, group: str) -> str:
    result = CliRunner().invoke(
        apikey, ["create", name, "--file", str(keys_file), "--group", group]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def _proc(module: str, port_env: str, env: dict[str, str], logs: Path) -> ServiceProc:
    port = free_port()
    return ServiceProc(
        module=module, port=port, env={**env, port_env: str(port)}, log_path=logs / f"{module}.log"
    ).start()


@pytest.fixture(scope="package")
def demo_api(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApi]:
    tmp = tmp_path_factory.mktemp("mcp-demo")
    tag = uuid.uuid4().hex[:8]
    key = secrets.token_urlsafe(24)
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
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "API_KEY": key,
        "MESHQ_API_KEYS_FILE": str(tmp / "api_keys.json"),
        "RBAC_POLICY_FILE": str(tmp / "rbac.yaml"),
    }
    (tmp / "rbac.yaml").write_text(POLICY)
    viewer = _named_key(tmp / "api_keys.json", "viewer", "Viewers")
    kafka = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    asyncio.run(ensure_topics(kafka))
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
        yield DemoApi(
            url=gateway.url,
            api_key=key,
            env=env,
            gateway=gateway,
            graph_url=graph.url,
            viewer_key=viewer,
        )
    finally:
        for proc in reversed(procs):
            proc.stop()


def stdio_params(url: str, key: str, **extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "network_discovery.mcp.server"],
        env={"MESHOPTIXIQ_API_URL": url, "MESHOPTIXIQ_API_KEY": key, **extra},
    )


@asynccontextmanager
async def stdio_session(url: str, key: str, **extra: str) -> AsyncIterator[ClientSession]:
    async with (
        stdio_client(stdio_params(url, key, **extra)) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture
def open_stdio():
    """``open_stdio(url, key, **env)``: an initialised client session over stdio."""
    return stdio_session
