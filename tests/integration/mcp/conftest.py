"""A real graph-engine and query-gateway on the demo network, shared by the MCP tests."""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from network_discovery.cli.apikey import apikey
from support.demo_stack import demo_stack
from support.procs import ServiceProc

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


@pytest.fixture(scope="package")
def demo_api(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApi]:
    tmp = tmp_path_factory.mktemp("mcp-demo")
    key = secrets.token_urlsafe(24)
    (tmp / "rbac.yaml").write_text(POLICY)
    viewer = _named_key(tmp / "api_keys.json", "viewer", "Viewers")
    with demo_stack(
        stack,
        tmp,
        MESHOPTIXIQ_DEMO_MODE="true",
        API_KEY=key,
        MESHQ_API_KEYS_FILE=str(tmp / "api_keys.json"),
        RBAC_POLICY_FILE=str(tmp / "rbac.yaml"),
        # the embedded flow store, so that the Flows tools answer (empty) like the others
        MESHQ_FLOWS_PATH=str(tmp / "flows"),
    ) as running:
        yield DemoApi(
            url=running.gateway.url,
            api_key=key,
            env=running.env,
            gateway=running.gateway,
            graph_url=running.graph.url,
            viewer_key=viewer,
        )


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
