"""The answers kept at ingest (``meshq_graph_engine.answers``) against counting live.

On the synthetic campus of ``bench/synth.py``, seeded with what the plain campus lacks (several
sites, duplicated addresses between endpoints, interfaces and VRFs, anycast gateways, endpoint
addresses outside every subnet, IPv6, ARP-only endpoints), every query that reads the IP index
or summary_stats' counters gives the answer it gives while they are not ready (the live count
it always made), for many parameters: after the first load, after changes that move, remove
and add endpoints and addresses and drop a subnet, after a metadata patch moves a device to
another site, and after a start that finds the answers missing. The queries rewritten as
property tests give the answer of the Cypher they replace.
"""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from meshq_graph_engine import answers
from meshq_graph_engine.answers import ip_index
from meshq_graph_engine.answers.state import read_state, write_state
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.catalogue.endpoints import ENDPOINT_COLUMNS
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import MetadataPatch, Snapshot

NAMES = (ip_index.NAME, answers.unlocated.NAME, answers.summary.NAME)
SYNTH = Path(__file__).resolve().parents[3] / "bench" / "synth.py"
DEVICES = 30


@cache
def _synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_synth_answers", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _seeded() -> tuple[Any, dict[str, Any]]:
    """The synthetic campus, with what tests the answers added to its data."""
    net = _synth().generate(DEVICES)
    data = copy.deepcopy(net.data)
    access = net.access
    # sites: a few access switches elsewhere, one with no site at all
    for device in data["devices"]:
        name = device["hostname"]
        if name in access[:5]:
            device["site"] = "branch"
        elif name == access[5]:
            device["site"] = None
    gateway = data["arp"][0]["device"]
    extra_arp = [
        # ARP-only endpoints: unlocated, with addresses no subnet covers (orphans)
        {"device": gateway, "interface": "Vlan100", "ip": "192.0.2.10", "mac": "02:00:00:00:01:01"},
        {"device": gateway, "interface": "Vlan100", "ip": "192.0.2.11", "mac": "02:00:00:00:01:02"},
        # the same address on two MACs: a duplicate between endpoints, and another orphan
        {
            "device": gateway,
            "interface": "Vlan100",
            "ip": "198.51.100.7",
            "mac": "02:00:00:00:01:03",
        },
        {
            "device": gateway,
            "interface": "Vlan101",
            "ip": "198.51.100.7",
            "mac": "02:00:00:00:01:04",
        },
        # IPv6 next to an IPv4 address of a located endpoint
        {"device": gateway, "interface": "Vlan100", "ip": "2001:db8:1::10", "mac": net.macs[3]},
        # an endpoint using the address a switch has on its management SVI
        {"device": gateway, "interface": "Vlan100", "ip": "10.0.1.4", "mac": net.macs[7]},
    ]
    data["arp"] = data["arp"] + extra_arp
    # an endpoint declared on a switch without its port: at the switch's site, unlocated
    for entry in data["scope"]:
        if entry["device"] == access[3]:
            entry["facts"] = [*entry["facts"], "endpoints"]
    data["endpoints"] = [
        {"mac": "02:00:00:00:03:01", "ips": ["192.0.2.99"], "device": access[3], "vlan": 100}
    ]
    iface = data["interfaces"]
    extra_addresses = [
        # one address on two switches (default VRF): a duplicate between interfaces
        ("dist-000-1", "Loopback0", "10.255.0.1/32", None, False),
        ("dist-000-2", "Loopback0", "10.255.0.1/32", None, False),
        # the same address in another VRF, on a third switch: a VRF of its own
        ("core-01", "Loopback7", "10.255.0.1/32", "blue", False),
        # an anycast gateway on two leaves: shared by design, never a duplicate
        ("dist-000-1", "Vlan900", "10.90.0.1/24", None, True),
        ("dist-000-2", "Vlan900", "10.90.0.1/24", None, True),
        # IPv6 on a gateway
        ("dist-000-1", "Vlan100", "2001:db8:1::1/64", None, False),
    ]
    for device, name, address, vrf, virtual in extra_addresses:
        if not any(i["device"] == device and i["name"] == name for i in iface):
            iface.append(
                {
                    "device": device,
                    "name": name,
                    "admin_status": "up",
                    "oper_status": "up",
                    "mode": "routed",
                }
            )
        data["ip_addresses"].append(
            {
                "device": device,
                "interface": name,
                "address": address,
                "vrf": vrf,
                "virtual": virtual,
            }
        )
    return net, data


