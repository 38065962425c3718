"""Pull: NetBox's site, tenant, rack and role stamped on graph devices; cables declared."""

from __future__ import annotations

from typing import Any

from network_discovery.integrations.netbox import NetBoxClient, SyncOptions, run_sync
from support.netbox_fake import FakeNetBox
from support.netbox_graph import device_kit

IFACE = "dcim.interface"


def seed(netbox: FakeNetBox, *, cables: bool = True) -> dict[str, Any]:
    """HQ with a tenant and a rack; core matched by name, access by its FQDN, the firewall
    by serial (NetBox calls it differently); two cables, one of which discovery never saw.
    NetBox gives the core a platform other than the one discovery found."""
    kit = device_kit(netbox, "HQ", "Arista", "7050", "Core Switch")
    tenant = netbox.add("tenancy/tenants", name="Campus", slug="campus")
    rack = netbox.add("dcim/racks", name="R1", site=kit["site"], status="active")
    core_role = {"id": kit["role"]}
    platform = netbox.add("dcim/platforms", name="Vendor OS 9", slug="vendor-os-9")
    fw_role = netbox.add("dcim/device-roles", name="Firewall", slug="firewall")
    common = {"device_type": kit["device_type"], "site": kit["site"], "status": "active"}
    core = netbox.add(
        "dcim/devices",
        name="sw-core-01",
        role=core_role["id"],
        tenant=tenant["id"],
        rack=rack["id"],
        platform=platform["id"],
        **common,
    )
    acc = netbox.add("dcim/devices", name="sw-acc-01.corp.example", role=core_role["id"], **common)
    fw = netbox.add(
        "dcim/devices",
        name="edge-firewall",
        serial="024101001234",
        role=fw_role["id"],
        tenant=tenant["id"],
        **common,
    )
    other = netbox.add("dcim/devices", name="printer-7", role=fw_role["id"], **common)

    def iface(device: dict[str, Any], name: str) -> dict[str, Any]:
        return netbox.add("dcim/interfaces", device=device["id"], name=name, type="other")

    def cable(a: dict[str, Any], b: dict[str, Any]) -> None:
        netbox.add(
            "dcim/cables",
            status="connected",
            a_terminations=[{"object_type": IFACE, "object_id": a["id"]}],
            b_terminations=[{"object_type": IFACE, "object_id": b["id"]}],
        )

    if cables:
        cable(iface(core, "Et1"), iface(acc, "Gi1/0/49"))
        cable(iface(core, "Ethernet3"), iface(fw, "ethernet1/2"))
    return {"site": kit["site"], "other": other, "acc": acc}


async def test_pull_stamps_site_tenant_rack_and_declares_cables(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    seed(netbox)
    result = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)

    devices = {d["device"]: d for d in await graph.query("all_devices")}
    assert {k: devices["sw-core-01"][k] for k in ("site", "tenant", "rack", "role")} == {
        "site": "HQ",
        "tenant": "Campus",
        "rack": "R1",
        "role": "core_switch",
    }
    assert {k: devices["sw-acc-01"][k] for k in ("site", "tenant", "rack")} == {
        "site": "HQ",
        "tenant": None,
        "rack": None,
    }
    assert {k: devices["fw-01"][k] for k in ("site", "tenant", "role")} == {
        "site": "HQ",
        "tenant": "Campus",
        "role": "firewall",
    }
    drift = await graph.query("netbox_drift", include_matched=True)
    assert [
        (r["status"], r["a_device"], r["a_interface"], r["b_device"], r["b_interface"])
        for r in drift
    ] == [
        ("both", "sw-acc-01", "GigabitEthernet1/0/49", "sw-core-01", "Ethernet1"),
        ("discovered_only", "fw-01", "Ethernet1/1", "sw-core-01", "Ethernet2"),
        ("netbox_only", "fw-01", "Ethernet1/2", "sw-core-01", "Ethernet3"),
    ]
    assert {r["object"]: r["planned"] for r in result.summary()} == {
        "device metadata": 3,
        "cable": 2,
    }
    assert result.notes == ["1 NetBox device(s) are not in the graph (not stamped)"]
    assert netbox.writes() == [], "a pull never writes to NetBox"

    again = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    assert not again.changed and again.summary() == [] and again.published == 0


