"""Gateway processes against a real graph engine, broker and Redis, with license states
published on the license topic the way the agent does it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_support import ADMIN_KEY
from support.procs import ServiceProc


@pytest.fixture
def graph_engine(service_env: dict[str, str], spawn: Callable[..., ServiceProc]) -> ServiceProc:
    env = {**service_env, "MESHQ_LICENSING_URL": "http://127.0.0.1:9"}
    return spawn("meshq_graph_engine", env).wait_healthy()


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    return tmp_path / "api_keys.json"


@pytest.fixture
def gateway_env(
    service_env: dict[str, str], graph_engine: ServiceProc, keys_file: Path
) -> dict[str, str]:
    return {
        **service_env,
        "API_KEY": ADMIN_KEY,
        "MESHQ_GRAPH_ENGINE_URL": graph_engine.url,
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",  # no agent: Community until an event
        "MESHQ_API_KEYS_FILE": str(keys_file),
        "MESHOPTIXIQ_DEMO_MODE": "false",
    }