def _changed(data: dict[str, Any], net: Any) -> dict[str, Any]:
    """A later collection of some switches and a gateway: endpoints gone, moved and new, an
    address moved between switches, the management subnet of one switch gone."""
    chosen = set(net.access[:8]) | {"dist-000-1", "dist-000-2"}
    when = datetime.fromisoformat(data["collected_at"]) + timedelta(hours=1)

    def mine(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [dict(x) for x in items if x["device"] in chosen]

    mac_table = [m for n, m in enumerate(mine(data["mac_table"])) if n % 4]  # a quarter gone
    arp = mine(data["arp"])
    for n, entry in enumerate(arp):
        if n % 5 == 0:  # an endpoint now uses another address
            entry["ip"] = str(ipaddress.ip_address(entry["ip"]) + 200)
    arp.append(
        {
            "device": "dist-000-1",
            "interface": "Vlan100",
            "ip": "203.0.113.9",
            "mac": "02:00:00:00:02:01",
        }
    )
    gone = ipaddress.ip_network(net.subnets[2])  # no address left in it: its endpoints orphaned
    addresses = [
        a
        for a in mine(data["ip_addresses"])
        if ipaddress.ip_interface(a["address"]).network != gone
    ]
    addresses = [a for a in addresses if a["address"] != "10.255.0.1/32"]  # the duplicate moves
    addresses.append(
        {"device": net.access[0], "interface": "Loopback0", "address": "10.255.0.1/32"}
    )
    # new subnets, covering addresses that were orphaned: one in the address's own bucket,
    # one wider than a bucket, reaching an address in another
    addresses.append({"device": net.access[0], "interface": "Loopback0", "address": "192.0.2.1/24"})
    addresses.append(
        {"device": net.access[1], "interface": "Loopback0", "address": "198.51.0.1/16"}
    )
    interfaces = mine(data["interfaces"]) + [
        {
            "device": d,
            "name": "Loopback0",
            "admin_status": "up",
            "oper_status": "up",
            "mode": "routed",
        }
        for d in net.access[:2]
    ]
    kinds = ["device", "interfaces", "ip_addresses", "lldp", "mac_table", "arp", "vlans"]
    return {
        "snapshot_id": "answers-changed",
        "source": "test",
        "collected_at": when.isoformat(),
        "scope": [{"device": d, "facts": kinds} for d in sorted(chosen)],
        "devices": [d for d in data["devices"] if d["hostname"] in chosen],
        "interfaces": interfaces,
        "ip_addresses": addresses,
        "neighbors": mine(data["neighbors"]),
        "mac_table": mac_table,
        "arp": arp,
        "vlans": mine(data["vlans"]),
    }


def _param_sets(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    ips = [*sorted({a["ip"] for a in data["arp"]}), "10.255.0.1", "10.90.0.1", "10.0.1.4"]
    subnets = sorted(
        {str(ipaddress.ip_interface(a["address"]).network) for a in data["ip_addresses"]}
    )
    cidrs = [
        *subnets,
        "10.0.0.0/16",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "192.0.2.0/24",
        "198.51.100.0/25",
        "2001:db8::/32",
        "2001:db8:1::/64",
    ]
    return {
        "duplicate_ip_addresses": [{}, {"vrf": "default"}, {"vrf": "blue"}],
        "ips_in_subnet": [{"cidr": c} for c in cidrs]
        + [{"cidr": "10.255.0.0/24", "vrf": v} for v in ("default", "blue", "red")],
        "orphaned_ips": [{}]
        + [{"cidr": c} for c in ("192.0.2.0/24", "198.51.100.0/24", "10.0.0.0/8", "0.0.0.0/0")],
        "locate_endpoint_by_ip": [{"ip": ip} for ip in ips[::3]]
        + [{"ip": "2001:db8:1::10"}, {"ip": "203.0.113.9"}],
        "summary_stats": [{}, {"site": "campus"}, {"site": "branch"}, {"site": "nowhere"}],
        "endpoints_without_location": [{}, {"vlan": 100}, {"vlan": 101}, {"vlan": 4000}],
    }


async def _answers(ctx: QueryContext, params: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out = {}
    for name, sets in params.items():
        for p in sets:
            out[f"{name}{sorted(p.items())}"] = (await run_query(REGISTRY, name, p, ctx)).rows
    return out


async def _live(
    store: EmbeddedStore, ctx: QueryContext, params: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The same answers counted live: the answers marked stale meanwhile."""
    kept = {n: await read_state(store, n) for n in NAMES}
    for name, state in kept.items():
        assert state is not None and state.status == "ok", name
        await write_state(store, name, state.format, status="stale", revision=state.revision)
    assert not await answers.ip_index_ready(store)
    assert not await answers.unlocated_ready(store)
    assert not await answers.summary_ready(store)
    try:
        return await _answers(ctx, params)
    finally:
        for name, state in kept.items():
            assert state is not None
            await write_state(store, name, state.format, revision=state.revision)


async def _check(
    store: EmbeddedStore, engine: GraphEngine, params: dict[str, list[dict[str, Any]]]
) -> None:
    ctx = QueryContext(store, engine)
    assert await answers.ip_index_ready(store)
    assert await answers.unlocated_ready(store)
    assert await answers.summary_ready(store)
    kept = await _answers(ctx, params)
    live = await _live(store, ctx, params)
    assert kept.keys() == live.keys()
    for key in kept:
        assert kept[key] == live[key], key


@pytest.fixture
async def seeded(
    tmp_path: Path,
) -> AsyncIterator[tuple[EmbeddedStore, GraphEngine, Any, dict[str, Any]]]:
    net, data = _seeded()
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(Snapshot.model_validate(data))
    yield store, engine, net, data
    await store.close()


async def test_the_seeded_network_has_what_the_answers_are_tested_on(seeded: Any) -> None:
    store, engine, _, _ = seeded
    ctx = QueryContext(store, engine)
    duplicates = (await run_query(REGISTRY, "duplicate_ip_addresses", {}, ctx)).rows
    assert {r["kind"] for r in duplicates} == {"interface", "endpoint"}
    assert {r["vrf"] for r in duplicates} == {"default"}
    assert "10.90.0.1" not in {r["ip"] for r in duplicates}  # anycast
    orphans = (await run_query(REGISTRY, "orphaned_ips", {}, ctx)).rows
    assert {"192.0.2.10", "198.51.100.7"} <= {r["ip"] for r in orphans}
    sites = (await run_query(REGISTRY, "summary_stats", {"site": "branch"}, ctx)).rows
    assert sites and sites[0]["devices"] == 5
    assert sites[0]["endpoints"] == sites[0]["endpoints_located"] + 1
    unlocated = (await run_query(REGISTRY, "endpoints_without_location", {}, ctx)).rows
    assert any(r["device"] and r["mac"] == "02:00:00:00:03:01" for r in unlocated)


async def test_kept_answers_equal_live_counts_through_changes(seeded: Any) -> None:
    store, engine, net, data = seeded
    params = _param_sets(data)
    await _check(store, engine, params)

    changed = _changed(data, net)
    await engine.apply_snapshot(Snapshot.model_validate(changed))
    params = {k: v + _param_sets(changed).get(k, []) for k, v in params.items()}
    await _check(store, engine, params)
    ctx = QueryContext(store, engine)
    orphans = {r["ip"] for r in (await run_query(REGISTRY, "orphaned_ips", {}, ctx)).rows}
    assert "203.0.113.9" in orphans  # new, and outside every subnet
    assert "192.0.2.10" not in orphans  # covered now
    assert "198.51.100.7" not in orphans
    assert any(ipaddress.ip_address(ip) in ipaddress.ip_network(net.subnets[2]) for ip in orphans)

    # one switch's interfaces alone (one more port): nothing else names the device
    lone = net.access[12]
    ports = [i for i in data["interfaces"] if i["device"] == lone]
    ports.append({"device": lone, "name": "GigabitEthernet1/0/49", "oper_status": "down"})
    await engine.apply_snapshot(
        Snapshot.model_validate(
            {
                "snapshot_id": "one-more-port",
                "source": "test",
                "collected_at": changed["collected_at"],
                "scope": [{"device": lone, "facts": ["interfaces"]}],
                "interfaces": ports,
            }
        )
    )
    await _check(store, engine, params)

    # a subnet wider than a bucket, on a switch no endpoint of the orphaned ones is near:
    # the addresses it covers turn from orphans to covered without their endpoints changing
    wide = net.access[14]
    await engine.apply_snapshot(
        Snapshot.model_validate(
            {
                "snapshot_id": "wide-subnet",
                "source": "test",
                "collected_at": changed["collected_at"],
                "scope": [{"device": wide, "facts": ["interfaces", "ip_addresses"]}],
                "interfaces": [i for i in data["interfaces"] if i["device"] == wide]
                + [{"device": wide, "name": "Loopback0", "mode": "routed"}],
                "ip_addresses": [a for a in data["ip_addresses"] if a["device"] == wide]
                + [{"device": wide, "interface": "Loopback0", "address": "10.0.200.1/16"}],
            }
        )
    )
    await _check(store, engine, params)
    orphans = {r["ip"] for r in (await run_query(REGISTRY, "orphaned_ips", {}, ctx)).rows}
    assert not any(
        ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.0.0/16") for ip in orphans
    )

    # the synthetic 1% change too (endpoints left, descriptions and a link changed)
    await engine.apply_snapshot(_synth().incremental_change(net, 0.1))
    await _check(store, engine, params)


async def test_a_patch_that_moves_a_device_is_counted_live_until_recounted(seeded: Any) -> None:
    store, engine, net, data = seeded
    params = {"summary_stats": _param_sets(data)["summary_stats"] + [{"site": "lab"}]}
    ctx = QueryContext(store, engine)
    before = (await run_query(REGISTRY, "summary_stats", {"site": "branch"}, ctx)).rows
    await engine.apply_patch(MetadataPatch(hostname=net.access[0], site="lab", source="user"))
    assert not await answers.summary_ready(store)  # the device's tally is stamped "branch"
    after = (await run_query(REGISTRY, "summary_stats", {"site": "branch"}, ctx)).rows
    assert after[0]["devices"] == before[0]["devices"] - 1
    await answers.repair(store)  # a start (or the next apply) recounts the moved device
    await _check(store, engine, params)
    lab = (await run_query(REGISTRY, "summary_stats", {"site": "lab"}, ctx)).rows
    assert lab[0]["devices"] == 1


async def test_a_start_builds_missing_or_stale_answers_again(seeded: Any) -> None:
    store, engine, _, data = seeded
    params = _param_sets(data)
    ctx = QueryContext(store, engine)
    expected = await _answers(ctx, params)
    await store.execute("MATCH (b:IpBucket) DELETE b")
    await store.execute("MATCH (s:AnswerState) WHERE s.id = $id DELETE s", {"id": ip_index.NAME})
    await write_state(store, answers.summary.NAME, answers.summary.FORMAT, status="stale")
    assert not await answers.ip_index_ready(store)
    assert not await answers.summary_ready(store)
    await answers.repair(store)
    assert await _answers(ctx, params) == expected
    await _check(store, engine, params)


async def test_an_interrupted_apply_marks_the_answers_stale(seeded: Any) -> None:
    store, _, _, _ = seeded
    await store.execute(
        "CREATE (s:SnapshotApply {id: 'cut-short', started_at: '', record: '{}', keys: '[]', "
        "digest: '', before: ''})"
    )
    await answers.mark_interrupted(store)
    assert not await answers.ip_index_ready(store)
    assert not await answers.summary_ready(store)
    await store.execute("MATCH (s:SnapshotApply) DELETE s")
    await answers.repair(store)
    assert await answers.ip_index_ready(store)
    assert await answers.summary_ready(store)


async def test_a_failed_update_leaves_the_apply_done_and_the_answers_live(
    seeded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, engine, net, data = seeded

    async def broken(store: Any, diff: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ip_index, "maintain", broken)
    result = await engine.apply_snapshot(Snapshot.model_validate(_changed(data, net)))
    assert not result.empty
    assert not await answers.ip_index_ready(store)
    monkeypatch.undo()
    await engine.apply_snapshot(_synth().incremental_change(net, 0.1))  # rebuilds it
    await _check(store, engine, _param_sets(data))


# The Cypher the property tests replaced: counted per row, always right, slow at scale.
_REPLACED = {
    "devices_without_neighbors": (
        "MATCH (d:Device) WHERE (d.managed = true OR $managed_only = false) AND "
        "($site = '' OR d.site = $site) "
        "OPTIONAL MATCH (d)-[:HAS_INTERFACE]->(:Interface)-[l:CONNECTED_TO]-(:Interface) "
        "WITH d, count(l) AS links WHERE links = 0 "
        "RETURN d.id AS device, d.role AS role, d.site AS site, d.platform AS platform, "
        "d.managed AS managed ORDER BY device"
    ),
    "endpoints_without_location": (
        "MATCH (e:Endpoint) WHERE $vlan = 0 OR e.vlan = $vlan "
        "OPTIONAL MATCH (e)-[r:LOCATED_AT]->(:Interface) "
        "WITH e, count(r) AS ports WHERE ports = 0 "
        "RETURN " + ENDPOINT_COLUMNS + " ORDER BY mac"
    ),
}


async def test_property_tests_answer_as_the_counts_they_replace(seeded: Any) -> None:
    store, engine, _, data = seeded
    ctx = QueryContext(store, engine)
    # a switch with no link at all
    island = {
        "snapshot_id": "island",
        "source": "test",
        "collected_at": data["collected_at"],
        "scope": [{"device": "island-01", "facts": ["device", "interfaces"]}],
        "devices": [{"hostname": "island-01", "site": "branch", "role": "access"}],
        "interfaces": [
            {"device": "island-01", "name": "GigabitEthernet1/0/1", "oper_status": "up"}
        ],
    }
    await engine.apply_snapshot(Snapshot.model_validate(island))
    cases: dict[str, list[dict[str, Any]]] = {
        "devices_without_neighbors": [
            {},
            {"managed_only": False},
            {"site": "branch"},
            {"site": "campus", "managed_only": False},
        ],
        "endpoints_without_location": [{}, {"vlan": 100}, {"vlan": 101}, {"vlan": 4000}],
    }
    found: dict[str, int] = {}
    for name, sets in cases.items():
        query = REGISTRY[name]
        for p in sets:
            values = query.params.model_validate(p).model_dump(mode="json")
            new = (await run_query(REGISTRY, name, p, ctx)).rows
            old = await store.execute(_REPLACED[name], values)
            assert new == old, (name, p)
            found[name] = found.get(name, 0) + len(new)
    assert found["devices_without_neighbors"] >= 1
    assert found["endpoints_without_location"] >= 4


@pytest.mark.parametrize(
    "ip",
    ["10.1.2.3", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::ffff:10.1.2.3", "::1", "fe80::1"],
)
def test_bucket_keys_sort_as_addresses_do(ip: str) -> None:
    address = ipaddress.ip_address(ip)
    width = 24 if address.version == 4 else 64
    network = ipaddress.ip_network(f"{ip}/{width}", strict=False)
    assert ip_index.bucket_of(ip) == ip_index.bucket_range(str(network))[0]
    assert ip_index.bucket_range(str(network)) == (ip_index.bucket_of(ip),) * 2
    assert ip_index.Coverage([str(network)]).covers(ip)
    assert ip_index.Coverage([str(network)]).covers_bucket(ip_index.bucket_of(ip))


async def test_overlapping_buckets_are_found_alike_for_few_and_many_subnets(seeded: Any) -> None:
    store, _, net, _ = seeded
    cidrs = [
        *net.subnets,
        *(f"10.0.{n}.128/25" for n in range(ip_index._RANGE_QUERIES)),
        "10.0.0.0/20",
        "192.0.2.0/24",
        "2001:db8::/32",
    ]
    assert len(cidrs) > ip_index._RANGE_QUERIES
    many = await ip_index._overlapping(store, cidrs)
    few: set[str] = set()
    for start in range(0, len(cidrs), ip_index._RANGE_QUERIES):
        few |= await ip_index._overlapping(store, cidrs[start : start + ip_index._RANGE_QUERIES])
    assert many == few and len(many) >= len(net.subnets)