async def test_metadata_survives_the_next_discovery_snapshot(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    from support.netbox_graph import fixture_snapshot

    seed(netbox)
    await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    later = fixture_snapshot().model_copy(update={"snapshot_id": "netbox-fixture-2"})
    await graph.engine.apply_snapshot(later)
    core = next(d for d in await graph.query("all_devices") if d["device"] == "sw-core-01")
    assert (core["site"], core["tenant"], core["rack"]) == ("HQ", "Campus", "R1")
    assert len(await graph.query("netbox_drift")) == 2  # declared cables kept as well


async def test_dry_run_plans_the_same_and_publishes_nothing(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    seed(netbox)
    dry = await run_sync(
        client, graph.reader(), SyncOptions("pull", dry_run=True), publish=graph.publish
    )
    assert graph.published == [] and dry.published == 0
    assert all(r["done"] == 0 for r in dry.summary())
    real = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    assert [p.lines() for p in dry.plans] == [p.lines() for p in real.plans]
    assert len(graph.published) == real.published == 4  # three patches and the cable set


async def test_a_cable_removed_in_netbox_is_no_longer_declared(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    seed(netbox)
    await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    gone = max(netbox.store.objects["dcim/cables"])
    del netbox.store.objects["dcim/cables"][gone]
    result = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    assert [line for p in result.plans for line in p.lines()] == [
        "pull delete cable fw-01 Ethernet1/2 <-> sw-core-01 Ethernet3"
    ]
    assert [r["status"] for r in await graph.query("netbox_drift")] == ["discovered_only"]


async def test_ambiguous_netbox_devices_are_reported_not_guessed(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    refs = seed(netbox)
    dtype = netbox.store.find("dcim/device-types")[0]["id"]
    role = netbox.store.find("dcim/device-roles")[0]["id"]
    for name in ("twin-a", "twin-b"):  # two NetBox devices claim the access switch's serial
        netbox.add(
            "dcim/devices",
            name=name,
            serial="FOC2233X0AB",
            device_type=dtype,
            role=role,
            site=refs["site"],
            status="active",
        )
    del netbox.store.objects["dcim/devices"][refs["acc"]["id"]]  # its own record is gone
    result = await run_sync(client, graph.reader(), SyncOptions("pull", dry_run=True))
    assert result.conflicts == [
        "device sw-acc-01: 2 NetBox devices match by serial: twin-a, twin-b"
    ]
    stamped = [
        i.label
        for p in result.plans
        for s in p.steps
        for i in s.items
        if s.kind == "device metadata"
    ]
    assert "sw-acc-01" not in stamped


async def test_netbox_platform_is_kept_apart_from_the_discovered_one(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    seed(netbox)
    result = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    stamp = next(i for s in result.plans[0].steps for i in s.items if i.label == "sw-core-01")
    assert stamp.changes["netbox_platform"] == (None, "Vendor OS 9")
    rows = {r["device"]: r for r in await graph.query("netbox_inventory")}
    core = rows["sw-core-01"]
    assert (core["platform"], core["netbox_platform"], core["netbox_platform_slug"]) == (
        "arista_eos",
        "Vendor OS 9",
        "vendor-os-9",
    )
    assert (rows["sw-acc-01"]["netbox_platform"], rows["sw-acc-01"]["platform"]) == (
        None,
        "cisco_ios",
    )
    devices = {d["device"]: d for d in await graph.query("all_devices")}
    assert devices["sw-core-01"]["netbox_platform_slug"] == "vendor-os-9"
    assert devices["sw-core-01"]["platform"] == "arista_eos"

    # NetBox renames the platform: the next pull follows, and a discovery run keeps it.
    pid = next(iter(netbox.store.objects["dcim/platforms"]))
    netbox.store.objects["dcim/platforms"][pid].update(name="Vendor OS 10", slug="vendor-os-10")
    again = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    assert [line for p in again.plans for line in p.lines()] == [
        "pull stamp device metadata sw-core-01 (netbox_platform: 'Vendor OS 9' -> "
        "'Vendor OS 10', netbox_platform_slug: 'vendor-os-9' -> 'vendor-os-10')"
    ]
    from support.netbox_graph import fixture_snapshot

    later = fixture_snapshot().model_copy(update={"snapshot_id": "netbox-fixture-2"})
    await graph.engine.apply_snapshot(later)
    core = next(r for r in await graph.query("netbox_inventory") if r["device"] == "sw-core-01")
    assert (core["platform"], core["netbox_platform_slug"]) == ("arista_eos", "vendor-os-10")


async def test_a_device_deleted_in_netbox_loses_its_declared_links(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    seed(netbox)
    await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    fw = netbox.store.find("dcim/devices", name="edge-firewall")[0]
    await client.delete("dcim/devices", [fw["id"]])  # NetBox takes its interfaces and cables too
    result = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    assert [line for p in result.plans for line in p.lines()] == [
        f"pull stamp device metadata fw-01 (netbox_id: {fw['id']} -> None)",
        "pull delete cable fw-01 Ethernet1/2 <-> sw-core-01 Ethernet3",
    ]
    assert result.notes[-1] == "1 graph device(s) are no longer in NetBox"
    rows = {r["device"]: r for r in await graph.query("netbox_inventory")}
    assert rows["fw-01"]["netbox_id"] is None and rows["fw-01"]["site"] == "HQ"
    drift = await graph.query("netbox_drift", include_matched=True)
    assert [(r["status"], r["a_device"], r["b_device"]) for r in drift] == [
        ("both", "sw-acc-01", "sw-core-01"),
        ("discovered_only", "fw-01", "sw-core-01"),  # the core is still in NetBox
    ]
    again = await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    assert not again.changed and again.published == 0


async def test_drift_compares_devices_netbox_has_no_cables_for(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    assert await graph.query("netbox_drift") == [], "no pull yet: nothing to compare with"
    seed(netbox, cables=False)
    await run_sync(client, graph.reader(), SyncOptions("pull"), publish=graph.publish)
    rows = {r["device"]: r["netbox_id"] for r in await graph.query("netbox_inventory")}
    assert sorted(rows) == ["fw-01", "sw-acc-01", "sw-core-01"]
    assert all(isinstance(v, int) for v in rows.values())
    drift = await graph.query("netbox_drift", include_matched=True)
    assert [
        (r["status"], r["a_device"], r["a_interface"], r["b_device"], r["b_interface"])
        for r in drift
    ] == [
        ("discovered_only", "fw-01", "Ethernet1/1", "sw-core-01", "Ethernet2"),
        ("discovered_only", "sw-acc-01", "GigabitEthernet1/0/49", "sw-core-01", "Ethernet1"),
    ]
    only_acc = await graph.query("netbox_drift", device="sw-acc-01")
    assert [r["b_device"] for r in only_acc] == ["sw-core-01"]
