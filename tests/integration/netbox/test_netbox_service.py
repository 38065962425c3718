"""The netbox-sync service as deployed: a periodic pull at start, syncs requested on
``meshq.netbox.sync.requested``, the netbox_sync gate, against a fake NetBox over HTTP and a
real graph engine on the demo network."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from network_discovery.contracts.events import NetboxSyncRequested, NetboxSyncRequestedData
from support.demo_stack import DemoStack, demo_stack
from support.kafka_publish import event_publisher
from support.netbox_fake import FakeNetBox, running_netbox
from support.procs import ServiceProc, free_port, internal_headers, wait_for

pytestmark = pytest.mark.integration

TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"


@pytest.fixture(scope="module")
def demo(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    tmp = tmp_path_factory.mktemp("netbox-service")
    with demo_stack(
        stack,
        tmp,
        MESHQ_LICENSING_URL="http://127.0.0.1:9",
        MESHOPTIXIQ_DEMO_MODE="true",
        API_KEY=secrets.token_urlsafe(24),
    ) as running:
        yield running


@pytest.fixture
def netbox() -> Iterator[FakeNetBox]:
    with running_netbox(TOKEN) as fake:
        site = fake.add("dcim/sites", name="Main Campus", slug="main-campus", status="active")
        rack = fake.add("dcim/racks", name="MC-R07", site=site["id"], status="active")
        maker = fake.add("dcim/manufacturers", name="Cisco", slug="cisco")
        dtype = fake.add("dcim/device-types", manufacturer=maker["id"], model="C9500", slug="c9500")
        role = fake.add("dcim/device-roles", name="Distribution", slug="distribution")
        fake.add(
            "dcim/devices",
            name="hq-dist-01",
            device_type=dtype["id"],
            role=role["id"],
            site=site["id"],
            rack=rack["id"],
            status="active",
        )
        yield fake
        assert fake.violations == []


def start_sync(demo: DemoStack, netbox: FakeNetBox, tmp: Path, **extra: str) -> ServiceProc:
    port = free_port()
    env = {
        **demo.env,
        "MESHQ_GRAPH_ENGINE_URL": demo.graph.url,
        "NETBOX_URL": netbox.base_url,
        "NETBOX_TOKEN": TOKEN,
        "MESHQ_NETBOX_SYNC_PORT": str(port),
        **extra,
    }
    return ServiceProc(
        module="meshq_netbox_sync", port=port, env=env, log_path=tmp / "netbox-sync.log"
    ).start()


def runs(proc: ServiceProc) -> list[dict[str, Any]]:
    status = httpx.get(proc.url + "/sync/status", headers=internal_headers(proc.env), timeout=10)
    return list(status.json()["runs"])


def device(demo: DemoStack, name: str) -> dict[str, Any]:
    rows = httpx.post(
        demo.graph.url + "/internal/queries/all_devices",
        json={},
        headers=internal_headers(demo.env),
        timeout=30,
    ).json()["rows"]
    return next(r for r in rows if r["device"] == name)


def request(demo: DemoStack, **data: Any) -> str:
    event = NetboxSyncRequested(
        source="test", subject="netbox", data=NetboxSyncRequestedData(**data)
    )

    async def send() -> None:
        async with event_publisher(
            demo.env["MESHQ_KAFKA_BOOTSTRAP"], demo.env["MESHQ_KAFKA_TOPIC_PREFIX"]
        ) as publish:
            await publish(event)

    asyncio.run(send())
    return event.correlation_id


def test_periodic_pull_and_requested_syncs(
    demo: DemoStack, netbox: FakeNetBox, tmp_path: Path
) -> None:
    proc = start_sync(demo, netbox, tmp_path, NETBOX_SYNC_INTERVAL="3600")
    try:
        proc.wait_healthy()
        first = wait_for(
            lambda: [r for r in runs(proc) if r["outcome"] != "running"],
            timeout=60,
            what="the sync at start",
        )
        assert first[0]["trigger"] == "periodic" and first[0]["direction"] == "pull"
        assert first[0]["outcome"] == "ok", first[0]
        stamped = wait_for(
            lambda: (d := device(demo, "hq-dist-01"))["rack"] == "MC-R07" and d,
            timeout=60,
            what="NetBox's rack on hq-dist-01",
        )
        assert stamped["site"] == "Main Campus"

        rack = next(iter(netbox.store.objects["dcim/racks"].values()))
        rack["name"] = "MC-R08"
        asked = request(demo, direction="pull", requested_by="ops")
        wait_for(
            lambda: device(demo, "hq-dist-01")["rack"] == "MC-R08",
            timeout=60,
            what="the requested pull",
        )
        done = next(r for r in runs(proc) if r["correlation_id"] == asked)
        assert done["trigger"] == "requested by ops" and done["outcome"] == "ok"

        dry = request(demo, direction="push", dry_run=True)
        planned = wait_for(
            lambda: [
                r for r in runs(proc) if r["correlation_id"] == dry and r["outcome"] != "running"
            ],
            timeout=90,
            what="the requested dry-run push",
        )[0]
        assert planned["outcome"] == "ok" and planned["dry_run"] is True
        counts = {(s["object"], s["action"]): s["planned"] for s in planned["summary"]}
        assert counts[("device", "create")] == 30 and counts[("device", "update")] == 1
        assert netbox.writes() == [], "pull and a dry run never write to NetBox"
    finally:
        proc.stop()


def test_without_the_netbox_sync_flag_nothing_runs(
    demo: DemoStack, netbox: FakeNetBox, tmp_path: Path
) -> None:
    proc = start_sync(
        demo, netbox, tmp_path, MESHOPTIXIQ_DEMO_MODE="false", NETBOX_SYNC_INTERVAL="3600"
    )
    try:
        proc.wait_healthy()
        refused = wait_for(lambda: runs(proc), timeout=60, what="the sync at start")[0]
        assert refused["outcome"] == "refused"
        assert refused["detail"] == "the license does not include 'netbox_sync'"
        assert [m for m, _, _ in netbox.log] == [], "not even a read"
    finally:
        proc.stop()
