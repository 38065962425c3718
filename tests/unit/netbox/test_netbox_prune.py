"""Prune deletes only what the sync created, neither directly nor by NetBox's cascades (an
interface takes its IP and MAC addresses with it): what others made is unassigned first, or
the object that would take it stays, as a conflict; a dry run lists every object that will
disappear."""

from __future__ import annotations

from typing import Any

from network_discovery.integrations.netbox import NetBoxClient, SyncOptions, run_sync
from network_discovery.integrations.netbox.sync import SyncResult
from support.netbox_fake import FakeNetBox
from support.netbox_graph import fixture_snapshot

PUSH = SyncOptions("push")
PRUNE = SyncOptions("push", prune=True)
DRY_PRUNE = SyncOptions("push", prune=True, dry_run=True)


def _one(netbox: FakeNetBox, collection: str, **match: Any) -> dict[str, Any]:
    found = netbox.store.find(collection, **match)
    assert len(found) == 1, (collection, match, found)
    return found[0]


def _lines(result: SyncResult) -> list[str]:
    return [line for p in result.plans for line in p.lines()]


def _listed(result: SyncResult) -> set[tuple[str, int]]:
    """The objects a plan deletes, as (collection, id)."""
    return {
        (s.endpoint, int(i.id))
        for p in result.plans
        for s in p.steps
        if s.action == "delete"
        for i in s.items
        if i.id is not None
    }


def _gone(before: dict[str, dict[int, Any]], netbox: FakeNetBox) -> set[tuple[str, int]]:
    after = netbox.store.objects
    return {(c, oid) for c, objs in before.items() for oid in objs if oid not in after[c]}


async def _discovery_drops(graph: Any, device: str, interface: str) -> None:
    """A later snapshot in which ``device`` no longer reports ``interface``."""
    snap = fixture_snapshot()
    await graph.engine.apply_snapshot(
        snap.model_copy(
            update={
                "snapshot_id": f"netbox-fixture-no-{interface}",
                "interfaces": tuple(
                    i for i in snap.interfaces if (i.device, i.name) != (device, interface)
                ),
                "ip_addresses": tuple(
                    a for a in snap.ip_addresses if (a.device, a.interface) != (device, interface)
                ),
                "neighbors": tuple(
                    n for n in snap.neighbors if (n.device, n.interface) != (device, interface)
                ),
            }
        )
    )


