"""Reading the device graph from the store whole (parameters only); ``_live`` keeps it current."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from meshq_runtime.graph.store import GraphStore
from network_discovery.model import ids

from meshq_graph_engine.blast._model import Device, Link, LinkEnd, Topology

_intern = sys.intern

__all__ = [
    "TopologyRows",
    "aggregate_of",
    "carried_vlans",
    "read_rows",
    "read_topology",
]

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
# by key, one lookup per id (``IN $ids`` would scan every interface)
_AGGREGATES = "UNWIND $ids AS k MATCH (i:Interface) WHERE i.id = k RETURN " + _PORT.format(n="i")
_ENDPOINTS = (
    "MATCH (e:Endpoint)-[:LOCATED_AT]->(i:Interface) RETURN i.device AS device, count(e) AS n"
)


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
    """One end's columns (``a_id`` -> ``id``), names and texts interned: the same ids the
    live graph holds (and one copy of each column name), not a fresh copy per row read."""
    return {
        _intern(key[len(n) + 1 :]): _intern(value) if type(value) is str else value
        for key, value in row.items()
        if key.startswith(n + "_")
    }


def _end(port: dict[str, Any], aggregates: dict[str, dict[str, Any]]) -> LinkEnd:
    config = port
    agg = aggregate_of(port)
    if agg is not None:
        # a LAG member takes its switchport settings from the aggregate
        config = aggregates.get(agg, port)
    return LinkEnd(
        interface=port["id"],
        device=port["device"],
        name=port["name"],
        lag=port.get("lag"),
        parent=port.get("parent"),
        vlans=carried_vlans(config),
    )


@dataclass
class TopologyRows:
    """What the topology is built from, as read from the store: device rows, endpoint
    counts, each link's two ports (by ``(src, dst)`` interface ids) and the aggregates (LAG
    interfaces) whose settings their members take."""

    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    links: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = field(
        default_factory=dict
    )
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: each link as last built, with the rows it was built from (the very objects: a row
    #: read again is a new one), so that a build after a change makes only the links whose
    #: ports or aggregates were read again
    _built: dict[tuple[str, str], tuple[tuple[Any, ...], Link]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def wanted_aggregates(self) -> set[str]:
        """The aggregates some link end takes its settings from."""
        return {
            agg
            for pair in self.links.values()
            for p in pair
            if (agg := aggregate_of(p)) is not None
        }

    def build(self) -> Topology:
        """The topology (devices and links in id order, so that any two reads of the same
        graph give the same one)."""
        devices = [
            Device(
                id=r["id"],
                managed=bool(r["managed"]),
                role=r["role"],
                criticality=r["criticality"],
                endpoints=self.counts.get(r["id"], 0),
            )
            for _, r in sorted(self.devices.items())
        ]
        built: dict[tuple[str, str], tuple[tuple[Any, ...], Link]] = {}
        links = []
        for key, (a, b) in sorted(self.links.items()):
            used = (a, b, self._aggregate(a), self._aggregate(b))
            kept = self._built.get(key)
            if kept is not None and all(x is y for x, y in zip(kept[0], used, strict=True)):
                link = kept[1]
            else:
                link = Link(
                    ids.link_id(a["id"], b["id"]),
                    _end(a, self.aggregates),
                    _end(b, self.aggregates),
                )
            built[key] = (used, link)
            links.append(link)
        self._built = built
        return Topology(devices, links)

    def _aggregate(self, port: dict[str, Any]) -> dict[str, Any] | None:
        agg = aggregate_of(port)
        return None if agg is None else self.aggregates.get(agg)


def aggregate_of(port: dict[str, Any]) -> str | None:
    """The aggregate a LAG member without switchport settings of its own takes them from."""
    if port.get("lag") and port.get("mode") is None:
        return ids.interface_id(port["device"], port["lag"])
    return None


_DEVICE_KEYS = ("id", "managed", "role", "criticality")


def device_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _intern(v) if type(v := row[k]) is str else v for k in _DEVICE_KEYS}


def link_rows(
    rows: list[dict[str, Any]],
) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    out = {}
    for r in rows:
        a, b = _port(r, "a"), _port(r, "b")
        out[(a["id"], b["id"])] = (a, b)
    return out


async def read_aggregates(store: GraphStore, wanted: list[str]) -> dict[str, dict[str, Any]]:
    if not wanted:
        return {}
    return {r["i_id"]: _port(r, "i") for r in await store.execute(_AGGREGATES, {"ids": wanted})}


async def read_rows(store: GraphStore) -> TopologyRows:
    """Everything the topology is built from, read whole."""
    rows = TopologyRows(
        devices={r["id"]: device_row(r) for r in await store.execute(_DEVICES)},
        links=link_rows(await store.execute(_LINKS)),
        counts={r["device"]: int(r["n"]) for r in await store.execute(_ENDPOINTS)},
    )
    rows.aggregates = await read_aggregates(store, sorted(rows.wanted_aggregates()))
    return rows


async def read_topology(store: GraphStore) -> Topology:
    """The topology as the store holds it now, read whole."""
    return (await read_rows(store)).build()
