"""What a push may change: everything on what it created, empty fields only on what it found
unless ``--overwrite FIELD`` says so, a drift entry for every disagreement; copies of one MAC
it made twice collapse into one, the same one whatever order NetBox lists them in; the
service reports a run that left disagreements as ``conflicts``."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from meshq_netbox_sync.service import NetBoxSync
from meshq_netbox_sync.settings import Settings
from network_discovery.cli.main import cli
from network_discovery.contracts.envelope import EventBase
from network_discovery.integrations.netbox import NetBoxClient, SyncOptions, run_sync
from network_discovery.model import Snapshot
from support.netbox_fake import FakeNetBox
from support.netbox_graph import TOKEN, device_kit, serving

PUSH = SyncOptions("push")


def seed_core(netbox: FakeNetBox) -> dict[str, Any]:
    """sw-core-01 as an administrator entered it: its own serial, description and MTU."""
    kit = device_kit(netbox, "HQ", "Arista", "7050X3", "Spine")
    core = netbox.add(
        "dcim/devices", name="sw-core-01", serial="ADMIN-SN", status="active", tags=[], **kit
    )
    eth1 = netbox.add(
        "dcim/interfaces",
        device=core["id"],
        name="Ethernet1",
        type="10gbase-x-sfpp",
        description="to sw-acc-01 (patch 12)",
        mtu=1500,
        enabled=True,
        tags=[],
    )
    mgmt = netbox.add(
        "dcim/interfaces",
        device=core["id"],
        name="Management1",
        type="1000base-t",
        enabled=True,
        tags=[],
    )
    return {"core": core, "eth1": eth1, "mgmt": mgmt}


async def test_fill_only_by_default_then_overwrite_what_is_named(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    ids = seed_core(netbox)
    dry = await run_sync(client, graph.reader(), SyncOptions("push", dry_run=True))
    result = await run_sync(client, graph.reader(), PUSH)
    assert result.errors == [] and result.conflicts == []
    assert (
        dry.drift
        == result.drift
        == [
            "device sw-core-01: serial: NetBox has 'ADMIN-SN', discovery 'JPE19110001'; NetBox's "
            "kept (--overwrite serial replaces it)",
            "interface sw-core-01 Ethernet1: description: NetBox has 'to sw-acc-01 (patch 12)', "
            "discovery 'sw-acc-01 uplink'; NetBox's kept (--overwrite description replaces it)",
            "interface sw-core-01 Ethernet1: mtu: NetBox has 1500, discovery 9214; NetBox's kept "
            "(--overwrite mtu replaces it)",
        ]
    )
    assert result.outcome == "conflicts"
    store = netbox.store.objects
    core, eth1 = (
        store["dcim/devices"][ids["core"]["id"]],
        store["dcim/interfaces"][ids["eth1"]["id"]],
    )
    assert core["serial"] == "ADMIN-SN"
    assert (eth1["description"], eth1["mtu"]) == ("to sw-acc-01 (patch 12)", 1500)
    assert eth1["speed"] == 10_000_000, "an empty field is filled"
    mgmt = store["dcim/interfaces"][ids["mgmt"]["id"]]
    assert mgmt["description"] == "oob" and mgmt["tags"] == [], "filled, still the admin's"

    again = await run_sync(client, graph.reader(), PUSH)
    assert not again.changed and again.drift == result.drift, "the same drift, nothing written"

    netbox.log.clear()
    over = await run_sync(
        client, graph.reader(), SyncOptions("push", overwrite=("serial", "description", "mtu"))
    )
    assert over.errors == [] and over.outcome == "ok"
    assert all(d.endswith("overwritten (--overwrite)") for d in over.drift)
    assert [line for p in over.plans for line in p.lines()] == [
        "push update device sw-core-01 (serial: 'ADMIN-SN' -> 'JPE19110001')",
        "push update interface sw-core-01 Ethernet1 (description: 'to sw-acc-01 (patch 12)' -> "
        "'sw-acc-01 uplink', mtu: 1500 -> 9214)",
    ]
    core, eth1 = (
        store["dcim/devices"][ids["core"]["id"]],
        store["dcim/interfaces"][ids["eth1"]["id"]],
    )
    assert (core["serial"], eth1["description"], eth1["mtu"]) == (
        "JPE19110001",
        "sw-acc-01 uplink",
        9214,
    )
    settled = await run_sync(client, graph.reader(), PUSH)
    assert not settled.changed and settled.drift == [] and settled.outcome == "ok"


async def test_objects_the_push_created_follow_discovery(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    eth1 = next(
        i for i in netbox.store.objects["dcim/interfaces"].values() if i["name"] == "Ethernet1"
    )
    eth1.update(description="edited in NetBox", mtu=1500)
    result = await run_sync(client, graph.reader(), PUSH)
    assert result.drift == [] and result.outcome == "ok"
    eth1 = netbox.store.objects["dcim/interfaces"][eth1["id"]]
    assert (eth1["description"], eth1["mtu"]) == ("sw-acc-01 uplink", 9214)


def test_overwrite_is_a_repeatable_option_of_known_fields() -> None:
    bad = CliRunner().invoke(
        cli, ["sync", "--target", "netbox", "--direction", "push", "--overwrite", "name"]
    )
    assert bad.exit_code == 2 and "'name' is not one of" in bad.output
    with pytest.raises(ValueError, match="cannot overwrite site"):
        SyncOptions("push", overwrite=("serial", "site"))
    timeout = CliRunner().invoke(
        cli,
        ["sync", "--target", "netbox", "--overwrite", "serial", "--overwrite", "mtu"],
        env={"NETBOX_URL": "http://127.0.0.1:9", "NETBOX_TOKEN": "t", "NETBOX_TIMEOUT": "soon"},
    )
    assert timeout.exit_code == 1
    assert "NETBOX_TIMEOUT must be a number of seconds above 0, not 'soon'" in timeout.stderr


async def test_a_repush_over_duplicate_macs_is_stable_and_collapses_ours(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    store = netbox.store.objects
    eth1 = next(i for i in store["dcim/interfaces"].values() if i["name"] == "Ethernet1")
    mac = store["dcim/mac-addresses"][eth1["primary_mac_address"]]
    # what an older release left: six more copies of the MAC, one of them made primary
    made = [
        netbox.add(
            "dcim/mac-addresses",
            mac_address=mac["mac_address"],
            assigned_object_type="dcim.interface",
            assigned_object_id=eth1["id"],
            tags=["meshoptixiq"],
        )
        for _ in range(6)
    ]
    eth1["primary_mac_address"] = made[2]["id"]
    # and one an administrator added by hand: never ours to delete
    admin = netbox.add(
        "dcim/mac-addresses",
        mac_address=mac["mac_address"],
        assigned_object_type="dcim.interface",
        assigned_object_id=eth1["id"],
        tags=[],
    )
    netbox.reverse.add("dcim/mac-addresses")  # NetBox lists copies in no fixed order
    dry = await run_sync(client, graph.reader(), SyncOptions("push", dry_run=True))
    netbox.reverse.clear()
    result = await run_sync(client, graph.reader(), PUSH)
    assert [p.lines() for p in dry.plans] == [p.lines() for p in result.plans]
    assert result.errors == [] and result.drift == []
    lines = [line for p in result.plans for line in p.lines()]
    assert len(lines) == 6 and all(
        line.startswith("push delete duplicate mac address sw-core-01 Ethernet1 44:4C:A8:00:00:01")
        and line.endswith(f"a copy of #{made[2]['id']})")
        for line in lines
    )
    eth1 = store["dcim/interfaces"][eth1["id"]]
    assert eth1["primary_mac_address"] == made[2]["id"], "the one in use stays primary"
    left = sorted(
        m["id"]
        for m in store["dcim/mac-addresses"].values()
        if m["assigned_object_id"] == eth1["id"]
    )
    assert left == sorted([made[2]["id"], admin["id"]])

    for order in (set(), {"dcim/mac-addresses"}):
        netbox.reverse = order
        netbox.log.clear()
        again = await run_sync(client, graph.reader(), PUSH)
        assert not again.changed and netbox.writes() == [], "no flip between copies"


async def test_without_the_primary_among_the_copies_the_admins_copy_is_kept(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    await run_sync(client, graph.reader(), PUSH)
    store = netbox.store.objects
    eth1 = next(i for i in store["dcim/interfaces"].values() if i["name"] == "Ethernet1")
    ours = eth1["primary_mac_address"]
    admin = netbox.add(
        "dcim/mac-addresses",
        mac_address=store["dcim/mac-addresses"][ours]["mac_address"],
        assigned_object_type="dcim.interface",
        assigned_object_id=eth1["id"],
        tags=[],
    )
    eth1["primary_mac_address"] = None
    result = await run_sync(client, graph.reader(), PUSH)
    assert [line for p in result.plans for line in p.lines()] == [
        "push update interface primary MAC sw-core-01 Ethernet1 "
        "(primary_mac_address: None -> '44:4C:A8:00:00:01')",
        f"push delete duplicate mac address sw-core-01 Ethernet1 44:4C:A8:00:00:01 (#{ours}, "
        f"a copy of #{admin['id']})",
    ]
    eth1 = store["dcim/interfaces"][eth1["id"]]
    assert eth1["primary_mac_address"] == admin["id"] and ours not in store["dcim/mac-addresses"]
    assert not (await run_sync(client, graph.reader(), PUSH)).changed


async def _never(event: EventBase) -> None:
    raise AssertionError(f"a push publishes nothing, got {event.type}")


async def test_the_services_automatic_push_reports_conflicts(
    graph, netbox: FakeNetBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_core(netbox)
    async with serving(graph.app()) as graph_url:
        env = {
            "NETBOX_URL": netbox.base_url,
            "NETBOX_TOKEN": TOKEN,
            "NETBOX_SYNC_DIRECTION": "push",
            "NETBOX_TIMEOUT": "20",
            "MESHQ_GRAPH_ENGINE_URL": graph_url,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("NETBOX_SYNC_OVERWRITE", raising=False)
        sync = NetBoxSync(Settings(), allows=lambda _: True, publish=_never)
        record = await sync.run(trigger="topology changed")
        assert (record.outcome, record.errors) == ("conflicts", []), record.detail
        assert [d.split(":")[0] for d in record.drift] == [
            "device sw-core-01",
            "interface sw-core-01 Ethernet1",
            "interface sw-core-01 Ethernet1",
        ]

        monkeypatch.setenv("NETBOX_SYNC_OVERWRITE", "serial, description,mtu")
        settings = Settings()
        assert settings.overwrite_fields == ("serial", "description", "mtu")
        resolved = await NetBoxSync(settings, allows=lambda _: True, publish=_never).run()
        assert resolved.outcome == "ok" and len(resolved.drift) == 3
        monkeypatch.setenv("NETBOX_SYNC_OVERWRITE", "serial,site")
        with pytest.raises(ValueError, match="unknown field"):
            Settings()


async def test_a_found_interfaces_mode_and_vlans_are_filled_not_replaced(
    graph, netbox: FakeNetBox, client: NetBoxClient
) -> None:
    kit = device_kit(netbox, "DC-East", "Arista", "7050", "Core")
    dist = netbox.add("dcim/devices", name="sw-dist-01", status="active", tags=[], **kit)
    users = netbox.add("ipam/vlans", site=kit["site"], vid=10, name="users", status="active")
    base = {"device": dist["id"], "type": "1000base-t", "enabled": True, "tags": []}
    eth1 = netbox.add(
        "dcim/interfaces", name="Ethernet1", mode="access", untagged_vlan=users["id"], **base
    )
    eth2 = netbox.add("dcim/interfaces", name="Ethernet2", **base)
    await graph.engine.apply_snapshot(
        Snapshot.model_validate(
            {
                "snapshot_id": "l2-owned",
                "source": "test",
                "collected_at": "2026-03-01T09:00:00Z",
                "scope": [{"device": "sw-dist-01", "facts": ["device", "interfaces", "vlans"]}],
                "devices": [{"hostname": "sw-dist-01", "vendor": "Arista", "role": "core"}],
                "interfaces": [
                    {
                        "device": "sw-dist-01",
                        "name": "Ethernet1",
                        "mode": "trunk",
                        "trunk_vlans": [10, 20],
                        "native_vlan": 30,
                    },
                    {
                        "device": "sw-dist-01",
                        "name": "Ethernet2",
                        "mode": "access",
                        "access_vlan": 10,
                    },
                ],
                "vlans": [
                    {"device": "sw-dist-01", "vlan": v, "name": n}
                    for v, n in ((10, "users"), (20, "voice"), (30, "servers"))
                ],
            }
        )
    )
    result = await run_sync(client, graph.reader(), PUSH)
    assert result.errors == [] and result.conflicts == []
    assert result.drift == [
        "interface sw-dist-01 Ethernet1: mode: NetBox has 'access', discovery 'tagged'; NetBox's "
        "kept (--overwrite mode replaces it)",
        "interface sw-dist-01 Ethernet1: untagged_vlan: NetBox has 10, discovery 30; NetBox's "
        "kept (--overwrite mode --overwrite untagged_vlan replaces it)",
        "interface sw-dist-01 Ethernet1: tagged_vlans: NetBox has [], discovery [10, 20]; "
        "NetBox's kept (--overwrite mode replaces it)",
    ]
    store = netbox.store.objects["dcim/interfaces"]
    assert (store[eth1["id"]]["mode"], store[eth1["id"]]["untagged_vlan"]) == (
        "access",
        users["id"],
    )
    assert (store[eth2["id"]]["mode"], store[eth2["id"]]["untagged_vlan"]) == (
        "access",
        users["id"],
    )

    everything = ("mode", "untagged_vlan", "tagged_vlans")
    over = await run_sync(client, graph.reader(), SyncOptions("push", overwrite=everything))
    assert over.errors == [] and over.outcome == "ok"
    vlans = {v["id"]: v["vid"] for v in netbox.store.objects["ipam/vlans"].values()}
    now = store[eth1["id"]]
    assert (now["mode"], vlans[now["untagged_vlan"]]) == ("tagged", 30)
    assert sorted(vlans[v] for v in now["tagged_vlans"]) == [10, 20]
    assert not (await run_sync(client, graph.reader(), PUSH)).changed
