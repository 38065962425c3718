"""The chain: audit event → audit log → ``audit.recorded`` → rule → exactly one webhook."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent
from support.procs import wait_for

pytestmark = pytest.mark.integration


async def test_a_query_with_rows_fires_exactly_one_webhook(service_env, spawn, receiver) -> None:
    env = {
        **service_env,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "SOAR_WEBHOOK_URL": receiver.url,
        "SOAR_WEBHOOK_TOKEN": "chain-token-" + "c" * 16,
        "SOAR_RULES": '[{"condition":"row_count > 0","query":"deny_rules_summary",'
        '"label":"deny-rules-alert"}]',
    }
    audit = spawn("meshq_audit", env)
    dispatcher = spawn("meshq_soar_dispatcher", env)
    audit.wait_healthy()
    dispatcher.wait_healthy()

    rows = [{"hostname": "fw-corp-01", "rule_name": "deny-all-outbound", "action": "deny"}]
    hit = AuditRequestEvent(
        source="query-gateway",
        subject="alice",
        correlation_id="corr-soar-chain",
        data=AuditRequestData(
            principal="alice",
            auth_method="api_key",
            method="POST",
            path="/queries/deny_rules_summary/execute",
            status=200,
            elapsed_ms=40.0,
            query="deny_rules_summary",
            row_count=12,
            sample_rows=rows,
        ),
    )
    empty = hit.model_copy(
        update={"id": "other", "data": hit.data.model_copy(update={"row_count": 0})}
    )
    producer = AIOKafkaProducer(bootstrap_servers=env["MESHQ_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_EVENTS.name
        # the same event twice (at-least-once delivery upstream), and a call with no rows
        for event in (hit, hit, empty):
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"alice")
    finally:
        await producer.stop()

    (got,) = receiver.wait(1)
    body = got.json
    assert body["rule_name"] == "deny-rules-alert"
    assert body["query"] == "deny_rules_summary"
    assert body["matched_rows"] == 12
    assert body["sample_data"] == rows
    assert body["severity"] == "warning"

    # Give the duplicate and the empty call every chance to (wrongly) fire: wait until the
    # dispatcher has consumed both recorded events, then check nothing else arrived.
    def consumed() -> bool:
        return dispatcher.logs().count('"event.consumed"') >= 2

    wait_for(consumed, timeout=60, what="both recorded events consumed")
    assert len(receiver.received) == 1