async def test_prune_unassigns_what_others_put_on_our_interface_and_never_deletes_it(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    core = _one(netbox, "dcim/devices", name="sw-core-01")
    eth2 = _one(netbox, "dcim/interfaces", device=core["id"], name="Ethernet2")
    # an administrator's IPAM record and MAC on the interface the sync created
    ipam = netbox.add(
        "ipam/ip-addresses",
        address="198.51.100.7/24",
        status="active",
        assigned_object_type="dcim.interface",
        assigned_object_id=eth2["id"],
        tags=[],
    )
    hand_mac = netbox.add(
        "dcim/mac-addresses",
        mac_address="02:00:00:00:00:99",
        assigned_object_type="dcim.interface",
        assigned_object_id=eth2["id"],
        tags=[],
    )
    netbox.store.objects["dcim/interfaces"][eth2["id"]]["primary_mac_address"] = hand_mac["id"]
    await _discovery_drops(graph, "sw-core-01", "Ethernet2")

    before = netbox.store.dump()
    netbox.log.clear()
    dry = await run_sync(client, graph.reader(), DRY_PRUNE)
    assert netbox.writes() == [] and netbox.store.dump() == before
    assert _lines(dry) == [
        "push update interface primary MAC sw-core-01 Ethernet2 "
        "(primary_mac_address: '02:00:00:00:00:99' -> None)",
        "push unassign ip address sw-core-01 Ethernet2 198.51.100.7/24 "
        "(assigned_object: 'sw-core-01 Ethernet2' -> None)",
        "push unassign mac address sw-core-01 Ethernet2 02:00:00:00:00:99 "
        "(assigned_object: 'sw-core-01 Ethernet2' -> None)",
        "push delete ip address sw-core-01 Ethernet2 192.0.2.1/31",
        "push delete mac address sw-core-01 Ethernet2 44:4C:A8:00:00:02",
        "push delete interface sw-core-01 Ethernet2",
    ]
    pruned = await run_sync(client, graph.reader(), PRUNE)
    assert pruned.errors == [] and pruned.conflicts == []
    assert _lines(pruned) == _lines(dry)
    assert _gone(before, netbox) == _listed(dry), "the dry run listed every object that went"
    kept = netbox.store.objects
    assert kept["ipam/ip-addresses"][ipam["id"]]["assigned_object_id"] is None
    assert kept["dcim/mac-addresses"][hand_mac["id"]]["assigned_object_id"] is None
    assert not (await run_sync(client, graph.reader(), PRUNE)).changed


async def test_an_interface_that_would_take_others_objects_with_it_is_kept(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    core = _one(netbox, "dcim/devices", name="sw-core-01")
    fw = _one(netbox, "dcim/devices", name="fw-01")
    eth1 = _one(netbox, "dcim/interfaces", device=core["id"], name="Ethernet1")
    eth2 = _one(netbox, "dcim/interfaces", device=core["id"], name="Ethernet2")
    outside = next(
        i for i in netbox.store.find("dcim/interfaces", device=fw["id"]) if i["name"] != "mgmt"
    )
    # a cable an administrator declared on Ethernet2; a sub-interface of theirs under Ethernet1
    cable = netbox.add(
        "dcim/cables",
        a_terminations=[{"object_type": "dcim.interface", "object_id": eth2["id"]}],
        b_terminations=[{"object_type": "dcim.interface", "object_id": outside["id"]}],
        status="connected",
    )
    sub = netbox.add(
        "dcim/interfaces",
        device=core["id"],
        name="Ethernet1.200",
        type="virtual",
        parent=eth1["id"],
        enabled=True,
        tags=[],
    )
    snap = fixture_snapshot()
    await graph.engine.apply_snapshot(
        snap.model_copy(
            update={
                "snapshot_id": "netbox-fixture-core-trimmed",
                "interfaces": tuple(
                    i for i in snap.interfaces if i.name not in ("Ethernet1", "Ethernet2")
                ),
                "ip_addresses": tuple(a for a in snap.ip_addresses if a.interface != "Ethernet2"),
                "neighbors": (),
            }
        )
    )
    before = netbox.store.dump()
    dry = await run_sync(client, graph.reader(), DRY_PRUNE)
    pruned = await run_sync(client, graph.reader(), PRUNE)
    assert pruned.errors == [] and _lines(pruned) == _lines(dry)
    assert (
        pruned.conflicts
        == dry.conflicts
        == [
            "interface sw-core-01 Ethernet1: kept, not pruned: sub-interface Ethernet1.200 stays",
            f"interface sw-core-01 Ethernet2: kept, not pruned: cable #{cable['id']} ends on it",
        ]
    )
    assert _gone(before, netbox) == _listed(dry)
    assert {eth1["id"], eth2["id"], sub["id"]} <= set(netbox.store.objects["dcim/interfaces"])
    assert cable["id"] in netbox.store.objects["dcim/cables"]
    assert [line for line in _lines(pruned) if " delete " in line] == [
        "push delete ip address sw-core-01 Ethernet2 192.0.2.1/31",
        "push delete mac address sw-core-01 Ethernet1 44:4C:A8:00:00:01",
        "push delete mac address sw-core-01 Ethernet2 44:4C:A8:00:00:02",
    ], "the sync's own addresses and MACs discovery lost still go"


async def test_someone_elses_primary_ip_keeps_our_interface(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    """fw-01 is the administrator's device; an interface the sync once created on it holds the
    administrator's primary IP, which NetBox will not unassign and would delete with it."""
    await run_sync(client, graph.reader(), PUSH)
    fw = _one(netbox, "dcim/devices", name="fw-01")
    fw["tags"] = []  # as if an administrator had entered it
    old = netbox.add(
        "dcim/interfaces",
        device=fw["id"],
        name="ethernet1/9",
        type="other",
        enabled=True,
        tags=["meshoptixiq"],
    )
    theirs = netbox.add(
        "ipam/ip-addresses",
        address="203.0.113.9/32",
        status="active",
        assigned_object_type="dcim.interface",
        assigned_object_id=old["id"],
        tags=[],
    )
    fw["primary_ip4"] = theirs["id"]
    before = netbox.store.dump()
    pruned = await run_sync(client, graph.reader(), PRUNE)
    assert pruned.errors == [] and _gone(before, netbox) == set()
    assert pruned.conflicts == [
        "interface fw-01 ethernet1/9: kept, not pruned: 203.0.113.9/32 on it, not created by "
        "the sync, is fw-01's primary IP"
    ]
    assert pruned.drift == [
        "device fw-01: primary_ip4: NetBox has '203.0.113.9/32', discovery '10.0.0.3/24'; "
        "NetBox's kept (--overwrite primary_ip4 replaces it)"
    ]

    # once the sync may re-point the primary IP, the same run frees and prunes the interface
    freed = await run_sync(
        client, graph.reader(), SyncOptions("push", prune=True, overwrite=("primary_ip4",))
    )
    assert freed.errors == [] and freed.conflicts == []
    assert netbox.store.objects["ipam/ip-addresses"][theirs["id"]]["assigned_object_id"] is None
    assert old["id"] not in netbox.store.objects["dcim/interfaces"]


async def test_a_device_goes_with_its_own_objects_only(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    core = _one(netbox, "dcim/devices", name="sw-core-01")
    common = {k: core[k] for k in ("site", "device_type", "role")}
    ours = {"tags": ["meshoptixiq"]}

    def device(name: str, **extra: Any) -> dict[str, Any]:
        return netbox.add("dcim/devices", name=name, status="active", **common, **ours, **extra)

    def iface(dev: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
        kind = "virtual" if "." in name else "1000base-t"
        return netbox.add(
            "dcim/interfaces", device=dev["id"], name=name, type=kind, enabled=True, **extra
        )

    gone = device("gone-switch")
    port = iface(gone, "Ethernet1", **ours)
    vlan10 = iface(gone, "Ethernet1.10", parent=port["id"], **ours)
    mac = netbox.add(
        "dcim/mac-addresses",
        mac_address="02:00:00:00:01:01",
        assigned_object_type="dcim.interface",
        assigned_object_id=port["id"],
        **ours,
    )
    netbox.store.objects["dcim/interfaces"][port["id"]]["primary_mac_address"] = mac["id"]
    mine = netbox.add(
        "ipam/ip-addresses",
        address="10.9.0.1/24",
        status="active",
        assigned_object_type="dcim.interface",
        assigned_object_id=vlan10["id"],
        **ours,
    )
    record = netbox.add(
        "ipam/ip-addresses",
        address="10.9.0.2/24",
        status="active",
        assigned_object_type="dcim.interface",
        assigned_object_id=port["id"],
        tags=[],
    )
    consoled = device("gone-console", console_port_count=1)
    iface(consoled, "Ethernet1", **ours)
    handmade = device("gone-handmade")
    iface(handmade, "Ethernet1", tags=[])

    before = netbox.store.dump()
    dry = await run_sync(client, graph.reader(), DRY_PRUNE)
    assert _lines(dry) == [
        "push unassign ip address gone-switch Ethernet1 10.9.0.2/24 "
        "(assigned_object: 'gone-switch Ethernet1' -> None)",
        "push delete ip address gone-switch Ethernet1.10 10.9.0.1/24",
        "push delete mac address gone-switch Ethernet1 02:00:00:00:01:01",
        "push delete interface gone-switch Ethernet1",
        "push delete interface gone-switch Ethernet1.10",
        "push delete device gone-switch",
    ]
    assert dry.conflicts == [
        "device gone-console: kept, not pruned: 1 console port(s) the sync did not create",
        "device gone-handmade: kept, not pruned: interface Ethernet1 was not created by the sync",
    ]
    pruned = await run_sync(client, graph.reader(), PRUNE)
    assert pruned.errors == [], "the sub-interface went first: NetBox refuses the parent before"
    assert _lines(pruned) == _lines(dry) and pruned.conflicts == dry.conflicts
    assert (
        _gone(before, netbox)
        == _listed(dry)
        == {
            ("ipam/ip-addresses", mine["id"]),
            ("dcim/mac-addresses", mac["id"]),
            ("dcim/interfaces", port["id"]),
            ("dcim/interfaces", vlan10["id"]),
            ("dcim/devices", gone["id"]),
        }
    )
    assert netbox.store.objects["ipam/ip-addresses"][record["id"]]["assigned_object_id"] is None
    assert {consoled["id"], handmade["id"]} <= set(netbox.store.objects["dcim/devices"])


async def test_netbox_deletes_an_interfaces_addresses_with_it(
    netbox: FakeNetBox, client: NetBoxClient
) -> None:
    """The fake does what NetBox 4.2 does, which is why prune must unassign first."""
    site = netbox.add("dcim/sites", name="Lab", slug="lab", status="active")
    maker = netbox.add("dcim/manufacturers", name="Acme", slug="acme")
    dtype = netbox.add("dcim/device-types", manufacturer=maker["id"], model="X", slug="x")
    role = netbox.add("dcim/device-roles", name="Lab", slug="lab")
    dev = netbox.add(
        "dcim/devices", name="lab", site=site["id"], device_type=dtype["id"], role=role["id"]
    )
    parent = netbox.add("dcim/interfaces", device=dev["id"], name="eth0", type="other")
    child = netbox.add(
        "dcim/interfaces", device=dev["id"], name="eth0.5", type="virtual", parent=parent["id"]
    )
    ip = netbox.add(
        "ipam/ip-addresses",
        address="192.0.2.5/24",
        assigned_object_type="dcim.interface",
        assigned_object_id=child["id"],
    )
    dev["primary_ip4"] = ip["id"]
    netbox.add(
        "dcim/mac-addresses",
        mac_address="02:00:00:00:00:05",
        assigned_object_type="dcim.interface",
        assigned_object_id=child["id"],
    )
    from network_discovery.integrations.netbox import NetBoxError

    try:
        await client.delete("dcim/interfaces", [parent["id"], child["id"]])
    except NetBoxError as exc:
        assert "409" in str(exc) and "dependent objects" in str(exc)
    else:
        raise AssertionError("NetBox refuses a parent interface before its sub-interface")
    assert len(netbox.store.objects["dcim/interfaces"]) == 2, "nothing of the request was done"
    await client.delete("dcim/interfaces", [child["id"]])
    assert netbox.store.objects["ipam/ip-addresses"] == {}
    assert netbox.store.objects["dcim/mac-addresses"] == {}
    assert netbox.store.objects["dcim/devices"][dev["id"]]["primary_ip4"] is None
