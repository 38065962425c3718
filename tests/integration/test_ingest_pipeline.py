"""Snapshots through the real broker into a real graph-engine process."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    SnapshotChunk,
    SnapshotChunkData,
    SnapshotRejected,
    TopologyChanged,
)
from network_discovery.demo import load_snapshot, snapshot_text
from network_discovery.model import Snapshot
from support.front_door import ADMIN_KEY, start_gateway
from support.kafka_publish import await_result, publish_snapshot
from support.kafka_publish import tail as tail_topic

pytestmark = pytest.mark.integration

FIREWALL_SNAPSHOT = (
    Path(__file__).resolve().parents[1] / "fixtures" / "snapshots" / "firewall_policy.json"
)


async def test_snapshot_applied_then_reingest_is_empty(service_env, graph_engine) -> None:
    kw = {
        "bootstrap": service_env["MESHQ_KAFKA_BOOTSTRAP"],
        "topic_prefix": service_env["MESHQ_KAFKA_TOPIC_PREFIX"],
        "wait": True,
        "timeout": 90,
    }
    snapshot = load_snapshot()
    first = await publish_snapshot(snapshot, **kw)
    assert isinstance(first.result, TopologyChanged), graph_engine.tail()
    assert first.messages == 1
    assert first.result.data.added["devices"] >= 30
    assert first.result.correlation_id == first.correlation_id

    # The same snapshot again, split into chunks this time: nothing changes.
    again = await publish_snapshot(snapshot, max_message_bytes=120_000, **kw)
    assert again.messages > 1
    assert isinstance(again.result, TopologyChanged)
    assert again.result.data.empty
    assert again.result.data.added == again.result.data.removed == {}


async def test_firewall_policy_and_routes_reach_the_graph(service_env, graph_engine, spawn) -> None:
    kw = {
        "bootstrap": service_env["MESHQ_KAFKA_BOOTSTRAP"],
        "topic_prefix": service_env["MESHQ_KAFKA_TOPIC_PREFIX"],
        "wait": True,
        "timeout": 90,
    }
    snapshot = Snapshot.model_validate_json(FIREWALL_SNAPSHOT.read_text(encoding="utf-8"))
    first = await publish_snapshot(snapshot, **kw)
    assert isinstance(first.result, TopologyChanged), graph_engine.tail()
    added = first.result.data.added
    assert added["firewall_rules"] == 4 and added["routes"] == 4
    assert added["firewall_rulesets"] == 2 and added["firewall_zones"] == 4
    again = await publish_snapshot(snapshot, **kw)
    assert isinstance(again.result, TopologyChanged) and again.result.data.empty

    # The process stores the facts durably: a new process loads them without repairs.
    graph_engine.stop()
    restarted = spawn("meshq_graph_engine", service_env, name="graph-engine-2")
    restarted.wait_healthy()
    events = [json.loads(line) for line in restarted.logs().splitlines() if line.startswith("{")]
    loaded = [e for e in events if e.get("event") == "graph.loaded"]
    assert loaded and loaded[-1]["fact_sets"] == 14  # 8 + 6: the SRX has no objects
    assert not [e for e in events if e.get("event") == "graph.repair"]


async def test_chunks_that_do_not_add_up_are_refused(service_env, graph_engine) -> None:
    bootstrap = service_env["MESHQ_KAFKA_BOOTSTRAP"]
    prefix = service_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    raw = snapshot_text().encode()
    half = len(raw) // 2
    chunks = [
        SnapshotChunk(
            source="test",
            subject="test",
            correlation_id="corr-bad-chunks",
            data=SnapshotChunkData(
                snapshot_id="tampered",
                index=i,
                count=2,
                sha256="0" * 64,
                content=base64.b64encode(part).decode(),
            ),
        )
        for i, part in enumerate((raw[:half], raw[half:]))
    ]
    tail = await tail_topic(bootstrap, prefix + topics.TOPOLOGY_CHANGED.name)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for chunk in chunks:
            await producer.send_and_wait(
                prefix + topics.INGEST_SNAPSHOTS.name, chunk.model_dump_json().encode(), key=b"test"
            )
        result = await await_result(tail, "tampered", "corr-bad-chunks", 60)
    finally:
        await producer.stop()
        await tail.stop()
    assert isinstance(result, SnapshotRejected)
    assert "SHA-256" in result.data.reason


def _cli_env(service_env: dict[str, str], gateway: Any, tmp_path: Path) -> dict[str, str]:
    """The CLI as a user runs it: the REST API's address and a key, nothing else of the
    stack (no broker address, no service credential)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ"))}
    env.update(
        MESHOPTIXIQ_API_URL=gateway.url,
        MESHOPTIXIQ_API_KEY=ADMIN_KEY,
        MESHQ_DATA_DIR=str(tmp_path / "nowhere"),
        MESHQ_NO_LICENSE_WARNING="1",
    )
    return env


