"""The SOAR dispatcher as a real process: real broker, real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys

import pytest
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS, SoarDeadLettered, SoarDispatched
from support.kafka import collect

pytestmark = pytest.mark.integration

TOKEN = "soar-token-" + "x" * 20
RULES = (
    '[{"condition":"row_count > 0","query":"deny_rules_summary","label":"deny-rules-alert"},'
    '{"condition":"status >= 500 or elapsed_ms > 5000","query":"firewall_*",'
    '"label":"fw-trouble","severity":"high"}]'
)


def _env(service_env: dict[str, str], receiver, **extra: str) -> dict[str, str]:
    return {
        **service_env,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "SOAR_WEBHOOK_URL": receiver.url,
        "SOAR_WEBHOOK_TOKEN": TOKEN,
        "SOAR_RULES": RULES,
        "SOAR_RETRY_BASE_S": "0.05",
        "SOAR_RETRY_MAX_S": "0.2",
        **extra,
    }


async def _outcomes(env: dict[str, str], topic: str, count: int) -> list:
    records = await collect(
        env["MESHQ_KAFKA_BOOTSTRAP"], env["MESHQ_KAFKA_TOPIC_PREFIX"] + topic, count=count
    )
    return [ADAPTERS[topic].validate_json(r.value) for r in records]


async def test_query_with_rows_triggers_one_signed_webhook(
    service_env, spawn, receiver, make_recorded, publish
) -> None:
    env = _env(service_env, receiver)
    spawn("meshq_soar_dispatcher", env).wait_healthy()
    quiet = make_recorded("deny_rules_summary", rows=0, seq=1)
    other = make_recorded("topology_neighbors", rows=5, seq=2)
    hit = make_recorded("deny_rules_summary", rows=12, seq=3)
    fw = make_recorded("firewall_rules_by_zone", rows=1, status=503, seq=4)
    await publish(quiet, other, hit, fw)

    got = receiver.wait(2)
    by_rule = {r.json["rule_name"]: r for r in got}
    assert set(by_rule) == {"deny-rules-alert", "fw-trouble"}
    first = by_rule["deny-rules-alert"]
    body = first.json
    assert set(body) == {
        "rule_name",
        "query",
        "severity",
        "triggered_at",
        "matched_rows",
        "sample_data",
    }
    assert body["query"] == "deny_rules_summary"
    assert body["severity"] == "warning"
    assert body["matched_rows"] == 12
    assert body["sample_data"] == list(hit.data.request.sample_rows)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["triggered_at"])
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.headers["Idempotency-Key"].startswith("meshq-")
    stamp = first.headers["X-MeshQ-Timestamp"]
    expected = hmac.new(TOKEN.encode(), stamp.encode() + b"." + first.body, hashlib.sha256)
    assert hmac.compare_digest(first.headers["X-MeshQ-Signature"], "sha256=" + expected.hexdigest())
    assert by_rule["fw-trouble"].json["severity"] == "high"

    outcomes = await _outcomes(env, topics.SOAR_DISPATCHED.name, 2)
    assert {o.data.rule_name for o in outcomes} == {"deny-rules-alert", "fw-trouble"}
    assert all(isinstance(o, SoarDispatched) and o.data.outcome == "delivered" for o in outcomes)
    assert {o.correlation_id for o in outcomes} == {hit.correlation_id, fw.correlation_id}
    # Nothing else arrives: two events matched no rule.
    assert len(receiver.received) == 2


async def test_500_twice_then_200_is_delivered_once(
    service_env, spawn, receiver, make_recorded, publish
) -> None:
    receiver.answer(500, (429, {"Retry-After": "0"}), 200)
    env = _env(service_env, receiver)
    spawn("meshq_soar_dispatcher", env).wait_healthy()
    await publish(make_recorded(rows=4))
    got = receiver.wait(3)
    assert len({r.headers["Idempotency-Key"] for r in got}) == 1
    (outcome,) = await _outcomes(env, topics.SOAR_DISPATCHED.name, 1)
    assert outcome.data.outcome == "delivered"
    assert outcome.data.attempts == 3
    assert outcome.data.status_code == 200


async def test_400_goes_to_dead_letter_with_the_reason(
    service_env, spawn, receiver, make_recorded, publish
) -> None:
    receiver.answer(400)
    env = _env(service_env, receiver)
    spawn("meshq_soar_dispatcher", env).wait_healthy()
    event = make_recorded(rows=2)
    await publish(event)
    (dead,) = await _outcomes(env, topics.SOAR_DEAD_LETTER.name, 1)
    assert isinstance(dead, SoarDeadLettered)
    assert dead.data.attempts == 1
    assert dead.data.status_code == 400
    assert "rejected" in (dead.data.error or "")
    assert dead.data.payload is not None and dead.data.payload["matched_rows"] == 2
    assert dead.data.audit_event_id == event.data.audit_event_id
    assert len(receiver.received) == 1


async def test_retry_budget_spent_goes_to_dead_letter(
    service_env, spawn, receiver, make_recorded, publish
) -> None:
    receiver.answer(503, 503, 503)
    env = _env(service_env, receiver, SOAR_MAX_ATTEMPTS="3")
    spawn("meshq_soar_dispatcher", env).wait_healthy()
    await publish(make_recorded(rows=1))
    (dead,) = await _outcomes(env, topics.SOAR_DEAD_LETTER.name, 1)
    assert dead.data.attempts == 3
    assert "budget" in (dead.data.error or "")


async def test_killed_before_delivery_delivers_after_restart(
    service_env, spawn, receiver, make_recorded, publish
) -> None:
    env = _env(service_env, receiver)
    crashing = spawn(
        "meshq_soar_dispatcher", {**env, "MESHQ_FAILPOINTS": "soar.before_delivery"}, name="s1"
    )
    crashing.wait_healthy()
    await publish(make_recorded(rows=7))
    assert crashing.wait_exit(timeout=60) == 75, crashing.tail()
    assert receiver.received == []

    spawn("meshq_soar_dispatcher", env, name="s2").wait_healthy()
    (got,) = receiver.wait(1)
    assert got.json["matched_rows"] == 7
    (outcome,) = await _outcomes(env, topics.SOAR_DISPATCHED.name, 1)
    assert outcome.data.outcome == "delivered"


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ('[{"condition":"row_count >> 0","query":"q","label":"bad-op"}]', "'bad-op'"),
        ('[{"condition":"rows > 0","query":"q","label":"bad-var"}]', "position 1"),
        ('[{"condition":"row_count > 0 and","query":"q","label":"dangling"}]', "position 18"),
        ("not json", "SOAR_RULES: not valid JSON"),
    ],
)
def test_bad_rule_stops_start_up_naming_rule_and_position(
    service_env, rules: str, expected: str
) -> None:
    env = {**service_env, "SOAR_RULES": rules, "MESHQ_SOAR_DISPATCHER_PORT": "9"}
    import os

    done = subprocess.run(
        [sys.executable, "-m", "meshq_soar_dispatcher"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "SOAR rule" in done.stderr or "SOAR_RULES" in done.stderr
