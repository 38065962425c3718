"""Faults on the audit path lose nothing, with every part a real process (graph engine,
gateway, audit, SOAR dispatcher, a Tansu broker of the test's own, PostgreSQL):

- the broker killed (SIGKILL: Tansu keeps its log in memory, so everything in flight is gone)
  and restarted while queries keep coming: every accepted query ends up recorded once and
  fires exactly one webhook — the gateway re-sends what the audit log had not confirmed;
- dead letters survive a restart of the dispatcher and of the broker, and ``meshq soar replay``
  sends them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from click.testing import CliRunner
from meshq_runtime.embedded import Tansu
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.cli.main import cli
from network_discovery.contracts import topics
from support.front_door import start_gateway, use_gateway
from support.kafka import collect
from support.procs import free_port

pytestmark = pytest.mark.integration

API_KEY = "faults-admin-" + "k" * 32
TOKEN = "faults-soar-token-" + "t" * 20
EVERY_QUERY = json.dumps([{"condition": "status >= 200", "query": "*", "label": "every-query"}])
DENY = '[{"condition":"row_count > 0","query":"deny_*","label":"deny-alert"}]'


def _kafka(env: dict[str, str]) -> KafkaSettings:
    return KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})


class OwnBroker:
    """A Tansu of the test's own on a fixed port: killed and started again on that port."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir, self.port = log_dir, free_port()
        self.tansu = Tansu(log_dir=log_dir, port=self.port)

    @property
    def bootstrap(self) -> str:
        return self.tansu.bootstrap

    def start(self) -> None:
        self.tansu.start()

    def kill_and_restart(self) -> None:
        assert self.tansu.pid is not None
        os.kill(self.tansu.pid, signal.SIGKILL)
        self.tansu.stop()
        self.tansu = Tansu(log_dir=self.log_dir, port=self.port)
        self.tansu.start()

    def stop(self) -> None:
        self.tansu.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Any:
    broker = OwnBroker(tmp_path / "own-broker")
    broker.start()
    yield broker
    broker.stop()


async def _wait(predicate: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


async def test_a_broker_restart_with_events_in_flight_loses_nothing(
    service_env, spawn, receiver, own_broker, make_recorded
) -> None:
    env = {
        **service_env,
        "MESHQ_KAFKA_BOOTSTRAP": own_broker.bootstrap,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHQ_AUDIT_CONFIRM_TIMEOUT_S": "5",
    }
    await ensure_topics(_kafka(env))
    engine = spawn("meshq_graph_engine", env).wait_healthy()
    gateway = spawn(
        "meshq_query_gateway", {**env, "API_KEY": API_KEY, "MESHQ_GRAPH_ENGINE_URL": engine.url}
    ).wait_healthy()
    audit = spawn("meshq_audit", env).wait_healthy()
    dispatcher = spawn(
        "meshq_soar_dispatcher",
        {
            **env,
            "SOAR_WEBHOOK_URL": receiver.url,
            "SOAR_WEBHOOK_TOKEN": TOKEN,
            "SOAR_RULES": EVERY_QUERY,
        },
    ).wait_healthy()
    journal = Path(env["MESHQ_DATA_DIR"]) / "query-gateway" / "audit-spool.jsonl"

    accepted: list[str] = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:

        async def query(cid: str) -> None:
            headers = {"X-API-Key": API_KEY, "X-Correlation-ID": cid}
            answer = await client.post("/queries/all_devices", headers=headers, json={})
            assert answer.status_code == 200, answer.text
            accepted.append(cid)

        for i in range(20):
            await query(f"before-{i}")
        # a burst, and the broker dies under it: events in the gateway, on the broker, in
        # the audit service's outbox and on their way to SOAR are all in flight
        burst = [asyncio.create_task(query(f"burst-{i}")) for i in range(20)]
        await asyncio.sleep(0.2)
        own_broker.kill_and_restart()
        await asyncio.gather(*burst)
        await ensure_topics(_kafka(env))  # what meshq serve does when it starts a broker
        for i in range(20):
            await query(f"after-{i}")
    n = len(accepted)
    assert n == 60

    conn = await asyncpg.connect(env["MESHQ_POSTGRES_URL"])
    try:

        async def audited() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM audit_log"))

        async def settled() -> bool:  # every event confirmed by the audit log
            return await audited() >= n and journal.exists() and journal.stat().st_size == 0

        await _wait(settled, f"{n} events audited and confirmed to the gateway")
        await asyncio.to_thread(receiver.wait, n, 120)
        cids = [
            r["cid"]
            for r in await conn.fetch("SELECT body->>'correlation_id' AS cid FROM audit_log")
        ]
        last_seq = await conn.fetchval("SELECT max(seq) FROM audit_log")

        async def announced() -> bool:  # the audit service published every announcement
            pending = "SELECT count(*) FROM meshq_outbox WHERE published_at IS NULL"
            return int(await conn.fetchval(pending)) == 0

        await _wait(announced, "the audit outbox to drain", timeout=60)
    finally:
        await conn.close()

    assert sorted(cids) == sorted(accepted), "every accepted query audited, once"
    assert last_seq == n  # numbered 1..n without gaps
    # exactly one webhook per call: SOAR saw repeats (re-sent events, re-announcements) and
    # dispatched none of them twice
    partitions = int(env["MESHQ_KAFKA_PARTITIONS"])
    await _markers(env, make_recorded, partitions)
    await asyncio.to_thread(receiver.wait, n + partitions, 120)
    calls = [r for r in receiver.received if r.json["query"] != "marker"]
    keys = [r.headers["Idempotency-Key"] for r in calls]
    assert len(calls) == n and len(set(keys)) == n
    logs = gateway.logs() + audit.logs()
    assert '"kafka.log_reset"' in logs or '"audit.republish"' in logs
    assert '"event.dead_lettered"' not in audit.logs()
    assert dispatcher.proc is not None and dispatcher.proc.poll() is None


async def _announce(env: dict[str, str], *events: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=env["MESHQ_KAFKA_BOOTSTRAP"], acks="all")
    await producer.start()
    try:
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_RECORDED.name
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"tester")
    finally:
        await producer.stop()


