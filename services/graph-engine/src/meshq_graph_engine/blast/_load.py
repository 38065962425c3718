"""Reading the device graph from the store (parameters only), cached per graph revision."""

from __future__ import annotations

import weakref
from typing import Any

from meshq_runtime.graph.store import GraphStore
from network_discovery.model import ids

from meshq_graph_engine.blast._model import Device, Link, LinkEnd, Topology

__all__ = ["carried_vlans", "load_topology", "read_topology"]

_DEVICES = (
    "MATCH (d:Device) RETURN d.id AS id, d.managed AS managed, d.role AS role, "
    "d.criticality AS criticality"
)
_PORT = (
    "{n}.id AS {n}_id, {n}.device AS {n}_device, {n}.name AS {n}_name, {n}.lag AS {n}_lag, "
    "{n}.parent AS {n}_parent, {n}.mode AS {n}_mode, {n}.access_vlan AS {n}_access_vlan, "
    "{n}.voice_vlan AS {n}_voice_vlan, {n}.native_vlan AS {n}_native_vlan, "
    "{n}.trunk_vlans AS {n}_trunk_vlans"
)
_LINKS = (
    "MATCH (a:Interface)-[:CONNECTED_TO]->(b:Interface) RETURN "
    + _PORT.format(n="a")
    + ", "
    + _PORT.format(n="b")
)
_AGGREGATES = "MATCH (i:Interface) WHERE i.id IN $ids RETURN " + _PORT.format(n="i")
_ENDPOINTS = (
    "MATCH (e:Endpoint)-[:LOCATED_AT]->(i:Interface) RETURN i.device AS device, count(e) AS n"
)

_CACHE: weakref.WeakKeyDictionary[Any, tuple[int, Topology]] = weakref.WeakKeyDictionary()


def carried_vlans(port: dict[str, Any]) -> frozenset[int] | None:
    """The VLANs a port carries: an access port its access (default 1) and voice VLANs, a
    trunk its allowed list and native VLAN; None (every VLAN) for a trunk without a list, a
    routed port or a port whose mode is unknown."""
    mode = port.get("mode")
    if mode == "access":
        vlans = {port.get("access_vlan") or 1}
        if port.get("voice_vlan"):
            vlans.add(port["voice_vlan"])
        return frozenset(vlans)
    if mode == "trunk" and port.get("trunk_vlans"):
        vlans = set(port["trunk_vlans"])
        if port.get("native_vlan"):
            vlans.add(port["native_vlan"])
        return frozenset(vlans)
    return None


def _port(row: dict[str, Any], n: str) -> dict[str, Any]:
    return {key[len(n) + 1 :]: value for key, value in row.items() if key.startswith(n + "_")}


def _end(port: dict[str, Any], aggregates: dict[str, dict[str, Any]]) -> LinkEnd:
    config = port
    if port.get("mode") is None and port.get("lag"):
        # a LAG member takes its switchport settings from the aggregate
        config = aggregates.get(ids.interface_id(port["device"], port["lag"]), port)
    return LinkEnd(
        interface=port["id"],
        device=port["device"],
        name=port["name"],
        lag=port.get("lag"),
        parent=port.get("parent"),
        vlans=carried_vlans(config),
    )


async def read_topology(store: GraphStore) -> Topology:
    device_rows = await store.execute(_DEVICES)
    link_rows = await store.execute(_LINKS)
    counts = {r["device"]: int(r["n"]) for r in await store.execute(_ENDPOINTS)}
    ports = [(_port(r, "a"), _port(r, "b")) for r in link_rows]
    wanted = sorted(
        {
            ids.interface_id(p["device"], p["lag"])
            for pair in ports
            for p in pair
            if p.get("lag") and p.get("mode") is None
        }
    )
    aggregates = (
        {r["i_id"]: _port(r, "i") for r in await store.execute(_AGGREGATES, {"ids": wanted})}
        if wanted
        else {}
    )
    devices = [
        Device(
            id=r["id"],
            managed=bool(r["managed"]),
            role=r["role"],
            criticality=r["criticality"],
            endpoints=counts.get(r["id"], 0),
        )
        for r in device_rows
    ]
    links = [
        Link(ids.link_id(a["id"], b["id"]), _end(a, aggregates), _end(b, aggregates))
        for a, b in ports
    ]
    return Topology(devices, links)


async def load_topology(store: GraphStore, engine: Any = None) -> Topology:
    """The topology, re-read only when the engine's graph revision has moved."""
    revision = getattr(engine, "revision", None)
    if engine is None or revision is None:
        return await read_topology(store)
    cached = _CACHE.get(engine)
    if cached is not None and cached[0] == revision:
        return cached[1]
    topology = await read_topology(store)
    _CACHE[engine] = (revision, topology)
    return topology
