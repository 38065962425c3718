"""`meshq discover` publishes ONE snapshot per run through the ingest path, into a real
graph-engine process; the second run of an unchanged network changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from network_discovery.contracts import topics
from support.discovery_lab import PASSWORD, PASSWORD_ENV, Lab, write_inventory
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


def test_each_run_publishes_one_snapshot(
    ssh_lab: Lab, service_env, graph_engine, tmp_path: Path
) -> None:
    inventory = write_inventory(tmp_path, ssh_lab.port)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ_"))}
    env.update(service_env)
    env.update({PASSWORD_ENV: PASSWORD, "HOME": str(tmp_path / "home")})
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
    assert len(records) == 2  # one message per run
    for record in records:
        assert b'"meshq-discover"' in record.value
        assert PASSWORD.encode() not in record.value
    assert PASSWORD not in first.stdout + first.stderr + second.stdout + second.stderr
