"""Differences between two projections, and applying them to the store in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshq_runtime.graph import writer
from meshq_runtime.graph.schema import NODES, RELS
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.projection import Projection

__all__ = ["COUNTED_NODES", "COUNTED_RELS", "GraphDiff", "apply_diff", "diff"]

#: How the diff summary names what changed.
COUNTED_NODES = {
    "Device": "devices",
    "Interface": "interfaces",
    "IPAddress": "ip_addresses",
    "Subnet": "subnets",
    "VLAN": "vlans",
    "Endpoint": "endpoints",
    "BGPPeer": "bgp_peers",
    "FirewallZone": "firewall_zones",
    "FirewallRuleset": "firewall_rulesets",
    "FirewallRule": "firewall_rules",
    "FirewallObject": "firewall_objects",
    "Route": "routes",
}
COUNTED_RELS = {"CONNECTED_TO": "links"}

#: Properties that move on every collection without the network changing.
_VOLATILE = {
    "Endpoint": {"last_seen"},
    "BGPPeer": {"uptime_seconds"},
    "Device": {"degree"},  # derived from links, which the diff counts already
}

PROJECTED_LABELS = tuple(COUNTED_NODES)
PROJECTED_RELS = tuple(RELS)


@dataclass
class GraphDiff:
    added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    touched: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # volatile only
    rels_added: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rels_removed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rels_updated: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def summary(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        def count(source: dict[str, list[Any]], names: dict[str, str]) -> dict[str, int]:
            return {names[k]: len(v) for k, v in source.items() if k in names and v}

        added = count(self.added, COUNTED_NODES) | count(self.rels_added, COUNTED_RELS)
        removed = count(self.removed, COUNTED_NODES) | count(self.rels_removed, COUNTED_RELS)
        updated = count(self.updated, COUNTED_NODES) | count(self.rels_updated, COUNTED_RELS)
        return added, removed, updated

    @property
    def empty(self) -> bool:
        added, removed, updated = self.summary()
        return not (added or removed or updated)

    def writes(self) -> int:
        return sum(
            len(v)
            for part in (
                self.added,
                self.removed,
                self.updated,
                self.touched,
                self.rels_added,
                self.rels_removed,
                self.rels_updated,
            )
            for v in part.values()
        )


def _strip(row: dict[str, Any], volatile: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in volatile}


def diff(old: Projection, new: Projection) -> GraphDiff:
    out = GraphDiff()
    for label in PROJECTED_LABELS:
        before, after = old.nodes.get(label, {}), new.nodes.get(label, {})
        volatile = _VOLATILE.get(label, set())
        out.added[label] = [after[i] for i in after.keys() - before.keys()]
        out.removed[label] = sorted(before.keys() - after.keys())
        changed, touched = [], []
        for i in after.keys() & before.keys():
            if after[i] != before[i]:
                if _strip(after[i], volatile) != _strip(before[i], volatile):
                    changed.append(after[i])
                else:
                    touched.append(after[i])
        out.updated[label], out.touched[label] = changed, touched
    for name in PROJECTED_RELS:
        before_r, after_r = old.rels.get(name, {}), new.rels.get(name, {})
        out.rels_added[name] = [after_r[k] for k in after_r.keys() - before_r.keys()]
        out.rels_removed[name] = [before_r[k] for k in before_r.keys() - after_r.keys()]
        out.rels_updated[name] = [
            after_r[k] for k in after_r.keys() & before_r.keys() if after_r[k] != before_r[k]
        ]
    return out


async def apply_diff(store: GraphStore, d: GraphDiff) -> None:
    """Removals first (relationships, then nodes), then new nodes, updates, relationships."""
    for name, rows in d.rels_removed.items():
        if rows:
            await writer.delete_rels(store, name, rows)
    for label, ids in d.removed.items():
        if ids:
            await writer.delete_nodes(store, label, ids)
    for label, rows in d.added.items():
        if rows:
            await writer.create_nodes(store, label, rows)
    for part in (d.updated, d.touched):
        for label, rows in part.items():
            if rows:
                await writer.update_nodes(store, label, rows)
    for name, rows in d.rels_added.items():
        if rows:
            await writer.create_rels(store, name, rows)
    for name, rows in d.rels_updated.items():
        if rows:
            await writer.update_rels(store, name, rows)


async def read_projection(store: GraphStore) -> Projection:
    """What the store holds now (to repair it after a crash between writes)."""
    current = Projection()
    for label in PROJECTED_LABELS:
        spec = NODES[label]
        for node_id, row in (await writer.read_nodes(store, label)).items():
            current.nodes[label][node_id] = {
                k: v for k, v in row.items() if k == "id" or k in spec.props
            }
    for name in PROJECTED_RELS:
        for key, row in (await writer.read_rels(store, name)).items():
            current.rels[name][key] = row
    return current
