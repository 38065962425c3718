"""Scheduled discovery in netbox-sync: every interval, one snapshot on the ingest topic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from network_discovery.contracts import topics
from support.discovery_lab import PASSWORD, PASSWORD_ENV, Lab, write_inventory
from support.kafka import collect

pytestmark = pytest.mark.integration


def test_netbox_sync_publishes_one_snapshot_per_scheduled_run(
    ssh_lab: Lab, service_env, spawn, tmp_path: Path
) -> None:
    inventory = write_inventory(tmp_path, ssh_lab.port)
    env = {
        **service_env,
        PASSWORD_ENV: PASSWORD,
        "HOME": str(tmp_path / "home"),
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",  # no agent: the Community plan applies
        "MESHQ_DISCOVERY_INTERVAL": "1",
        "MESHQ_DISCOVERY_INVENTORY": str(inventory),
        "MESHQ_DISCOVERY_TIMEOUT": "5",
    }
    proc = spawn("meshq_netbox_sync", env)
    proc.wait_healthy(timeout=180)  # imports SSH and SNMP clients; slow on a busy machine
    topic = service_env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.INGEST_SNAPSHOTS.name
    records = asyncio.run(
        collect(service_env["MESHQ_KAFKA_BOOTSTRAP"], topic, count=2, timeout=150)
    )
    assert len(records) >= 2, proc.tail()
    ids = set()
    for record in records[:2]:
        event = json.loads(record.value)
        assert event["source"] == "netbox-sync/discovery"
        snapshot = event["data"]
        assert {d["hostname"] for d in snapshot["devices"]} == {"core1", "acc1", "acc2"}
        ids.add(snapshot["snapshot_id"])
        assert PASSWORD.encode() not in record.value
    assert len(ids) == 2  # two runs, one snapshot each
    assert PASSWORD not in proc.tail()


def test_scheduled_discovery_is_off_by_default() -> None:
    from meshq_netbox_sync.settings import Settings

    settings = Settings()
    assert settings.discovery_interval == 0 and settings.discovery_inventory is None
