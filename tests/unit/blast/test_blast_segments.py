"""VLAN and subnet failures resolved on the segment lookups kept per revision against the same
resolution asking the store on every call (the way it was resolved before the lookups, kept
here as the reference).

A synthetic campus (``bench/synth.py``, with IPv6 addresses added on one segment) is ingested
into a real graph engine on the embedded store; then the seeded random changes of
``test_blast_live`` (re-cabled uplinks, uplinks bundled into LAGs whose settings change,
switchport modes and allowed VLANs, endpoints moved and dropped, LLDP entries lost) are
applied. After each, every VLAN of the campus, a VLAN nothing carries, each access subnet, a
subnet with endpoints but no interface address, an IPv6 subnet, a wide one and one with nothing
in it fail both ways: the same failure, field for field, or the same error.
"""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from meshq_graph_engine.blast import (
    Failure,
    Segments,
    TargetError,
    Topology,
    load_segments,
    load_topology,
    read_segments,
    simulate,
)
from meshq_graph_engine.blast._live import live_topology
from meshq_graph_engine.blast._segments import live_segments
from meshq_graph_engine.blast._targets import (
    _SVI,
    _interface_rows,
    _unknown,
    subnet_failure,
    vlan_failure,
)
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore, GraphStore
from network_discovery.model import Snapshot, canonical_interface_name
from test_blast_live import _Changes, _synth

# -- the reference: the store asked on every call ------------------------------------------


def _svi_names(vlan: int) -> list[str]:
    return sorted({canonical_interface_name(n) for n in (f"Vlan{vlan}", f"irb.{vlan}")})


def _located(row: dict[str, Any]) -> str | None:
    return row["device"] if row.get("interface") else None


async def reference_vlan(topology: Topology, store: GraphStore, vlan: int) -> Failure:
    links = [lk for lk in topology.links.values() if lk.carried_vlans() == frozenset({vlan})]
    touched = {d for lk in links for d in (lk.a.device, lk.b.device)}
    touched |= {
        end.device
        for lk in topology.links.values()
        for end in (lk.a, lk.b)
        if end.vlans is not None and vlan in end.vlans
    }
    owners = await store.execute(
        "MATCH (v:VLAN) WHERE v.vlan = $vlan AND v.device IS NOT NULL RETURN v.device AS device",
        {"vlan": vlan},
    )
    svis = await store.execute(
        "MATCH (i:Interface) WHERE i.name IN $names RETURN i.id AS id, i.device AS device "
        "ORDER BY id",
        {"names": _svi_names(vlan)},
    )
    members = await store.execute(
        "MATCH (e:Endpoint) WHERE e.vlan = $vlan "
        "RETURN e.id AS id, e.device AS device, e.interface AS interface",
        {"vlan": vlan},
    )
    touched |= {r["device"] for r in owners + svis} | {r["device"] for r in members if r["device"]}
    touched &= set(topology.devices)
    if not (links or touched or members):
        raise _unknown(f"VLAN {vlan} is not on any device, port or endpoint in the graph")
    return Failure(
        "vlan",
        f"vlan {vlan}",
        links=frozenset(lk.id for lk in links),
        interfaces=tuple(r["id"] for r in svis),
        touched=frozenset(touched),
        endpoints={r["id"]: _located(r) for r in members},
    )


