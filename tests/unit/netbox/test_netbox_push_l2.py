"""Push, layer 2: LAG members, sub-interfaces' parents and VLANs (site VLANs, 802.1Q modes)."""

from __future__ import annotations

from typing import Any

from network_discovery.integrations.netbox import NetBoxClient, SyncOptions, run_sync
from network_discovery.model import Snapshot
from support.netbox_fake import FakeNetBox
from support.netbox_graph import device_kit

PUSH = SyncOptions("push")
DIST = "sw-dist-01"


def dist_snapshot(n: int, vlans: dict[int, str], interfaces: list[dict[str, Any]]) -> Snapshot:
    return Snapshot.model_validate(
        {
            "snapshot_id": f"l2-{n}",
            "source": "test",
            "collected_at": f"2026-03-01T09:0{n}:00Z",
            "scope": [{"device": DIST, "facts": ["device", "interfaces", "vlans"]}],
            "devices": [
                {"hostname": DIST, "vendor": "Arista", "platform": "arista_eos", "role": "core"}
            ],
            "interfaces": [{"device": DIST, **i} for i in interfaces],
            "vlans": [{"device": DIST, "vlan": v, "name": name} for v, name in vlans.items()],
        }
    )


INTERFACES: list[dict[str, Any]] = [
    {"name": "Port-Channel1", "mode": "trunk", "trunk_vlans": [10, 20, 30], "native_vlan": 30},
    {"name": "Ethernet1", "lag": "Port-Channel1", "speed_mbps": 10000},
    {"name": "Ethernet2", "lag": "Po1", "speed_mbps": 10000},
    {"name": "Ethernet3", "mode": "routed", "speed_mbps": 10000},
    {"name": "Ethernet3.100", "parent": "Ethernet3"},
    {"name": "Ethernet4", "mode": "access", "access_vlan": 20, "speed_mbps": 1000},
    {"name": "Ethernet5", "mode": "trunk", "speed_mbps": 1000},
]


def seed(netbox: FakeNetBox) -> dict[str, Any]:
    """The switch exists in NetBox at DC-East (not the graph's site), where VLAN 10 exists
    already; another site has a VLAN 20 the switch must not get."""
    kit = device_kit(netbox, "DC-East", "Arista", "7050", "Core")
    other = netbox.add("dcim/sites", name="Branch", slug="branch", status="active")
    users = netbox.add("ipam/vlans", site=kit["site"], vid=10, name="users-dc", status="active")
    netbox.add("ipam/vlans", site=other["id"], vid=20, name="branch-voice", status="active")
    netbox.add("dcim/devices", name=DIST, status="active", **kit)
    return {"site": kit["site"], "users": users["id"]}


def _by(netbox: FakeNetBox, collection: str, **match: Any) -> dict[str, Any]:
    found = netbox.store.find(collection, **match)
    assert len(found) == 1, (collection, match, found)
    return found[0]


