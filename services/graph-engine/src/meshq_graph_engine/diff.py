"""Differences between two projections, and applying them to the store in batches.

A difference's rows are read as the store's dictionaries, made one at a time as they are read
(:class:`Rows`): a whole graph's difference (a first ingest) never holds every row as a
dictionary at once, and the writer takes it in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from meshq_runtime.graph import writer
from meshq_runtime.graph.schema import NODES, RELS
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.projection import (
    NODE_PROPS,
    REL_PROPS,
    NodeRow,
    Projection,
    RelKey,
    RelRow,
    node_dict,
    rel_dict,
    shape_node,
)

__all__ = [
    "COUNTED_NODES",
    "COUNTED_RELS",
    "GraphDiff",
    "Rows",
    "apply_diff",
    "delete_rels",
    "diff",
    "diff_touched",
    "read_projection",
    "update_rels",
    "update_volatile",
]

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
    "IBNode": "ib_nodes",
    "IBPort": "ib_ports",
    "GPU": "gpus",
    "NcclJob": "nccl_jobs",
    "NcclRank": "nccl_ranks",
}
COUNTED_RELS = {
    "CONNECTED_TO": "links",
    "IB_LINK": "ib_links",
    "NCCL_CONNECTION": "nccl_connections",
}

#: Properties that move on every collection without the network changing.
_VOLATILE = {
    "Endpoint": {"last_seen"},
    "BGPPeer": {"uptime_seconds"},
    "Device": {"degree"},  # derived from links, which the diff counts already
}

PROJECTED_LABELS = tuple(COUNTED_NODES)
PROJECTED_RELS = tuple(RELS)


#: Where a row's column is in a difference's item ``(key, row)``: in the key (its index, or
#: None for the key itself: a node's id) or in the row (its index).
_Where = tuple[str, int | None]


class Rows(Sequence[dict[str, Any]]):
    """Rows of a difference, each made as the store's dictionary when it is read (by
    index, slice or iteration), or read a column at a time (:meth:`column`: what a columnar
    write takes, with no dictionary per row); read-only."""

    __slots__ = ("_items", "_make", "_where")

    def __init__(
        self,
        items: list[tuple[Any, Any]],
        make: Callable[[Any, Any], dict[str, Any]],
        where: Mapping[str, _Where] | None = None,
    ) -> None:
        self._items = items
        self._make = make
        self._where = where or {}

    def column(self, name: str) -> list[Any] | None:
        """Every row's value of ``name``, in order (lists as the row keeps them: tuples);
        None for a name the rows do not have."""
        where = self._where.get(name)
        if where is None:
            return None
        part, i = where
        items = self._items
        if part == "key":
            return [k for k, _ in items] if i is None else [k[i] for k, _ in items]
        return [r[i] for _, r in items]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._make(k, r) for k, r in self._items[index]]
        return self._make(*self._items[index])

    def part(self, start: int, stop: int) -> Rows:
        """Some of the rows, still made only when read."""
        return Rows(self._items[start:stop], self._make, self._where)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        make = self._make
        for key, row in self._items:
            yield make(key, row)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({list(self)!r})"


_NODE_WHERE: dict[str, dict[str, _Where]] = {
    label: {"id": ("key", None), **{p: ("row", i) for i, p in enumerate(props)}}
    for label, props in NODE_PROPS.items()
}
_REL_WHERE: dict[str, dict[str, _Where]] = {
    name: {"src": ("key", 0), "dst": ("key", 1), **{p: ("row", i) for i, p in enumerate(props)}}
    for name, props in REL_PROPS.items()
}


def node_rows(label: str, items: list[tuple[str, NodeRow]]) -> list[dict[str, Any]]:
    """Nodes of one label as a difference's rows (read as lists of dictionaries)."""
    return Rows(  # type: ignore[return-value]
        items, lambda i, r: node_dict(label, i, r), _NODE_WHERE[label]
    )


def rel_rows(name: str, items: list[tuple[RelKey, RelRow]]) -> list[dict[str, Any]]:
    return Rows(  # type: ignore[return-value]
        items, lambda k, r: rel_dict(name, k, r), _REL_WHERE[name]
    )


@dataclass
class GraphDiff:
    """What a change does to the graph; each ``list`` of rows is a :class:`Rows`."""

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


def _volatile_mask(label: str) -> tuple[int, ...]:
    """Indexes of the row's properties that are not volatile."""
    volatile = _VOLATILE.get(label, set())
    return tuple(i for i, p in enumerate(NODE_PROPS[label]) if p not in volatile)


_STABLE: dict[str, tuple[int, ...]] = {label: _volatile_mask(label) for label in NODE_PROPS}


