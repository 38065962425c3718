"""`meshq discover` submits ONE snapshot per run through the REST API (the gateway's
``POST /snapshots``) into a real graph-engine process; the second run of an unchanged network
changes nothing. The command needs the API's address and a key, nothing else of the stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from network_discovery.contracts import topics
from support.discovery_lab import PASSWORD, PASSWORD_ENV, Lab, write_inventory
from support.front_door import ADMIN_KEY, start_gateway
from support.kafka import collect

pytestmark = pytest.mark.integration


def _meshq(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_each_run_submits_one_snapshot(
    ssh_lab: Lab, service_env, graph_engine, spawn, tmp_path: Path
) -> None:
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph_engine.url)
    inventory = write_inventory(tmp_path, ssh_lab.port)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ_"))}
    env.update(
        {
            PASSWORD_ENV: PASSWORD,
            "HOME": str(tmp_path / "home"),
            "MESHOPTIXIQ_API_URL": gateway.url,
            "MESHOPTIXIQ_API_KEY": ADMIN_KEY,
            "MESHQ_DATA_DIR": str(tmp_path / "cli-data"),
            "MESHQ_NO_LICENSE_WARNING": "1",
        }
    )
    args = ["discover", "--inventory", str(inventory), "--timeout", "5", "--wait"]

    first = _meshq(args, env)
    assert first.returncode == 0, first.stderr + graph_engine.tail()
    assert "3 ok" in first.stdout
    assert "added:" in first.stdout and "3 devices" in first.stdout

    second = _meshq(args, env)
    assert second.returncode == 0, second.stderr
    assert "applied: nothing changed" in second.stdout

    topic = service_env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.INGEST_SNAPSHOTS.name
    records = asyncio.run(collect(service_env["MESHQ_KAFKA_BOOTSTRAP"], topic, count=3, timeout=5))
    assert len(records) == 2  # one small reference per run
    for record in records:
        assert b'"ingest.snapshot.stored"' in record.value
        assert b'"submitted_by":"admin"' in record.value
        assert PASSWORD.encode() not in record.value
    assert PASSWORD not in first.stdout + first.stderr + second.stdout + second.stderr
