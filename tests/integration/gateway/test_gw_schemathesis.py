"""schemathesis over the gateway's /schema: every operation, authenticated, in demo mode, against
a real graph engine; no answer is a server error (5xx)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from gateway_support import ADMIN_KEY  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from meshq_runtime.kafka import ensure_topics  # noqa: E402
from meshq_runtime.settings import KafkaSettings  # noqa: E402
from support.procs import ServiceProc, free_port  # noqa: E402

pytestmark = pytest.mark.integration


def _proc(module: str, port_env: str, env: dict[str, str], logs: Path) -> ServiceProc:
    port = free_port()
    return ServiceProc(
        module=module,
        port=port,
        env={**env, port_env: str(port)},
        log_path=logs / f"{module}.log",
    ).start()


@pytest.fixture(scope="module")
def demo_gateway(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProc]:
    tmp = tmp_path_factory.mktemp("fuzz")
    tag = uuid.uuid4().hex[:8]
    env = {
        "MESHQ_KAFKA_TOPIC_PREFIX": f"f{tag}.",
        "MESHQ_KAFKA_GROUP_PREFIX": f"f{tag}",
        "MESHQ_KAFKA_PARTITIONS": "1",
        "MESHQ_KAFKA_IDEMPOTENT": "false",
        "MESHQ_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "MESHQ_REDIS_URL": stack.redis_url,
        "MESHQ_DATA_DIR": str(tmp / "data"),
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHOPTIXIQ_DEMO_MODE": "true",
    }
    kafka = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    asyncio.run(ensure_topics(kafka))
    graph = _proc("meshq_graph_engine", "MESHQ_GRAPH_ENGINE_PORT", env, tmp)
    gateway = None
    try:
        graph.wait_healthy()
        gateway = _proc(
            "meshq_query_gateway",
            "MESHQ_GATEWAY_PORT",
            {**env, "API_KEY": ADMIN_KEY, "MESHQ_GRAPH_ENGINE_URL": graph.url},
            tmp,
        ).wait_healthy()
        yield gateway
    finally:
        if gateway is not None:
            gateway.stop()
        graph.stop()


def test_no_server_errors(demo_gateway: ServiceProc) -> None:
    schema = schemathesis.openapi.from_url(f"{demo_gateway.url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    seen: set[str] = set()
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            seen.add(f"{case.method.upper()} {case.path}")
            response = case.call(headers={"X-API-Key": ADMIN_KEY}, timeout=30)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )

        fuzz()
    assert failures == []
    assert seen == {f"{op.method.upper()} {op.path}" for op in operations}
    assert {"POST /queries/{name}", "GET /license", "POST /admin/rbac/reload"} <= seen