def _same_but_volatile(label: str, a: NodeRow, b: NodeRow) -> bool:
    return all(a[i] == b[i] for i in _STABLE[label])


def diff(old: Projection, new: Projection) -> GraphDiff:
    """Every difference between two whole projections."""
    out = GraphDiff()
    for label in PROJECTED_LABELS:
        before, after = old.nodes.get(label, {}), new.nodes.get(label, {})
        if not before:  # all new (a first ingest)
            out.added[label] = node_rows(label, list(after.items()))
            out.removed[label] = []
            out.updated[label] = node_rows(label, [])
            out.touched[label] = node_rows(label, [])
            continue
        out.added[label] = node_rows(label, [(i, after[i]) for i in after.keys() - before.keys()])
        out.removed[label] = sorted(before.keys() - after.keys())
        changed: list[tuple[str, NodeRow]] = []
        touched: list[tuple[str, NodeRow]] = []
        for i in after.keys() & before.keys():
            a, b = after[i], before[i]
            if a != b:
                (touched if _same_but_volatile(label, a, b) else changed).append((i, a))
        out.updated[label] = node_rows(label, changed)
        out.touched[label] = node_rows(label, touched)
    for name in PROJECTED_RELS:
        before_r, after_r = old.rels.get(name, {}), new.rels.get(name, {})
        if not before_r:
            out.rels_added[name] = rel_rows(name, list(after_r.items()))
            out.rels_removed[name] = rel_rows(name, [])
            out.rels_updated[name] = rel_rows(name, [])
            continue
        out.rels_added[name] = rel_rows(
            name, [(k, after_r[k]) for k in after_r.keys() - before_r.keys()]
        )
        out.rels_removed[name] = rel_rows(
            name, [(k, before_r[k]) for k in before_r.keys() - after_r.keys()]
        )
        out.rels_updated[name] = rel_rows(
            name,
            [
                (k, after_r[k])
                for k in after_r.keys() & before_r.keys()
                if after_r[k] != before_r[k]
            ],
        )
    return out


def diff_touched(
    before_nodes: Mapping[str, Mapping[str, NodeRow | None]],
    before_rels: Mapping[str, Mapping[RelKey, RelRow | None]],
    now: Projection,
) -> GraphDiff:
    """The difference over the keys a change touched: ``before_*`` holds each touched key's
    row before the change (None where it did not exist), ``now`` the projection after it."""
    out = GraphDiff()
    for label in PROJECTED_LABELS:
        added: list[tuple[str, NodeRow]] = []
        removed: list[str] = []
        changed: list[tuple[str, NodeRow]] = []
        touched: list[tuple[str, NodeRow]] = []
        after = now.nodes.get(label, {})
        for i, b in before_nodes.get(label, {}).items():
            a = after.get(i)
            if a == b:
                continue
            if b is None:
                added.append((i, a))  # type: ignore[arg-type]
            elif a is None:
                removed.append(i)
            else:
                (touched if _same_but_volatile(label, a, b) else changed).append((i, a))
        out.added[label] = node_rows(label, added)
        out.updated[label] = node_rows(label, changed)
        out.touched[label] = node_rows(label, touched)
        out.removed[label] = sorted(removed)
    for name in PROJECTED_RELS:
        after_r = now.rels.get(name, {})
        r_added: list[tuple[RelKey, RelRow]] = []
        r_removed: list[tuple[RelKey, RelRow]] = []
        r_updated: list[tuple[RelKey, RelRow]] = []
        for k, br in before_rels.get(name, {}).items():
            ar = after_r.get(k)
            if ar == br:
                continue
            if br is None:
                r_added.append((k, ar))  # type: ignore[arg-type]
            elif ar is None:
                r_removed.append((k, br))
            else:
                r_updated.append((k, ar))
        out.rels_added[name] = rel_rows(name, r_added)
        out.rels_removed[name] = rel_rows(name, r_removed)
        out.rels_updated[name] = rel_rows(name, r_updated)
    return out


#: Rows handed to the writer per call: it makes a call's rows its dictionaries (and, on the
#: embedded store, Arrow tables of up to ``writer.COPY_ROWS``) at once.
WRITE_ROWS = 100_000


