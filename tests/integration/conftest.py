"""Fixtures for tests that run real service processes against the shared stack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from support.license import signing_public_pem
from support.procs import PORT_ENV, ServiceProc, free_port, new_service_token

pytestmark = pytest.mark.integration


@pytest.fixture
def service_env(stack, isolation: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = {
        **isolation,
        "MESHQ_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "MESHQ_POSTGRES_URL": stack.postgres_url,
        "MESHQ_REDIS_URL": stack.redis_url,
        "MESHQ_DATA_DIR": str(tmp_path / "data"),
        "MESHQ_LOG_LEVEL": "info",
        **new_service_token(),  # internal APIs answer only callers that carry it
        # services follow only license states signed by this key (support.license signs)
        "MESHOPTIXIQ_LICENSE_PUBLIC_KEY": signing_public_pem(),
    }
    settings = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    asyncio.run(ensure_topics(settings))
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ServiceProc]]:
    """Start service processes; every one is stopped at the end of the test."""
    procs: list[ServiceProc] = []

    def start(module: str, env: dict[str, str], *, name: str | None = None) -> ServiceProc:
        port = free_port()
        proc = ServiceProc(
            module=module,
            port=port,
            env={**env, PORT_ENV[module]: str(port)},
            log_path=tmp_path / "logs" / f"{name or module}.log",
        )
        procs.append(proc)
        return proc.start()

    yield start
    for proc in procs:
        proc.stop()


@pytest.fixture
def graph_engine(service_env: dict[str, str], spawn: Callable[..., ServiceProc]) -> ServiceProc:
    """A graph-engine process on the test's topics, ready."""
    proc = spawn("meshq_graph_engine", service_env)
    proc.wait_healthy()
    return proc