def test_meshq_ingest_cli_waits_and_prints_the_diff(
    service_env, graph_engine, spawn, tmp_path: Path
) -> None:
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph_engine.url)
    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())
    env = _cli_env(service_env, gateway, tmp_path)

    def ingest() -> subprocess.CompletedProcess[str]:
        argv = ["ingest", str(path), "--wait", "--timeout", "90"]
        return subprocess.run(
            [sys.executable, "-m", "network_discovery.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
        )

    first = ingest()
    assert first.returncode == 0, first.stderr
    assert "added:" in first.stdout and "devices" in first.stdout
    assert "accepted" in first.stdout
    second = ingest()
    assert second.returncode == 0, second.stderr
    assert "applied: nothing changed" in second.stdout

    snapshot_id = load_snapshot().snapshot_id
    status = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "snapshots", "--status", snapshot_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert f"snapshot {snapshot_id}: applied" in status.stdout


def test_meshq_ingest_reads_firewall_configurations(
    service_env, graph_engine, spawn, tmp_path: Path
) -> None:
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph_engine.url)
    lab = FIREWALL_SNAPSHOT.parents[1] / "firewall" / "lab"
    result = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "ingest", str(lab), "--wait"],
        env=_cli_env(service_env, gateway, tmp_path),
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "67 firewall_rules" in result.stdout  # lnx-fw1's nat table is read too
        and "firewall_rules" in result.stdout.split("added:")[1]
    )
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any("br-rtr1/show_running-config.txt:24: wildcard 0.255.0.255" in w for w in warnings)
    assert any("hq-fw1/show_running-config.txt:86:" in w for w in warnings)


def test_meshq_ingest_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ_"))}
    env["MESHQ_DATA_DIR"] = str(tmp_path)
    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())
    result = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "ingest", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("meshq: no running MeshOptixIQ stack found")
    assert "MESHOPTIXIQ_API_URL" in lines[0] and "KAFKA" not in lines[0]


def test_meshq_ingest_wait_says_what_became_of_the_snapshot_when_the_gateway_goes_away(
    service_env, spawn, tmp_path: Path
) -> None:
    """The gateway dies while the CLI waits (the engine's apply is held, so the snapshot
    stays accepted): one line naming the snapshot and how to follow it, exit 1, no
    traceback, long before --timeout."""
    import time

    graph = spawn(
        "meshq_graph_engine",
        {
            **service_env,
            "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
            # held before its first write: an apply of the demo can finish before the gateway
            # is killed
            "MESHQ_FAILPOINTS": "engine.pause_after_journal",
        },
    )
    graph.wait_healthy()
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph.url)
    path = tmp_path / "demo.json"
    path.write_text(snapshot_text())
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "network_discovery.cli",
            "ingest",
            str(path),
            "--wait",
            "--timeout",
            "300",
        ],
        env=_cli_env(service_env, gateway, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        intake = tmp_path / "data" / "graph-engine" / "intake"
        while not list(intake.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # its 202 reaches the CLI, which then waits
        assert gateway.proc is not None
        os.kill(gateway.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        out, err = cli.communicate(timeout=90)
        took = time.monotonic() - killed
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
    assert cli.returncode == 1, (out, err)
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("meshq: ")]
    assert len(errors) == 1, err
    snapshot_id = load_snapshot().snapshot_id
    assert "was accepted" in errors[0], errors[0]
    assert f"meshq snapshots --status {snapshot_id}" in errors[0]
    assert took < 30, took
