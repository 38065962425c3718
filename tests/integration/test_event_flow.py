"""An event crosses two separately started service processes through the real broker."""

from __future__ import annotations

import json

import httpx
import pytest
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS, AuditRecorded
from support.kafka import collect

pytestmark = pytest.mark.integration


async def test_correlation_id_flows_from_gateway_through_audit(service_env, spawn) -> None:
    # The audit log is the audit_logging feature (Pro and up); demo mode opens it here.
    audit = spawn("meshq_audit", {**service_env, "MESHOPTIXIQ_DEMO_MODE": "true"})
    gateway = spawn(
        "meshq_query_gateway",
        {**service_env, "API_KEY": "k-" + "s" * 30, "MESHQ_GRAPH_ENGINE_URL": "http://127.0.0.1:9"},
    )
    audit.wait_healthy()
    gateway.wait_healthy(path="/health")

    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        denied = await client.get("/queries", headers={"X-Correlation-ID": "corr-denied"})
        assert denied.status_code == 401
        assert denied.headers["content-type"].startswith("application/problem+json")
        response = await client.get(
            "/queries",
            headers={"X-API-Key": "k-" + "s" * 30, "X-Correlation-ID": "corr-flow-42"},
        )
    # The graph engine is not running: the gateway says so, and the call is still audited.
    assert response.status_code == 503
    assert response.headers["x-correlation-id"] == "corr-flow-42"

    prefix = service_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    records = await collect(
        service_env["MESHQ_KAFKA_BOOTSTRAP"], prefix + topics.AUDIT_RECORDED.name, count=1
    )
    assert len(records) == 1
    recorded = ADAPTERS[topics.AUDIT_RECORDED.name].validate_json(records[0].value)
    assert isinstance(recorded, AuditRecorded)
    assert recorded.correlation_id == "corr-flow-42"
    assert recorded.source == "audit"
    assert recorded.data.request.path == "/queries"
    assert recorded.data.request.status == 503
    assert recorded.data.request.principal == "admin"

    # The consumer's own log line for the event carries the same correlation id.
    lines = [json.loads(line) for line in audit.logs().splitlines() if line.startswith("{")]
    consumed = [ln for ln in lines if ln.get("event") == "audit.recorded"]
    assert consumed and all(ln["correlation_id"] == "corr-flow-42" for ln in consumed)
    # The rejected call never reached the log: nothing ran for it.
    assert not [ln for ln in lines if ln.get("correlation_id") == "corr-denied"]
