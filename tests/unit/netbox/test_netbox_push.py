"""Push: discovered devices, interfaces, addresses and MACs into NetBox; idempotent; dry run."""

from __future__ import annotations

from network_discovery.integrations.netbox import NetBoxClient, SyncOptions, run_sync
from support.netbox_fake import FakeNetBox
from support.netbox_graph import device_kit

PUSH = SyncOptions("push")


def names(netbox: FakeNetBox, collection: str, key: str = "name") -> list[str]:
    return sorted(str(o[key]) for o in netbox.store.objects[collection].values())


async def test_push_creates_everything_then_changes_nothing(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    first = await run_sync(client, graph.reader(), PUSH)
    assert first.errors == [] and first.conflicts == []
    assert names(netbox, "dcim/devices") == ["fw-01", "sw-acc-01", "sw-core-01"]
    assert names(netbox, "dcim/sites") == ["MeshOptixIQ discovered"]
    assert names(netbox, "dcim/device-roles") == ["access", "core", "firewall"]
    assert names(netbox, "dcim/manufacturers") == ["Arista", "Cisco", "Palo Alto Networks"]
    assert names(netbox, "dcim/device-types", "model") == [
        "C9300-48P",
        "DCS-7050SX3-48YC8",
        "PA-440",
    ]
    assert names(netbox, "dcim/platforms") == ["Arista EOS", "Cisco IOS", "paloalto_panos"]
    assert len(netbox.store.objects["dcim/interfaces"]) == 8
    assert names(netbox, "ipam/ip-addresses", "address") == [
        "10.0.0.1/24",
        "10.0.0.2/24",
        "10.0.0.3/24",
        "192.0.2.0/31",
        "192.0.2.1/31",
    ]
    assert names(netbox, "dcim/mac-addresses", "mac_address") == [
        "44:4C:A8:00:00:01",
        "44:4C:A8:00:00:02",
        "44:4C:A8:00:00:10",
        "70:B3:17:00:00:31",
        "B4:0C:25:00:00:11",
    ]

    store = netbox.store.objects
    core = next(d for d in store["dcim/devices"].values() if d["name"] == "sw-core-01")
    assert core["serial"] == "JPE19110001" and core["tags"] == ["meshoptixiq"]
    assert store["ipam/ip-addresses"][core["primary_ip4"]]["address"] == "10.0.0.1/24"
    eth1 = next(
        i
        for i in store["dcim/interfaces"].values()
        if i["device"] == core["id"] and i["name"] == "Ethernet1"
    )
    assert (eth1["type"], eth1["speed"], eth1["mtu"], eth1["enabled"]) == (
        "10gbase-x-sfpp",
        10_000_000,
        9214,
        True,
    )
    assert store["dcim/mac-addresses"][eth1["primary_mac_address"]]["mac_address"] == (
        "44:4C:A8:00:00:01"
    )
    vlan = next(i for i in store["dcim/interfaces"].values() if i["name"] == "Vlan99")
    assert vlan["type"] == "virtual"
    ip = next(a for a in store["ipam/ip-addresses"].values() if a["address"] == "10.0.0.2/24")
    assert (ip["assigned_object_type"], ip["assigned_object_id"]) == ("dcim.interface", vlan["id"])
    assert all(
        o.get("tags") == ["meshoptixiq"]
        for c in ("dcim/interfaces", "ipam/ip-addresses", "dcim/mac-addresses", "dcim/sites")
        for o in store[c].values()
    )

    before = netbox.store.dump()
    netbox.log.clear()
    second = await run_sync(client, graph.reader(), PUSH)
    assert not second.changed and second.summary() == []
    assert netbox.writes() == [] and netbox.store.dump() == before


async def test_dry_run_writes_nothing_and_shows_what_the_run_does(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    before = netbox.store.dump()
    dry = await run_sync(client, graph.reader(), SyncOptions("push", dry_run=True))
    assert netbox.writes() == [] and netbox.store.dump() == before
    real = await run_sync(client, graph.reader(), PUSH)
    assert [p.lines() for p in dry.plans] == [p.lines() for p in real.plans]
    assert [(r["object"], r["action"], r["planned"]) for r in dry.summary()] == [
        (r["object"], r["action"], r["done"]) for r in real.summary()
    ]
    assert dry.summary()[0] == {
        "direction": "push",
        "object": "tag",
        "action": "create",
        "planned": 1,
        "done": 0,
    }


async def test_existing_devices_are_matched_and_only_empty_fields_filled(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    kit = device_kit(netbox, "HQ", "Arista", "7050X3", "Spine")
    eos = netbox.add("dcim/platforms", name="EOS", slug="arista-eos")
    core = netbox.add(
        "dcim/devices",
        name="SW-CORE-01",
        serial="OLD",
        status="active",
        tags=[],
        **kit,
    )
    netbox.add(
        "dcim/interfaces",
        device=core["id"],
        name="Et1",
        type="10gbase-x-sfpp",
        description="hand-written",
        enabled=True,
        tags=[],
    )

    result = await run_sync(client, graph.reader(), PUSH)
    assert result.errors == []
    stored = netbox.store.objects["dcim/devices"][core["id"]]
    assert stored["name"] == "SW-CORE-01"
    assert {k: stored[k] for k in kit} == kit, "NetBox keeps what it owns"
    assert (stored["serial"], stored["platform"]) == ("OLD", eos["id"]), "filled, not replaced"
    assert stored["tags"] == [], "a device the push did not create is not tagged"
    lines = [line for p in result.plans for line in p.lines()]
    assert [line for line in lines if line.startswith("push update device SW")] == [
        "push update device SW-CORE-01 (platform: None -> 'arista_eos')"
    ]
    eth1 = [
        i
        for i in netbox.store.objects["dcim/interfaces"].values()
        if i["device"] == core["id"] and i["name"] in ("Et1", "Ethernet1")
    ]
    assert len(eth1) == 1 and eth1[0]["description"] == "hand-written"
    assert (eth1[0]["mtu"], eth1[0]["speed"]) == (9214, 10_000_000), "empty fields are filled"
    assert result.drift == [
        "device SW-CORE-01: serial: NetBox has 'OLD', discovery 'JPE19110001'; NetBox's kept "
        "(--overwrite serial replaces it)",
        "interface sw-core-01 Ethernet1: description: NetBox has 'hand-written', discovery "
        "'sw-acc-01 uplink'; NetBox's kept (--overwrite description replaces it)",
    ]
    assert result.outcome == "conflicts"


async def test_an_address_netbox_has_elsewhere_is_a_conflict(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    kit = device_kit(netbox, "Lab", "Acme", "X", "Server")
    lab = netbox.add(
        "dcim/devices",
        name="lab-host",
        status="active",
        **kit,
    )
    nic = netbox.add("dcim/interfaces", device=lab["id"], name="eth0", type="other")
    netbox.add(
        "ipam/ip-addresses",
        address="192.0.2.0/31",
        status="active",
        assigned_object_type="dcim.interface",
        assigned_object_id=nic["id"],
    )

    result = await run_sync(client, graph.reader(), PUSH)
    assert result.conflicts == [
        "ip address fw-01 Ethernet1/1 192.0.2.0/31: NetBox has it on lab-host eth0; not moved "
        "(fix the address in NetBox or the device)"
    ]
    owner = [
        a
        for a in netbox.store.objects["ipam/ip-addresses"].values()
        if a["address"] == "192.0.2.0/31"
    ]
    assert [a["assigned_object_id"] for a in owner] == [nic["id"]]


async def test_refused_objects_are_reported_with_object_and_field(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    from support.netbox_graph import fixture_snapshot

    long_name = "edge-" + "x" * 70  # the graph allows 255 characters; NetBox allows 64

    snap = fixture_snapshot()
    device = snap.devices[2].model_copy(update={"hostname": long_name})
    bigger = snap.model_copy(
        update={
            "snapshot_id": "netbox-fixture-long",
            "scope": (*snap.scope, snap.scope[2].model_copy(update={"device": long_name})),
            "devices": (*snap.devices, device),
        }
    )
    await graph.engine.apply_snapshot(bigger)
    result = await run_sync(client, graph.reader(), PUSH)
    assert result.errors == [
        f"device {long_name}: name: Ensure this field has no more than 64 characters."
    ]
    assert names(netbox, "dcim/devices") == ["fw-01", "sw-acc-01", "sw-core-01"]
    netbox.violations.clear()  # the over-long name was sent on purpose


async def test_prune_deletes_only_what_the_sync_created(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    site = next(iter(netbox.store.objects["dcim/sites"].values()))
    dtype = next(iter(netbox.store.objects["dcim/device-types"].values()))
    role = next(iter(netbox.store.objects["dcim/device-roles"].values()))
    common = {"device_type": dtype["id"], "role": role["id"], "site": site["id"]}
    netbox.add("dcim/devices", name="gone-switch", tags=["meshoptixiq"], **common)
    netbox.add("dcim/devices", name="hand-made", tags=[], **common)

    kept = await run_sync(client, graph.reader(), PUSH)
    assert not kept.changed, "without --prune nothing is deleted"
    pruned = await run_sync(client, graph.reader(), SyncOptions("push", prune=True))
    assert [line for p in pruned.plans for line in p.lines()] == ["push delete device gone-switch"]
    assert names(netbox, "dcim/devices") == ["fw-01", "hand-made", "sw-acc-01", "sw-core-01"]