async def reference_subnet(topology: Topology, store: GraphStore, cidr: str) -> Failure:
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=True)
    except ValueError as exc:
        raise TargetError(422, "Invalid target", f"invalid subnet {cidr!r}: {exc}") from None

    def inside(ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        return address.version == network.version and address in network

    rows = await store.execute(
        "MATCH (i:Interface)-[:HAS_IP]->(a:IPAddress) "
        "RETURN i.device AS device, i.name AS name, a.ip AS ip"
    )
    pairs = sorted({(r["device"], r["name"]) for r in rows if inside(r["ip"])})
    endpoints = await store.execute(
        "MATCH (e:Endpoint) RETURN e.id AS id, e.ips AS ips, e.device AS device, "
        "e.interface AS interface"
    )
    members = {r["id"]: _located(r) for r in endpoints if any(inside(ip) for ip in r["ips"] or ())}
    if not pairs and not members:
        raise _unknown(f"no interface or endpoint has an address in {network}")
    failure = _interface_rows(topology, pairs, "subnet")
    links, touched = set(failure.links), set(failure.touched)
    interfaces = list(failure.interfaces)
    for vlan in sorted({int(m.group(1)) for _, n in pairs if (m := _SVI.match(n))}):
        if 1 <= vlan <= 4094:
            segment = await reference_vlan(topology, store, vlan)
            links |= segment.links
            touched |= segment.touched
            interfaces += [i for i in segment.interfaces if i not in interfaces]
            members = {**segment.endpoints, **members}
    return Failure(
        "subnet",
        str(network),
        links=frozenset(links),
        interfaces=tuple(interfaces),
        touched=frozenset((touched | {d for d in members.values() if d}) & set(topology.devices)),
        endpoints=members,
    )


# -- the network ---------------------------------------------------------------------------


def _campus(devices: int) -> tuple[Any, Snapshot]:
    """The synthetic campus, with IPv6 on the first access segment: the SVI of its access
    switch and its first endpoints (by ARP)."""
    net = _synth().generate(devices, seed=7, when=datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    data = net.data
    access = net.access[0]
    svi = next(
        a
        for a in data["ip_addresses"]
        if a["device"] == access and a["interface"].startswith("Vlan")
    )
    data["ip_addresses"].append({**svi, "address": "2001:db8:a::4/64"})
    for n, m in enumerate(x for x in data["mac_table"] if x["device"] == access):
        if n >= 3:
            break
        data["arp"].append(
            {
                "device": access,
                "interface": svi["interface"],
                "ip": f"2001:db8:a::{n + 16:x}",
                "mac": m["mac"],
            }
        )
    return net, Snapshot.model_validate(data)


def _vlans(data: dict[str, Any]) -> list[int]:
    seen = {v["vlan"] for v in data["vlans"]} | set(range(100, 106))
    return [*sorted(seen), 4000]  # 4000: nothing carries it


def _subnets(net: Any) -> list[str]:
    first = ipaddress.ip_network(net.subnets[0])
    return [
        *net.subnets[:6],
        str(next(first.subnets(new_prefix=28))),  # .0-.15: the SVI addresses (.1, .2, .4)
        str(list(first.subnets(new_prefix=28))[2]),  # .32-.47: endpoints only
        "10.0.0.0/8",
        "2001:db8:a::/64",
        "2001:db8::/32",
        "192.0.2.0/24",  # nothing in it
    ]


async def _both(
    topology: Topology, segments: Segments, store: GraphStore, kind: str, target: Any
) -> tuple[Any, Any]:
    def outcome(f: Any) -> Any:
        return f if isinstance(f, Failure) else ("error", f.status, f.detail)

    try:
        kept: Any = (
            vlan_failure(topology, segments, target)
            if kind == "vlan"
            else subnet_failure(topology, segments, target)
        )
    except TargetError as exc:
        kept = exc
    try:
        reference: Any = await (
            reference_vlan(topology, store, target)
            if kind == "vlan"
            else reference_subnet(topology, store, target)
        )
    except TargetError as exc:
        reference = exc
    return outcome(kept), outcome(reference)


class _Seen:
    """What the comparisons covered, so that the test fails if the network stops giving it."""

    def __init__(self) -> None:
        self.lag = self.no_interface = self.unknown_vlan = self.ipv6 = self.empty = False

    def note(self, topology: Topology, kind: str, target: Any, failure: Any) -> None:
        if not isinstance(failure, Failure):
            self.unknown_vlan |= kind == "vlan" and target == 4000 and failure[1] == 404
            self.empty |= kind == "subnet" and target == "192.0.2.0/24" and failure[1] == 404
            return
        links = [topology.links[i] for i in failure.links if i in topology.links]
        self.lag |= any(lk.a.lag or lk.b.lag for lk in links)
        self.no_interface |= kind == "subnet" and not failure.interfaces and bool(failure.endpoints)
        self.ipv6 |= kind == "subnet" and ":" in str(target) and bool(failure.endpoints)


async def _compare(
    topology: Topology, segments: Segments, store: GraphStore, net: Any, seen: _Seen
) -> None:
    targets = [("vlan", v) for v in _vlans(net.data)] + [("subnet", s) for s in _subnets(net)]
    for kind, target in targets:
        kept, reference = await _both(topology, segments, store, kind, target)
        assert kept == reference, (kind, target)
        seen.note(topology, kind, target, kept)
        if isinstance(kept, Failure) and kind == "vlan" and target in (100, 101):
            result = simulate(topology, kept, 3)
            again = simulate(topology, reference, 3)
            assert result.summary() == again.summary()


class _RowsOnly:
    """The store without its columnar read: segment lookups read as rows (as from Memgraph)."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.dialect = store.dialect

    async def execute(self, cypher: str, params: dict[str, Any] | None = None) -> Any:
        return await self._store.execute(cypher, params)


@pytest.mark.parametrize("seed", [4, 5], ids=["seed-4", "seed-5"])
async def test_kept_lookups_resolve_as_the_store_does(tmp_path: Any, seed: int) -> None:
    rng = random.Random(seed)
    net, snapshot = _campus(60)
    store = EmbeddedStore(tmp_path / "graph" / "db")
    seen = _Seen()
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(snapshot)
        live = live_segments(store, engine)
        topology = await load_topology(store, engine)
        await _compare(topology, await load_segments(store, engine), store, net, seen)
        assert live.last == "read"
        # read as rows, the lookups answer the same
        rows = await read_segments(_RowsOnly(store))  # type: ignore[arg-type]
        await _compare(topology, rows, store, net, seen)
        changes = _Changes(net, rng)
        updated = 0
        for step in range(10):
            await engine.apply_snapshot(changes.snapshot())
            if rng.random() < 0.3 and step < 9:
                continue  # the next change piles up on this one
            topology = await load_topology(store, engine)
            segments = await load_segments(store, engine)
            assert live.last in ("updated", "cached"), step
            updated += live.last == "updated"
            await _compare(topology, segments, store, net, seen)
        assert updated >= 3
        assert seen.lag, "no VLAN failure took a LAG member"
        assert seen.no_interface, "no subnet with endpoints and no interface address"
        assert seen.unknown_vlan and seen.empty and seen.ipv6
    finally:
        await store.close()


async def test_catalogue_rows_for_an_unknown_vlan_and_an_empty_subnet(tmp_path: Any) -> None:
    net, snapshot = _campus(30)
    store = EmbeddedStore(tmp_path / "graph" / "db")
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(snapshot)
        ctx = QueryContext(store, engine)
        unknown = await run_query(REGISTRY, "blast_radius_vlan", {"vlan": 4000}, ctx)
        empty = await run_query(REGISTRY, "blast_radius_subnet", {"cidr": "192.0.2.0/24"}, ctx)
        assert unknown.rows == [] and empty.rows == []
        vlan = _vlans(net.data)[0]
        rows = (await run_query(REGISTRY, "blast_radius_vlan", {"vlan": vlan}, ctx)).rows
        topology = await load_topology(store, engine)
        expected = simulate(topology, await reference_vlan(topology, store, vlan), 3)
        assert [r["device"] for r in rows] == [i.device for i in expected.impacts]
        assert rows, "the VLAN fails something"
        assert live_topology(store, engine).last == "cached"
    finally:
        await store.close()


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["10.0.0.1", "192.168.255.254"],
        ["2001:db8::1", "fe80::1"],
        ["10.0.0.1", "2001:db8::1", "010.0.0.1", "1.2.3", "256.1.1.1", "x", None, "0.0.0.0"],
    ],
    ids=["none", "ipv4", "ipv6", "mixed"],
)
def test_address_columns_parse_as_one_at_a_time(texts: list[str | None]) -> None:
    import pyarrow as pa
    from meshq_graph_engine.blast._segments import _parse_column, parse_address

    version, hi, lo = _parse_column(pa.array(texts, pa.string()))
    for n, text in enumerate(texts):
        parsed = parse_address(text)
        if parsed is None:
            assert version[n] == 0, text
        else:
            assert (int(version[n]), (int(hi[n]) << 64) | int(lo[n])) == parsed, text


def _address(version: int, value: int) -> Any:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def test_address_columns_follow_removals_and_additions() -> None:
    """Owners removed, added again and compacted away answer as a plain list of addresses."""
    import numpy as np
    from meshq_graph_engine.blast._segments import _Addresses

    rng = random.Random(9)
    held: dict[int, list[tuple[int, int]]] = {}

    def address() -> tuple[int, int]:
        if rng.random() < 0.2:
            return 6, int(ipaddress.ip_address("2001:db8::")) + rng.randrange(1 << 70)
        return 4, int(ipaddress.ip_address("10.0.0.0")) + rng.randrange(1 << 12)

    for owner in range(3000):
        held[owner] = [address() for _ in range(rng.randint(0, 2))]
    flat = [(o, *a) for o, addresses in held.items() for a in addresses]
    columns = _Addresses()
    columns.load(
        np.array([e[0] for e in flat], dtype=np.int64),
        np.array([e[1] for e in flat], dtype=np.int8),
        np.array([e[2] >> 64 for e in flat], dtype=np.uint64),
        np.array([e[2] & ((1 << 64) - 1) for e in flat], dtype=np.uint64),
    )
    networks = [
        ipaddress.ip_network(n)
        for n in ("10.0.0.0/24", "10.0.8.0/21", "10.0.0.0/8", "2001:db8::/64", "2001:db8::/32")
    ]
    for _ in range(6):  # the third round removes more than half: the columns are compacted
        gone = rng.sample(sorted(held), 700)
        columns.remove(gone)
        for owner in gone:
            held[owner] = (
                [address() for _ in range(rng.randint(0, 2))] if rng.random() < 0.5 else []
            )
            columns.add(owner, held[owner])
        for network in networks:
            expected = sorted(
                o
                for o, addresses in held.items()
                if any(
                    v == network.version and ipaddress.ip_address(x) in network
                    for v, x in addresses
                )
            )
            assert columns.within(network) == expected, network