async def _markers(env: dict[str, str], make_recorded: Any, partitions: int) -> None:
    """One announcement of our own per partition, after everything else: the dispatcher reads
    a partition in order, so once their webhooks arrive it has read all that came before."""
    producer = AIOKafkaProducer(bootstrap_servers=env["MESHQ_KAFKA_BOOTSTRAP"], acks="all")
    await producer.start()
    try:
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_RECORDED.name
        for p in range(partitions):
            marker = make_recorded("marker", rows=1, seq=10_000 + p)
            await producer.send_and_wait(topic, marker.model_dump_json().encode(), partition=p)
    finally:
        await producer.stop()


async def test_dead_letters_survive_restarts_and_replay_sends_them(
    service_env, spawn, receiver, make_recorded, own_broker, monkeypatch
) -> None:
    env = {
        **service_env,
        "MESHQ_KAFKA_BOOTSTRAP": own_broker.bootstrap,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "SOAR_WEBHOOK_URL": receiver.url,
        "SOAR_WEBHOOK_TOKEN": TOKEN,
        "SOAR_RULES": DENY,
    }
    await ensure_topics(_kafka(env))
    receiver.answer(400, 400, 400)  # refused: dead-lettered at once
    first = spawn("meshq_soar_dispatcher", env, name="dispatcher-1").wait_healthy()
    events = [make_recorded("deny_rules_summary", rows=5, seq=i) for i in (1, 2, 3)]
    await _announce(env, *events, events[0])  # the first one announced twice
    dead = await collect(
        own_broker.bootstrap,
        env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.SOAR_DEAD_LETTER.name,
        count=3,
        timeout=60,
    )
    assert len(dead) == 3
    refused = receiver.wait(3)
    first.stop()
    own_broker.kill_and_restart()  # the dead-letter topic is gone with the broker's memory
    await ensure_topics(_kafka(env))
    second = spawn("meshq_soar_dispatcher", env, name="dispatcher-2").wait_healthy()

    use_gateway(monkeypatch, start_gateway(spawn, env, MESHQ_SOAR_DISPATCHER_URL=second.url))
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["soar", "replay"])
    assert result.exit_code == 0, result.output + second.tail()
    assert "replayed 3: 3 delivered" in result.output
    again = receiver.wait(6)[3:]
    assert sorted(r.body for r in again) == sorted(r.body for r in refused)
    assert {r.headers["Idempotency-Key"] for r in again} == {
        r.headers["Idempotency-Key"] for r in refused
    }
    result = await asyncio.to_thread(runner.invoke, cli, ["soar", "replay"])
    assert "replayed 0" in result.output and len(receiver.received) == 6


async def test_a_gateway_killed_with_unsent_events_sends_them_after_restart(
    service_env, spawn, own_broker
) -> None:
    env = {
        **service_env,
        "MESHQ_KAFKA_BOOTSTRAP": own_broker.bootstrap,
        "MESHOPTIXIQ_DEMO_MODE": "true",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
    }
    await ensure_topics(_kafka(env))
    engine = spawn("meshq_graph_engine", env).wait_healthy()
    gw_env = {**env, "API_KEY": API_KEY, "MESHQ_GRAPH_ENGINE_URL": engine.url}
    gateway = spawn("meshq_query_gateway", gw_env, name="gateway-1").wait_healthy()
    audit = spawn("meshq_audit", env).wait_healthy()
    journal = Path(env["MESHQ_DATA_DIR"]) / "query-gateway" / "audit-spool.jsonl"

    assert own_broker.tansu.pid is not None
    os.kill(own_broker.tansu.pid, signal.SIGSTOP)  # nothing reaches the broker from here on
    try:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            for i in range(10):
                headers = {"X-API-Key": API_KEY, "X-Correlation-ID": f"unsent-{i}"}
                answer = await client.post("/queries/all_devices", headers=headers, json={})
                assert answer.status_code == 200, answer.text
        assert gateway.proc is not None
        gateway.proc.kill()  # SIGKILL: no shutdown, no flush
        gateway.proc.wait(timeout=10)
        owed = [json.loads(line)["correlation_id"] for line in journal.read_text().splitlines()]
        assert sorted(owed) == sorted(f"unsent-{i}" for i in range(10))
    finally:
        os.kill(own_broker.tansu.pid, signal.SIGCONT)

    spawn("meshq_query_gateway", gw_env, name="gateway-2").wait_healthy()
    conn = await asyncpg.connect(env["MESHQ_POSTGRES_URL"])
    try:

        async def settled() -> bool:
            count = int(await conn.fetchval("SELECT count(*) FROM audit_log"))
            return count >= 10 and journal.stat().st_size == 0

        await _wait(settled, "the journal's events recorded and confirmed")
        cids = [
            r["cid"]
            for r in await conn.fetch("SELECT body->>'correlation_id' AS cid FROM audit_log")
        ]
    finally:
        await conn.close()
    assert sorted(cids) == sorted(f"unsent-{i}" for i in range(10)), audit.tail()