async def test_lags_parents_and_vlans_then_nothing(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    refs = seed(netbox)
    await graph.engine.apply_snapshot(
        dist_snapshot(1, {10: "users", 20: "voice", 30: "servers"}, INTERFACES)
    )

    dry = await run_sync(client, graph.reader(), SyncOptions("push", dry_run=True))
    assert netbox.writes() == [], "a dry run writes nothing"
    first = await run_sync(client, graph.reader(), PUSH)
    assert first.errors == [] and first.conflicts == []
    assert [p.lines() for p in dry.plans] == [p.lines() for p in first.plans]

    site = refs["site"]
    dist = _by(netbox, "dcim/devices", name=DIST)
    vlans = {v["vid"]: v for v in netbox.store.find("ipam/vlans", site=site)}
    assert sorted(vlans) == [10, 20, 30]
    assert vlans[10]["id"] == refs["users"] and vlans[10]["name"] == "users-dc"
    assert "tags" not in vlans[10] or vlans[10]["tags"] == [], "found, not created: untagged"
    assert (vlans[20]["name"], vlans[20]["tags"]) == ("voice", ["meshoptixiq"])
    assert (vlans[30]["name"], vlans[30]["tags"]) == ("servers", ["meshoptixiq"])

    def iface(name: str) -> dict[str, Any]:
        return _by(netbox, "dcim/interfaces", device=dist["id"], name=name)

    po1 = iface("Port-channel1")
    assert (po1["type"], po1["mode"], po1["untagged_vlan"]) == ("lag", "tagged", vlans[30]["id"])
    assert sorted(po1["tagged_vlans"]) == sorted([vlans[10]["id"], vlans[20]["id"]])
    assert iface("Ethernet1")["lag"] == po1["id"] and iface("Ethernet2")["lag"] == po1["id"]
    sub = iface("Ethernet3.100")
    assert (sub["type"], sub["parent"]) == ("virtual", iface("Ethernet3")["id"])
    assert iface("Ethernet3").get("mode") is None, "routed: no 802.1Q mode"
    eth4 = iface("Ethernet4")
    assert (eth4["mode"], eth4["untagged_vlan"]) == ("access", vlans[20]["id"])
    assert iface("Ethernet5")["mode"] == "tagged-all"

    # what NetBox answers reads back as the same state: nothing to do, nothing written
    netbox.log.clear()
    second = await run_sync(client, graph.reader(), PUSH)
    assert not second.changed and second.summary() == [] and netbox.writes() == []


async def test_prune_removes_only_tagged_vlans_nothing_uses(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    refs = seed(netbox)
    await graph.engine.apply_snapshot(
        dist_snapshot(1, {10: "users", 20: "voice", 30: "servers"}, INTERFACES)
    )
    await run_sync(client, graph.reader(), PUSH)
    later = [  # VLAN 30 was Po1's native VLAN: the same run moves it to 40, then prunes 30
        {"name": "Port-Channel1", "mode": "trunk", "trunk_vlans": [20, 40], "native_vlan": 40},
        {"name": "Ethernet1", "lag": "Port-Channel1", "speed_mbps": 10000},
    ]
    await graph.engine.apply_snapshot(dist_snapshot(2, {20: "voice", 40: "backup"}, later))

    kept = await run_sync(client, graph.reader(), PUSH)
    assert not any(s.action == "delete" for p in kept.plans for s in p.steps if s.items)
    assert len(netbox.store.find("ipam/vlans", site=refs["site"])) == 4

    pruned = await run_sync(client, graph.reader(), SyncOptions("push", prune=True))
    assert pruned.errors == [] and pruned.conflicts == []
    deleted = [line for p in pruned.plans for line in p.lines() if " delete vlan " in line]
    assert deleted == ["push delete vlan servers"]
    left = sorted(v["vid"] for v in netbox.store.find("ipam/vlans", site=refs["site"]))
    assert left == [10, 20, 40], "VLAN 10 was NetBox's own: never pruned"
    po1 = next(
        i for i in netbox.store.objects["dcim/interfaces"].values() if i["name"] == "Port-channel1"
    )
    vlans = netbox.store.objects["ipam/vlans"]
    tagged = {vlans[v]["vid"] for v in po1["tagged_vlans"]}
    assert (po1["mode"], vlans[po1["untagged_vlan"]]["vid"], tagged) == ("tagged", 40, {20})


async def test_prune_keeps_a_tagged_vlan_another_interface_still_uses(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    refs = seed(netbox)
    await graph.engine.apply_snapshot(
        dist_snapshot(1, {10: "users", 20: "voice", 30: "servers"}, INTERFACES)
    )
    await run_sync(client, graph.reader(), PUSH)
    voice = _by(netbox, "ipam/vlans", site=refs["site"], vid=20)
    assert voice["tags"] == ["meshoptixiq"], "created by the push"
    # a device the graph does not know, whose trunk someone gave the pushed VLAN 20
    dist = _by(netbox, "dcim/devices", name=DIST)
    kit = {k: dist[k] for k in ("site", "device_type", "role")}
    lab = netbox.add("dcim/devices", name="lab-sw", status="active", **kit)
    uplink = netbox.add(
        "dcim/interfaces",
        device=lab["id"],
        name="Ethernet48",
        type="10gbase-x-sfpp",
        enabled=True,
        mode="tagged",
        tagged_vlans=[voice["id"]],
    )
    later = [  # no VLAN 20 or 30 any more; Po1's native VLAN 30 moves to 40 in the pruning run
        {"name": "Port-Channel1", "mode": "trunk", "trunk_vlans": [10, 40], "native_vlan": 40},
        {"name": "Ethernet1", "lag": "Port-Channel1", "speed_mbps": 10000},
    ]
    await graph.engine.apply_snapshot(dist_snapshot(2, {10: "users", 40: "backup"}, later))
    why = "vlan voice (20): kept, not pruned: still used by lab-sw Ethernet48"

    netbox.log.clear()
    dry = await run_sync(client, graph.reader(), SyncOptions("push", dry_run=True, prune=True))
    assert netbox.writes() == []
    assert any("vlan_id=" in query for _, _, query in netbox.log), "NetBox was asked"
    pruned = await run_sync(client, graph.reader(), SyncOptions("push", prune=True))
    assert pruned.errors == [] and pruned.conflicts == dry.conflicts == [why]
    assert [p.lines() for p in pruned.plans] == [p.lines() for p in dry.plans]
    deleted = [line for p in pruned.plans for line in p.lines() if " delete vlan " in line]
    assert deleted == ["push delete vlan servers"], "VLAN 30: tagged, unused after the run"
    left = sorted(v["vid"] for v in netbox.store.find("ipam/vlans", site=refs["site"]))
    assert left == [10, 20, 40]
    assert netbox.store.objects["dcim/interfaces"][uplink["id"]]["tagged_vlans"] == [voice["id"]]

    netbox.log.clear()
    again = await run_sync(client, graph.reader(), SyncOptions("push", prune=True))
    assert not again.changed and netbox.writes() == [] and again.conflicts == [why]

    # once nothing uses it any more, the next prune deletes it
    netbox.store.objects["dcim/interfaces"][uplink["id"]].update(mode=None, tagged_vlans=[])
    freed = await run_sync(client, graph.reader(), SyncOptions("push", prune=True))
    assert freed.conflicts == [] and [line for p in freed.plans for line in p.lines()] == [
        "push delete vlan voice"
    ]
    assert 20 not in {v["vid"] for v in netbox.store.find("ipam/vlans", site=refs["site"])}


async def test_impossible_memberships_are_conflicts_not_writes(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    seed(netbox)
    odd = [
        {"name": "Ethernet1", "speed_mbps": 1000},
        {"name": "Ethernet2", "parent": "Ethernet1", "speed_mbps": 1000},  # physical: no parent
        {"name": "Loopback0", "lag": "Port-Channel9"},  # virtual, and no such LAG
        {"name": "Ethernet3", "lag": "Port-Channel9", "speed_mbps": 1000},  # no such LAG
        {"name": "Ethernet4.7", "parent": "Ethernet9"},  # no such port
    ]
    await graph.engine.apply_snapshot(dist_snapshot(1, {}, odd))
    result = await run_sync(client, graph.reader(), PUSH)
    assert result.errors == []
    assert result.conflicts == [
        "interface sw-dist-01 Ethernet2: parent Ethernet1 not set: NetBox gives virtual "
        "interfaces alone a parent",
        "interface sw-dist-01 Ethernet3: LAG Port-channel9 not set: the device reports no such "
        "port",
        "interface sw-dist-01 Ethernet4.7: parent Ethernet9 not set: the device reports no such "
        "port",
        "interface sw-dist-01 Loopback0: LAG Port-channel9 not set: NetBox puts no virtual "
        "interface in a LAG",
    ]
    assert all(
        i.get("parent") is None and i.get("lag") is None
        for i in netbox.store.objects["dcim/interfaces"].values()
    )


async def test_netbox_refuses_what_it_refuses(netbox: FakeNetBox, client: NetBoxClient) -> None:
    """The fake holds NetBox's own interface rules, so a push that broke them would fail."""
    refs = seed(netbox)
    dist = _by(netbox, "dcim/devices", name=DIST)
    branch = _by(netbox, "dcim/sites", slug="branch")
    far = _by(netbox, "ipam/vlans", site=branch["id"])
    base = {"device": dist["id"], "type": "1000base-t"}
    phys = netbox.add("dcim/interfaces", name="Ethernet1", **base)
    result = await client.create(
        "dcim/interfaces",
        [
            {**base, "name": "Ethernet2", "parent": phys["id"]},
            {**base, "name": "Ethernet3", "mode": "access", "tagged_vlans": [refs["users"]]},
            {**base, "name": "Ethernet4", "mode": "access", "untagged_vlan": far["id"]},
            {**base, "name": "Ethernet5", "untagged_vlan": refs["users"]},
        ],
    )
    assert result.done == []
    assert {(e.field, e.messages) for e in result.errors} == {
        ("parent", ("Only virtual interfaces may be assigned to a parent interface.",)),
        ("tagged_vlans", ("Interface mode does not support tagged vlans",)),
        (
            "untagged_vlan",
            (
                "The untagged VLAN (branch-voice) must belong to the same site as the "
                "interface's parent device, or it must be global.",
            ),
        ),
        ("untagged_vlan", ("Interface mode does not support untagged vlan",)),
    }


def test_802_1q_mode_from_discovery() -> None:
    from network_discovery.integrations.netbox._push_l2 import wanted_vlans

    assert wanted_vlans({"mode": "access", "access_vlan": 10}, set()) == ("access", 10, [])
    assert wanted_vlans({"mode": "routed"}, {10}) == (None, None, [])
    assert wanted_vlans({"mode": "trunk"}, {10}) == ("tagged-all", None, [])
    trunk = {"mode": "trunk", "native_vlan": 30, "trunk_vlans": [30]}
    assert wanted_vlans(trunk, set()) == ("tagged", 30, []), "only the native VLAN allowed"
    every = {"mode": "trunk", "trunk_vlans": list(range(1, 4095))}
    assert wanted_vlans(every, {10}) == ("tagged-all", None, [])
    ranged = {"mode": "trunk", "trunk_vlans": list(range(1, 1001)), "native_vlan": 1}
    assert wanted_vlans(ranged, {1, 10, 20, 2000}) == ("tagged", 1, [10, 20])
    assert wanted_vlans({"mode": "trunk", "trunk_vlans": [20, 10, 20]}, set()) == (
        "tagged",
        None,
        [10, 20],
    )