def _parts(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """A difference's rows in parts of at most :data:`WRITE_ROWS` (made when read); none for
    no rows."""
    if not rows:
        return
    if len(rows) <= WRITE_ROWS or not isinstance(rows, Rows):
        yield rows
        return
    for start in range(0, len(rows), WRITE_ROWS):
        yield rows.part(start, start + WRITE_ROWS)  # type: ignore[misc]


#: Relationships removed or changed per statement, where the store is LadybugDB.
REL_BATCH = 5_000


def _ends(name: str) -> str:
    """A relationship between two ends found by key, on LadybugDB: the source is a key lookup,
    and the relationship is then followed from it (``OPTIONAL MATCH``: one that is no longer
    there is a null, which ``DELETE`` and ``SET`` pass over). The planner makes every other
    form we measured a hash join that scans the whole relationship table (and the source's
    node table) per statement: with the ends matched first, 1,000 removed placements took
    1.6 s against a million ``LOCATED_AT`` rows and 4 s against three million; this form
    follows only the source's own relationships (0.46 s at a million)."""
    spec = RELS[name]
    return (
        f"UNWIND $rows AS r MATCH (a:{spec.src}) WHERE a.id = r.src"
        f" OPTIONAL MATCH (a)-[e:{name}]->(b:{spec.dst}) WHERE b.id = r.dst"
    )


async def delete_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Remove relationships (``src``, ``dst``); on LadybugDB through :func:`_ends`."""
    if store.dialect != "ladybug":
        await writer.delete_rels(store, name, rows)
        return
    cypher = f"{_ends(name)} DELETE e"
    for start in range(0, len(rows), REL_BATCH):
        part = [{"src": r["src"], "dst": r["dst"]} for r in rows[start : start + REL_BATCH]]
        await store.execute(cypher, {"rows": part})


async def update_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Set the properties of existing relationships; on LadybugDB through :func:`_ends`,
    each property cast to its schema type (a column of nulls would otherwise be a string)."""
    props = RELS[name].props
    if not props:
        return
    if store.dialect != "ladybug":
        await writer.update_rels(store, name, rows)
        return
    sets = ", ".join(f"e.{p} = CAST(r.{p} AS {kind})" for p, kind in props.items())
    cypher = f"{_ends(name)} SET {sets}"
    for start in range(0, len(rows), REL_BATCH):
        part = [
            {"src": r["src"], "dst": r["dst"], **{p: r.get(p) for p in props}}
            for r in rows[start : start + REL_BATCH]
        ]
        await store.execute(cypher, {"rows": part})


async def update_volatile(store: GraphStore, label: str, rows: Sequence[dict[str, Any]]) -> None:
    """Nodes whose volatile properties alone moved (``GraphDiff.touched``): only those are
    set, on LadybugDB. Every endpoint a re-collected MAC table names is one (its last sighting
    moved): some ten thousand at 20,000 devices in a 1% change, each of whose nine properties
    was written, logged and checkpointed again where one had changed."""
    volatile = sorted(_VOLATILE.get(label, ()))
    if store.dialect != "ladybug" or not volatile:
        await writer.update_nodes(store, label, rows)
        return
    kinds = NODES[label].props
    sets = ", ".join(f"n.{p} = CAST(r.{p} AS {kinds[p]})" for p in volatile)
    cypher = f"UNWIND $rows AS r MATCH (n:{label}) WHERE n.id = r.id SET {sets}"
    for start in range(0, len(rows), writer.BATCH):
        part = [
            {"id": r["id"], **{p: r.get(p) for p in volatile}}
            for r in rows[start : start + writer.BATCH]
        ]
        await store.execute(cypher, {"rows": part})


async def apply_diff(store: GraphStore, d: GraphDiff) -> None:
    """Removals first (relationships, then nodes), then new nodes, updates, relationships;
    large writes in parts of :data:`WRITE_ROWS` rows."""
    for name, rows in d.rels_removed.items():
        if rows:
            await delete_rels(store, name, rows)
    for label, ids in d.removed.items():
        if ids:
            await writer.delete_nodes(store, label, ids)
    for label, rows in d.added.items():
        for some in _parts(rows):
            await writer.create_nodes(store, label, some)
    for label, rows in d.updated.items():
        for some in _parts(rows):
            await writer.update_nodes(store, label, some)
    for label, rows in d.touched.items():
        for some in _parts(rows):
            await update_volatile(store, label, some)
    for name, rows in d.rels_added.items():
        for some in _parts(rows):
            await writer.create_rels(store, name, some)
    for name, rows in d.rels_updated.items():
        for some in _parts(rows):
            await update_rels(store, name, some)


async def read_projection(store: GraphStore) -> Projection:
    """What the store holds now (to repair it after a crash between writes)."""
    current = Projection()
    for label in PROJECTED_LABELS:
        nodes = current.nodes[label]
        for node_id, row in (await writer.read_nodes(store, label)).items():
            nodes[node_id] = shape_node(label, row)
    for name in PROJECTED_RELS:
        rels = current.rels[name]
        props = REL_PROPS[name]
        for key, row in (await writer.read_rels(store, name)).items():
            rels[key] = tuple(row.get(p) for p in props)
    return current
