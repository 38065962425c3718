"""/ready names the dependency that is down, and recovers when it is back.

Each case gets its own broker, PostgreSQL or Redis, so stopping it disturbs no other test.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from meshq_runtime.embedded import EmbeddedPostgres, EmbeddedRedis, Tansu, free_port
from support.procs import ServiceProc, wait_for

pytestmark = pytest.mark.integration


def _ready(proc: ServiceProc) -> httpx.Response:
    return httpx.get(f"{proc.url}/ready", timeout=5)


def _assert_goes_down_and_back(proc: ServiceProc, part, dependency: str) -> None:
    assert _ready(proc).status_code == 200
    part.stop()
    down = wait_for(
        lambda: (r := _ready(proc)).status_code == 503 and r,
        timeout=45,
        what=f"/ready to report {dependency} down",
    )
    body = down.json()
    assert down.headers["content-type"].startswith("application/problem+json")
    assert dependency in body["unavailable"], body
    assert f"{dependency} is unreachable" in body["detail"]
    part.start()
    wait_for(lambda: _ready(proc).status_code == 200, timeout=60, what=f"{dependency} back")


def test_ready_reports_postgres(service_env, spawn, tmp_path: Path) -> None:
    pg = EmbeddedPostgres(data_dir=tmp_path / "pg", port=free_port())
    pg.start()
    try:
        audit = spawn("meshq_audit", {**service_env, "MESHQ_POSTGRES_URL": pg.url})
        audit.wait_healthy()
        _assert_goes_down_and_back(audit, pg, "postgres")
    finally:
        pg.purge()


def test_ready_reports_redis(service_env, spawn, tmp_path: Path) -> None:
    redis = EmbeddedRedis(data_dir=tmp_path / "redis", port=free_port())
    redis.start()
    try:
        graph = spawn("meshq_graph_engine", service_env)
        graph.wait_healthy()
        gateway = spawn(
            "meshq_query_gateway",
            {**service_env, "MESHQ_REDIS_URL": redis.url, "MESHQ_GRAPH_ENGINE_URL": graph.url},
        )
        gateway.wait_healthy()
        # the gateway runs on without Redis (limits per pod, RBAC by re-read): still ready,
        # but degraded, with the reason
        assert _ready(gateway).json()["status"] == "ready"
        redis.stop()
        down = wait_for(
            lambda: (r := _ready(gateway)).json().get("status") == "degraded" and r,
            timeout=45,
            what="/ready to report redis degraded",
        )
        body = down.json()
        assert down.status_code == 200 and body["checks"]["redis"] == "degraded", body
        assert "Redis unavailable" in body["degraded"]["redis"], body
        redis.start()
        wait_for(
            lambda: _ready(gateway).json().get("status") == "ready", timeout=60, what="redis back"
        )
    finally:
        redis.stop()


def test_ready_reports_the_broker(service_env, spawn, tmp_path: Path) -> None:
    tansu = Tansu(log_dir=tmp_path, port=free_port())
    tansu.start()
    try:
        netbox = spawn(
            "meshq_netbox_sync", {**service_env, "MESHQ_KAFKA_BOOTSTRAP": tansu.bootstrap}
        )
        netbox.wait_healthy()
        _assert_goes_down_and_back(netbox, tansu, "kafka")
    finally:
        tansu.stop()
