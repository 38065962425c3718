"""What a customer installs, alone: the model, client, MCP and customer wheels built from this
workspace into a fresh virtualenv, with nothing of the services (their third-party dependencies
come from the package index, or uv's cache). Its ``meshq`` ingests into, and queries, a real
gateway and graph-engine; its ``meshq-mcp`` answers an MCP client over stdio; ``meshq serve``
says in one line what it would need."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from network_discovery.demo import load_snapshot, snapshot_text
from support.front_door import ADMIN_KEY, start_gateway
from support.procs import ServiceProc

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "meshoptixiq-network-discovery"
#: Built from the workspace, in this order; the customer wheel is installed with [mcp].
DISTRIBUTIONS = (
    "meshoptixiq-model",
    "meshoptixiq-client",
    "meshoptixiq-mcp",
    "meshoptixiq-vuln",
    "meshoptixiq-k8s",
    CUSTOMER,
)
#: What a customer's install must not bring: the services and what they run on.
NOT_SHIPPED = (
    "meshq_runtime",
    "aiokafka",
    "faststream",
    "litestar",
    "asyncpg",
    "redis",
    "meshq_graph_engine",
)
#: Signs that uv could not reach the package index (then the test is retried from the cache).
_OFFLINE = (
    "error sending request",
    "dns error",
    "failed to fetch",
    "connection refused",
    "network is unreachable",
    "operation timed out",
)


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed: the customer wheels cannot be built")
    return found


def _uv_run(args: list[str], what: str, timeout: float = 120) -> None:
    """``uv ARGS``; once more with ``--offline`` (uv's cache only) when the index is out of
    reach, and a skip saying so when that fails too."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    uv = _uv()
    done = subprocess.run(
        [uv, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode == 0:
        return
    if not any(sign in done.stderr.lower() for sign in _OFFLINE):
        pytest.fail(f"{what} failed:\n{done.stderr[-3000:]}")
    offline = subprocess.run(
        [uv, *args, "--offline"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if offline.returncode != 0:
        last = (offline.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"{what} needs the package index, out of reach, or uv's cache: {last}")


@pytest.fixture(scope="module")
def customer_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding the customer's wheels and their dependencies, nothing else."""
    base = tmp_path_factory.mktemp("customer")
    wheels = base / "wheels"
    for name in DISTRIBUTIONS:
        _uv_run(
            ["build", "--package", name, "--wheel", "--out-dir", str(wheels)], f"building {name}"
        )
    built = {}
    for name in DISTRIBUTIONS:
        (wheel,) = wheels.glob(name.replace("-", "_") + "-*.whl")
        built[name] = wheel
    venv = base / "venv"
    _uv_run(["venv", "--quiet", "--python", sys.executable, str(venv)], "creating a virtualenv")
    requirements = [str(built[name]) for name in DISTRIBUTIONS if name != CUSTOMER]
    requirements.append(f"{CUSTOMER}[mcp] @ {built[CUSTOMER].as_uri()}")
    _uv_run(
        ["pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *requirements],
        "installing the customer wheels",
        timeout=300,
    )
    return venv


def _user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's shell: no variable of the stack, nothing of this workspace on the path."""
    drop = ("MESHQ_", "MESHOPTIXIQ", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(MESHQ_DATA_DIR=str(tmp_path / "nowhere"), MESHQ_NO_LICENSE_WARNING="1", **extra)
    return env


def _run(venv: Path, command: str, *args: str, env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [str(venv / "bin" / command), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_install_holds_the_customer_side_only(customer_venv: Path, tmp_path: Path) -> None:
    env = _user_env(tmp_path)
    probe = (
        "import importlib.util as u, sys; "
        "print(' '.join(m for m in sys.argv[1:] if u.find_spec(m) is not None))"
    )
    found = _run(customer_venv, "python", "-c", probe, *NOT_SHIPPED, env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [], f"the customer install ships {found.stdout}"
    # the documented import paths, across the four distributions of one namespace package
    imports = (
        "from network_discovery.licensing import verifier; "
        "from network_discovery.licensing.gates import check_feature, FeatureNotAvailableError; "
        "from network_discovery.client import MeshqClient; "
        "import network_discovery.mcp.server, network_discovery.parsers; "
        "import network_discovery.discovery, network_discovery.integrations.netbox.sync"
    )
    imported = _run(customer_venv, "python", "-c", imports, env=env)
    assert imported.returncode == 0, imported.stderr

    helped = _run(customer_venv, "meshq", "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert "ingest" in helped.stdout and "query" in helped.stdout
    for script in ("meshq-mcp", "meshq-ansible-inventory"):
        done = _run(customer_venv, script, "--help", env=env)
        assert done.returncode == 0, done.stderr
    module = _run(customer_venv, "python", "-m", "network_discovery.mcp.server", "--help", env=env)
    assert module.returncode == 0 and "meshq-mcp" in module.stdout, module.stderr

    serve = _run(customer_venv, "meshq", "serve", env=env)
    assert serve.returncode == 1
    (line,) = serve.stderr.splitlines()
    assert "meshq-embedded" in line and "make setup" in line, line


def test_ingest_query_and_mcp_against_a_real_stack(
    customer_venv: Path,
    service_env: dict[str, str],
    graph_engine: ServiceProc,
    spawn: Callable[..., ServiceProc],
    tmp_path: Path,
) -> None:
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph_engine.url)
    env = _user_env(tmp_path, MESHOPTIXIQ_API_URL=gateway.url, MESHOPTIXIQ_API_KEY=ADMIN_KEY)
    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())

    ingest = _run(
        customer_venv,
        "meshq",
        "ingest",
        str(path),
        "--wait",
        "--timeout",
        "90",
        env=env,
        timeout=150,
    )
    assert ingest.returncode == 0, ingest.stderr + graph_engine.tail()
    assert "added:" in ingest.stdout and "devices" in ingest.stdout

    query = _run(customer_venv, "meshq", "query", "all_devices", "--format", "json", env=env)
    assert query.returncode == 0, query.stderr
    rows = json.loads(query.stdout)
    hostnames = {row.get("hostname") for row in rows}
    assert {d.hostname for d in load_snapshot().devices} <= hostnames

    async def mcp_tools() -> set[str]:
        server = StdioServerParameters(
            command=str(customer_venv / "bin" / "meshq-mcp"),
            env={k: v for k, v in env.items() if k.startswith(("MESHOPTIXIQ_", "PATH", "HOME"))},
        )
        async with (
            stdio_client(server) as (read, write),
            ClientSession(read, write) as session,
        ):
            initialized = await session.initialize()
            assert initialized.serverInfo.name
            return {tool.name for tool in (await session.list_tools()).tools}

    tools = asyncio.run(asyncio.wait_for(mcp_tools(), timeout=60))
    assert "all_devices" in tools
