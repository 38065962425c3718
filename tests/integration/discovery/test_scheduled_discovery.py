"""Scheduled discovery in netbox-sync: every interval, one snapshot submitted to graph-engine's
intake (with the service credential) and applied there."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from meshq_runtime.service_auth import SERVICE_TOKEN_ENV, service_headers
from network_discovery.contracts import topics
from support.discovery_lab import PASSWORD, PASSWORD_ENV, Lab, write_inventory
from support.kafka import collect

pytestmark = pytest.mark.integration


def test_netbox_sync_submits_one_snapshot_per_scheduled_run(
    ssh_lab: Lab, service_env, spawn, graph_engine, tmp_path: Path
) -> None:
    inventory = write_inventory(tmp_path, ssh_lab.port)
    env = {
        **service_env,
        PASSWORD_ENV: PASSWORD,
        "HOME": str(tmp_path / "home"),
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",  # no agent: the Community plan applies
        "MESHQ_GRAPH_ENGINE_URL": graph_engine.url,
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
        # a small reference on the broker; the snapshot itself went over internal HTTP
        assert event["type"] == "ingest.snapshot.stored"
        assert event["data"]["submitted_by"] == "netbox-sync"
        assert len(record.value) < 2_000
        ids.add(event["data"]["snapshot_id"])
        assert PASSWORD.encode() not in record.value
    assert len(ids) == 2  # two runs, one snapshot each
    headers = service_headers(service_env[SERVICE_TOKEN_ENV], "tests")
    for snapshot_id in ids:
        status = httpx.get(
            f"{graph_engine.url}/internal/snapshots/{snapshot_id}",
            params={"wait": 30},
            headers=headers,
            timeout=60,
        ).json()
        assert status["status"] == "applied", status
    rows = httpx.post(
        f"{graph_engine.url}/internal/queries/all_devices", json={}, headers=headers, timeout=30
    ).json()["rows"]
    assert {"core1", "acc1", "acc2"} <= {r["hostname"] for r in rows}
    assert PASSWORD not in proc.tail()


def test_scheduled_discovery_is_off_by_default() -> None:
    from meshq_netbox_sync.settings import Settings

    settings = Settings()
    assert settings.discovery_interval == 0 and settings.discovery_inventory is None
