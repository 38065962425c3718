"""From facts to the graph: the nodes and relationships the store should hold.

The projection is a pure function of the fact sets and patches, so re-running it on the same
facts gives the same graph (ingesting a snapshot twice changes nothing), and the store can be
repaired from the facts after a crash. Links, endpoints, unmanaged neighbours and subnets are
derived over the facts of the whole graph, not one snapshot, so an LLDP entry seen from one end
today and from the other end tomorrow becomes one link seen from both ends. The graph is kept
up to date one snapshot at a time by :class:`meshq_graph_engine.live.LiveGraph`, which
re-derives only what the snapshot's facts touch; :func:`project` builds it whole.

A row is kept as a tuple of the label's schema properties (:data:`NODE_PROPS`, list values as
tuples), a relationship as the tuple of its properties: one compact copy of the graph, read as
the store's dictionaries through :meth:`Projection.node` and :meth:`Projection.rel`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshq_runtime.graph.schema import NODES, RELS

if TYPE_CHECKING:
    from meshq_graph_engine.facts import FactStore

__all__ = [
    "NODE_PROPS",
    "REL_PROPS",
    "NodeRow",
    "Projection",
    "RelKey",
    "RelRow",
    "node_dict",
    "project",
    "rel_dict",
    "shape_node",
]

#: A node's schema properties in order (its row is a tuple of their values).
NODE_PROPS: dict[str, tuple[str, ...]] = {label: tuple(spec.props) for label, spec in NODES.items()}
#: A relationship's properties in order.
REL_PROPS: dict[str, tuple[str, ...]] = {name: tuple(spec.props) for name, spec in RELS.items()}
_LISTS: dict[str, frozenset[int]] = {
    label: frozenset(i for i, kind in enumerate(spec.props.values()) if kind.endswith("[]"))
    for label, spec in NODES.items()
}

_LIST_INDEXES: dict[str, tuple[int, ...]] = {label: tuple(sorted(i)) for label, i in _LISTS.items()}

NodeRow = tuple[Any, ...]
RelKey = tuple[str, str]
RelRow = tuple[Any, ...]


def shape_node(label: str, data: dict[str, Any]) -> NodeRow:
    """A row as the store will read it back: every schema property, lists as tuples."""
    lists = _LISTS[label]
    return tuple(
        (() if data.get(prop) is None else tuple(data[prop])) if i in lists else data.get(prop)
        for i, prop in enumerate(NODE_PROPS[label])
    )


def node_dict(label: str, node_id: str, row: NodeRow) -> dict[str, Any]:
    """A row as the store's dictionary (``id`` and every property, lists as lists)."""
    props = NODE_PROPS[label]
    out: dict[str, Any] = {"id": node_id}
    out.update(zip(props, row, strict=True))
    for i in _LIST_INDEXES[label]:
        out[props[i]] = list(row[i])
    return out


def rel_dict(name: str, key: RelKey, row: RelRow) -> dict[str, Any]:
    out: dict[str, Any] = {"src": key[0], "dst": key[1]}
    out.update(zip(REL_PROPS[name], row, strict=True))
    return out


@dataclass
class Projection:
    nodes: dict[str, dict[str, NodeRow]] = field(default_factory=lambda: defaultdict(dict))
    rels: dict[str, dict[RelKey, RelRow]] = field(default_factory=lambda: defaultdict(dict))

    def add_node(self, label: str, row: dict[str, Any]) -> None:
        """Store a node given as a dictionary (``id`` and its properties)."""
        self.nodes[label][row["id"]] = shape_node(label, row)

    def add_rel(self, name: str, src: str, dst: str, **props: Any) -> None:
        self.rels[name][(src, dst)] = tuple(props.get(p) for p in REL_PROPS[name])

    def node(self, label: str, node_id: str) -> dict[str, Any] | None:
        row = self.nodes.get(label, {}).get(node_id)
        return None if row is None else node_dict(label, node_id, row)

    def rel(self, name: str, key: RelKey) -> dict[str, Any] | None:
        row = self.rels.get(name, {}).get(key)
        return None if row is None else rel_dict(name, key, row)

    def managed_device_count(self) -> int:
        managed = NODE_PROPS["Device"].index("managed")
        return sum(1 for row in self.nodes.get("Device", {}).values() if row[managed])


def project(store: FactStore, previous: Projection | None = None) -> Projection:
    """The graph for the current facts, built whole; ``previous`` keeps endpoints'
    first-seen times."""
    from meshq_graph_engine.live import LiveGraph

    return LiveGraph.build(store, previous).projection
