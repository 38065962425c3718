"""End to end: a real query through the real gateway → audit → soar-dispatcher → one webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import httpx
import pytest
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from network_discovery.demo import load_snapshot
from support.kafka import collect
from support.procs import wait_for
from support.submit import submit

pytestmark = pytest.mark.integration

API_KEY = "e2e-admin-" + "k" * 32
TOKEN = "e2e-soar-token-" + "t" * 20
RULES = json.dumps(
    [
        {"condition": "row_count > 0", "query": "all_devices", "label": "devices-seen"},
        {"condition": "row_count > 100", "query": "bgp_peers_down", "label": "bgp-storm"},
    ]
)


async def test_gateway_query_fires_exactly_one_signed_webhook(service_env, spawn, receiver) -> None:
    env = {
        **service_env,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
    }
    engine = spawn("meshq_graph_engine", env).wait_healthy()
    gateway = spawn(
        "meshq_query_gateway",
        {**env, "API_KEY": API_KEY, "MESHQ_GRAPH_ENGINE_URL": engine.url},
    ).wait_healthy()
    audit = spawn("meshq_audit", env).wait_healthy()
    dispatcher = spawn(
        "meshq_soar_dispatcher",
        {
            **env,
            "SOAR_WEBHOOK_URL": receiver.url,
            "SOAR_WEBHOOK_TOKEN": TOKEN,
            "SOAR_RULES": RULES,
        },
    ).wait_healthy()

    assert (await submit(engine.url, env, load_snapshot()))["status"] == "applied"

    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:

        async def run(name: str, cid: str) -> dict:  # type: ignore[type-arg]
            headers = {"X-API-Key": API_KEY, "X-Correlation-ID": cid}
            answer = await client.post(f"/queries/{name}", headers=headers, json={})
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-correlation-id"] == cid
            return answer.json()  # type: ignore[no-any-return]

        devices = await run("all_devices", "e2e-devices")
        bgp = await run("bgp_peers_down", "e2e-bgp")
    assert devices["row_count"] > 0
    assert bgp["row_count"] <= 100

    (got,) = receiver.wait(1, timeout=90)
    body = got.json
    assert set(body) == {
        "rule_name",
        "query",
        "severity",
        "triggered_at",
        "matched_rows",
        "sample_data",
    }
    assert body["rule_name"] == "devices-seen"
    assert body["query"] == "all_devices"
    assert body["severity"] == "warning"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["triggered_at"])
    assert body["matched_rows"] == devices["row_count"]
    sample = body["sample_data"]
    # the gateway keeps the first five rows as the sample (docs/api.md, "Audit")
    assert len(sample) == min(5, len(devices["rows"]))
    assert sample == devices["rows"][: len(sample)]
    assert got.headers["Authorization"] == f"Bearer {TOKEN}"
    assert got.headers["Idempotency-Key"]
    stamp = got.headers["X-MeshQ-Timestamp"]
    expected = hmac.new(TOKEN.encode(), stamp.encode() + b"." + got.body, hashlib.sha256)
    assert hmac.compare_digest(got.headers["X-MeshQ-Signature"], "sha256=" + expected.hexdigest())

    # The delivered outcome belongs to the gateway call (correlation id carried through).
    prefix = env["MESHQ_KAFKA_TOPIC_PREFIX"]
    records = await collect(
        env["MESHQ_KAFKA_BOOTSTRAP"], prefix + topics.SOAR_DISPATCHED.name, count=1, timeout=60
    )
    (outcome,) = [ADAPTERS[topics.SOAR_DISPATCHED.name].validate_json(r.value) for r in records]
    assert outcome.data.rule_name == "devices-seen"
    assert outcome.data.outcome == "delivered"
    assert outcome.correlation_id == "e2e-devices"

    # Both recorded events (the second one's rule must not fire) were consumed by the
    # dispatcher before we check that nothing else arrived.
    recorded = await collect(
        env["MESHQ_KAFKA_BOOTSTRAP"], prefix + topics.AUDIT_RECORDED.name, count=2, timeout=60
    )
    cids = {
        ADAPTERS[topics.AUDIT_RECORDED.name].validate_json(r.value).correlation_id for r in recorded
    }
    assert cids == {"e2e-devices", "e2e-bgp"}, audit.tail()

    wait_for(
        lambda: dispatcher.logs().count('"event.consumed"') >= 2,
        timeout=60,
        what="both recorded events consumed by the dispatcher",
    )
    assert len(receiver.received) == 1, [r.json for r in receiver.received]
