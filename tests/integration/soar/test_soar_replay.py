"""``meshq soar replay`` sends dead letters again, once each (through the gateway's
``POST /soar/replay``)."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from network_discovery.cli.main import cli
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from support.front_door import start_gateway, use_gateway
from support.kafka import collect

pytestmark = pytest.mark.integration

RULES = '[{"condition":"row_count > 0","query":"deny_*","label":"deny-alert"}]'


async def test_replay_delivers_dead_letters(
    service_env, spawn, receiver, make_recorded, publish, monkeypatch
) -> None:
    env = {
        **service_env,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "SOAR_WEBHOOK_URL": receiver.url,
        "SOAR_WEBHOOK_TOKEN": "t" * 24,
        "SOAR_RULES": RULES,
    }
    receiver.answer(400)
    dispatcher = spawn("meshq_soar_dispatcher", env).wait_healthy()
    await publish(make_recorded("deny_rules_summary", rows=5))
    dead = await collect(
        env["MESHQ_KAFKA_BOOTSTRAP"],
        env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.SOAR_DEAD_LETTER.name,
        count=1,
    )
    assert len(dead) == 1
    first = receiver.wait(1)[0]

    gateway = start_gateway(spawn, env, MESHQ_SOAR_DISPATCHER_URL=dispatcher.url)
    use_gateway(monkeypatch, gateway)
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["soar", "replay"])
    assert result.exit_code == 0, result.output
    assert "replayed 1: 1 delivered" in result.output
    again = receiver.wait(2)[1]
    assert again.body == first.body
    assert again.headers["Idempotency-Key"] == first.headers["Idempotency-Key"]

    # Already replayed: a second run sends nothing.
    result = await asyncio.to_thread(runner.invoke, cli, ["soar", "replay"])
    assert "replayed 0" in result.output
    assert len(receiver.received) == 2
    outcomes = await collect(
        env["MESHQ_KAFKA_BOOTSTRAP"],
        env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.SOAR_DISPATCHED.name,
        count=2,
    )
    kinds = [
        ADAPTERS[topics.SOAR_DISPATCHED.name].validate_json(r.value).data.outcome for r in outcomes
    ]
    assert kinds == ["dead-lettered", "delivered"]
