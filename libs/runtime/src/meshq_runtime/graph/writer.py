"""Batched, parameterised writes and full reads of the projected graph.

Lookups are written ``MATCH (n:Label) WHERE n.id = r.id``: LadybugDB plans that form as an
index lookup per row, while the ``{id: r.id}`` pattern form joins whole tables (100x slower
at 5,000 rows). Labels, relationship names and property names come from the generated
schema, never from input; values always travel as parameters (``UNWIND $rows``). LadybugDB
infers the type of a parameter column from its values, so every property is cast to its
schema type there (a batch where a column is all null would otherwise be typed STRING).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from meshq_runtime.graph.schema import NODES, RELS, ladybug_ddl, memgraph_ddl
from meshq_runtime.graph.store import GraphStore

__all__ = [
    "BATCH",
    "create_nodes",
    "create_rels",
    "delete_nodes",
    "delete_rels",
    "ensure_schema",
    "merge_rels",
    "read_nodes",
    "read_rels",
    "update_nodes",
    "update_rels",
]

log = structlog.get_logger(__name__)

BATCH = 5_000


async def ensure_schema(store: GraphStore) -> None:
    statements = ladybug_ddl() if store.dialect == "ladybug" else memgraph_ddl()
    for statement in statements:
        try:
            await store.execute(statement)
        except Exception as exc:  # Memgraph: the index exists already
            if store.dialect == "ladybug":
                raise
            log.debug("graph.schema_exists", statement=statement, error=str(exc)[:200])
    if store.dialect == "ladybug":
        await _add_new_properties(store)


async def _add_new_properties(store: GraphStore) -> None:
    """A LadybugDB graph made by an earlier version keeps its tables (``IF NOT EXISTS``): add
    the properties the model gained since, empty on existing rows, so it opens unchanged."""
    tables = [(n.label, n.props) for n in NODES.values()] + [
        (r.name, r.props) for r in RELS.values()
    ]
    for table, props in tables:
        have = {row["name"] for row in await store.execute(f"CALL table_info('{table}') RETURN *")}
        for name, kind in props.items():
            if name not in have:
                await store.execute(f"ALTER TABLE {table} ADD {name} {kind}")
                log.info("graph.property_added", table=table, property=name)


def _value(store: GraphStore, expr: str, kind: str) -> str:
    return f"CAST({expr} AS {kind})" if store.dialect == "ladybug" else expr


def _chunks(rows: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _assignments(store: GraphStore, var: str, props: dict[str, str]) -> str:
    return ", ".join(f"{var}.{p} = {_value(store, f'r.{p}', k)}" for p, k in props.items())


async def create_nodes(store: GraphStore, label: str, rows: Sequence[dict[str, Any]]) -> None:
    spec = NODES[label]
    fields = ", ".join(
        ["id: r.id"] + [f"{p}: {_value(store, f'r.{p}', k)}" for p, k in spec.props.items()]
    )
    cypher = f"UNWIND $rows AS r CREATE (n:{label} {{{fields}}})"
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def update_nodes(store: GraphStore, label: str, rows: Sequence[dict[str, Any]]) -> None:
    spec = NODES[label]
    sets = _assignments(store, "n", spec.props)
    cypher = f"UNWIND $rows AS r MATCH (n:{label}) WHERE n.id = r.id SET {sets}"
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def delete_nodes(store: GraphStore, label: str, ids: Sequence[str]) -> None:
    NODES[label]
    cypher = f"UNWIND $ids AS i MATCH (n:{label}) WHERE n.id = i DETACH DELETE n"
    for chunk in _chunks(ids):
        await store.execute(cypher, {"ids": list(chunk)})


async def create_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """New relationships (the caller knows they do not exist yet: no MERGE cost)."""
    spec = RELS[name]
    fields = ", ".join(f"{p}: {_value(store, f'r.{p}', k)}" for p, k in spec.props.items())
    body = f" {{{fields}}}" if fields else ""
    cypher = (
        f"UNWIND $rows AS r MATCH (a:{spec.src}) WHERE a.id = r.src"
        f" MATCH (b:{spec.dst}) WHERE b.id = r.dst"
        f" CREATE (a)-[:{name}{body}]->(b)"
    )
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def update_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Change the properties of existing relationships."""
    spec = RELS[name]
    if not spec.props:
        return
    cypher = (
        f"UNWIND $rows AS r MATCH (a:{spec.src})-[e:{name}]->(b:{spec.dst})"
        f" WHERE a.id = r.src AND b.id = r.dst SET {_assignments(store, 'e', spec.props)}"
    )
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def merge_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Relationships that may or may not exist yet."""
    spec = RELS[name]
    sets = f" SET {_assignments(store, 'e', spec.props)}" if spec.props else ""
    cypher = (
        f"UNWIND $rows AS r MATCH (a:{spec.src}) WHERE a.id = r.src"
        f" MATCH (b:{spec.dst}) WHERE b.id = r.dst"
        f" MERGE (a)-[e:{name}]->(b){sets}"
    )
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def delete_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    spec = RELS[name]
    cypher = (
        f"UNWIND $rows AS r MATCH (a:{spec.src})-[e:{name}]->(b:{spec.dst})"
        " WHERE a.id = r.src AND b.id = r.dst DELETE e"
    )
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [{"src": r["src"], "dst": r["dst"]} for r in chunk]})


async def read_nodes(store: GraphStore, label: str) -> dict[str, dict[str, Any]]:
    spec = NODES[label]
    cols = ", ".join(["n.id AS id"] + [f"n.{p} AS {p}" for p in spec.props])
    rows = await store.execute(f"MATCH (n:{label}) RETURN {cols}")
    return {row["id"]: row for row in rows}


async def read_rels(store: GraphStore, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    spec = RELS[name]
    cols = "".join(f", e.{p} AS {p}" for p in spec.props)
    rows = await store.execute(
        f"MATCH (a:{spec.src})-[e:{name}]->(b:{spec.dst}) RETURN a.id AS src, b.id AS dst{cols}"
    )
    return {(row["src"], row["dst"]): row for row in rows}


def _complete(row: dict[str, Any], props: dict[str, str]) -> dict[str, Any]:
    """Every schema property present (lists never null), plus the keys of the row."""
    out: dict[str, Any] = {k: row[k] for k in ("id", "src", "dst") if k in row}
    for p, kind in props.items():
        value = row.get(p)
        if kind.endswith("[]"):
            value = list(value) if value is not None else []
        out[p] = value
    return out
