"""Batched, parameterised writes and full reads of the projected graph.

Two paths, the same rows in the store:

- ``UNWIND $rows`` batches of :data:`BATCH` rows, for Memgraph, for deletions and for small
  writes. Lookups
  are written ``MATCH (n:Label) WHERE n.id = r.id``: LadybugDB plans that form as an index
  lookup per row, while the ``{id: r.id}`` pattern form joins whole tables (100x slower at
  5,000 rows). LadybugDB infers the type of a parameter column from its values, so every
  property is cast to its schema type there (a batch where a column is all null would
  otherwise be typed STRING).
- On a store that scans Arrow tables (the embedded LadybugDB), large writes go columnar: the
  rows become one Arrow table per :data:`COPY_ROWS` rows, typed by the schema, and go in with
  ``COPY Label(columns) FROM $rows`` (new nodes and relationships) or ``LOAD FROM $rows … SET``
  (updates), from the sizes below. Converting a parameter row by row is what a write costs in
  the binding; an Arrow column is handed over whole. A column whose values are not of the
  schema type (a string in an INT64 property) is not coerced here: that batch takes the
  ``UNWIND`` path, whose casts decide it as before.

Each ``COPY`` is one transaction: one that fails writes nothing. New nodes whose key exists
already fail the batch (as ``CREATE`` does) and raise :class:`BulkWriteError`, which says how
many rows of the call were stored before it. A relationship ``COPY`` also fails when an end
node is missing, where ``MATCH … CREATE`` skips that row: such a batch is written again through
``UNWIND``, with the same outcome as before.

Labels, relationship names and property names come from the generated schema, never from
input; values always travel as parameters or as Arrow columns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa
import structlog

from meshq_runtime.graph.schema import NODES, RELS, ladybug_ddl, memgraph_ddl
from meshq_runtime.graph.store import ArrowStore, GraphStore

__all__ = [
    "BATCH",
    "COPY_MIN_VALUES",
    "COPY_REL_MIN_ROWS",
    "COPY_ROWS",
    "LOAD_MIN_VALUES",
    "BulkWriteError",
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

#: Rows per ``UNWIND`` statement.
BATCH = 5_000
#: When a write to a store that scans Arrow tables goes columnar (``python -m bench --only
#: store`` measures where the paths cross). ``UNWIND`` costs per value (a row's properties
#: converted one by one: 3-7 µs each for a new node's or an update's, and some 35 µs
#: per new relationship, which looks up both ends); a ``COPY`` into a table that holds rows
#: already costs a fixed 150-450 ms, growing with the table, ``LOAD FROM`` about 20 ms. So new
#: nodes go columnar from :data:`COPY_MIN_VALUES` values (rows times properties: some 2,200
#: interfaces, 4,000 endpoints), updates from :data:`LOAD_MIN_VALUES`, new relationships from
#: :data:`COPY_REL_MIN_ROWS` rows.
COPY_MIN_VALUES = 40_000
LOAD_MIN_VALUES = 6_000
COPY_REL_MIN_ROWS = 10_000
#: Rows per Arrow table: bounds the memory of the columnar copy of a large write.
COPY_ROWS = 200_000

_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}


class BulkWriteError(RuntimeError):
    """A columnar batch failed (it wrote nothing); ``written`` rows of the call were stored
    before it, by the batches that went in."""

    def __init__(self, table: str, written: int, failed: int, cause: BaseException) -> None:
        super().__init__(
            f"{table}: a batch of {failed} rows failed, {written} rows before it were written:"
            f" {cause}"
        )
        self.table, self.written, self.failed = table, written, failed


_Unwind = Callable[[GraphStore, str, Sequence[dict[str, Any]]], Awaitable[None]]


class _NotColumnar(Exception):
    """A column whose values are not of its schema type (the ``UNWIND`` path casts them)."""


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


def _chunks(rows: Sequence[Any], size: int = BATCH) -> Iterable[Sequence[Any]]:
    """Parts of ``rows``; rows that make their dictionaries only when read (they have a
    ``part``: a graph difference's) stay so."""
    if not rows:
        return
    if len(rows) <= size:
        yield rows
        return
    for start in range(0, len(rows), size):
        yield _part(rows, start, start + size)


def _assignments(store: GraphStore, var: str, props: dict[str, str]) -> str:
    return ", ".join(f"{var}.{p} = {_value(store, f'r.{p}', k)}" for p, k in props.items())


def _columnar(
    store: GraphStore, rows: Sequence[Any], least: int, width: int = 1
) -> ArrowStore | None:
    """The store, where these rows of ``width`` values go columnar (``least`` values)."""
    return store if len(rows) * width >= least and isinstance(store, ArrowStore) else None


async def create_nodes(store: GraphStore, label: str, rows: Sequence[dict[str, Any]]) -> None:
    spec = NODES[label]
    if (bulk := _columnar(store, rows, COPY_MIN_VALUES, 1 + len(spec.props))) is not None:
        columns = {"id": "STRING", **spec.props}
        cypher = f"COPY {label}({', '.join(columns)}) FROM $rows"
        await _bulk(bulk, label, cypher, rows, columns, _unwind_create_nodes, fallback=False)
    else:
        await _unwind_create_nodes(store, label, rows)


async def _unwind_create_nodes(store: GraphStore, label: str, rows: Sequence[Any]) -> None:
    spec = NODES[label]
    fields = ", ".join(
        ["id: r.id"] + [f"{p}: {_value(store, f'r.{p}', k)}" for p, k in spec.props.items()]
    )
    cypher = f"UNWIND $rows AS r CREATE (n:{label} {{{fields}}})"
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def update_nodes(store: GraphStore, label: str, rows: Sequence[dict[str, Any]]) -> None:
    spec = NODES[label]
    if (bulk := _columnar(store, rows, LOAD_MIN_VALUES, 1 + len(spec.props))) is not None:
        columns = {"id": "STRING", **spec.props}
        sets = ", ".join(f"n.{p} = c{i}" for i, p in enumerate(spec.props, start=1))
        cypher = f"LOAD FROM $rows MATCH (n:{label}) WHERE n.id = c0 SET {sets}"
        await _bulk(bulk, label, cypher, rows, columns, _unwind_update_nodes, fallback=False)
    else:
        await _unwind_update_nodes(store, label, rows)


async def _unwind_update_nodes(store: GraphStore, label: str, rows: Sequence[Any]) -> None:
    spec = NODES[label]
    sets = _assignments(store, "n", spec.props)
    cypher = f"UNWIND $rows AS r MATCH (n:{label}) WHERE n.id = r.id SET {sets}"
    for chunk in _chunks(rows):
        await store.execute(cypher, {"rows": [_complete(row, spec.props) for row in chunk]})


async def delete_nodes(store: GraphStore, label: str, ids: Sequence[str]) -> None:
    """Nodes and their relationships (``LOAD FROM`` measured no faster here)."""
    NODES[label]
    cypher = f"UNWIND $ids AS i MATCH (n:{label}) WHERE n.id = i DETACH DELETE n"
    for chunk in _chunks(ids):
        await store.execute(cypher, {"ids": list(chunk)})


async def create_rels(store: GraphStore, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """New relationships (the caller knows they do not exist yet: no MERGE cost)."""
    spec = RELS[name]
    if (bulk := _columnar(store, rows, COPY_REL_MIN_ROWS)) is not None:
        props = f"({', '.join(spec.props)})" if spec.props else ""
        cypher = f"COPY {name}{props} FROM $rows"
        columns = {"src": "STRING", "dst": "STRING", **spec.props}
        await _bulk(bulk, name, cypher, rows, columns, _unwind_create_rels, fallback=True)
    else:
        await _unwind_create_rels(store, name, rows)


async def _unwind_create_rels(store: GraphStore, name: str, rows: Sequence[Any]) -> None:
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
    if (bulk := _columnar(store, rows, LOAD_MIN_VALUES, 2 + len(spec.props))) is not None:
        sets = ", ".join(f"e.{p} = c{i}" for i, p in enumerate(spec.props, start=2))
        cypher = (
            f"LOAD FROM $rows MATCH (a:{spec.src})-[e:{name}]->(b:{spec.dst})"
            f" WHERE a.id = c0 AND b.id = c1 SET {sets}"
        )
        columns = {"src": "STRING", "dst": "STRING", **spec.props}
        await _bulk(bulk, name, cypher, rows, columns, _unwind_update_rels, fallback=False)
    else:
        await _unwind_update_rels(store, name, rows)


async def _unwind_update_rels(store: GraphStore, name: str, rows: Sequence[Any]) -> None:
    spec = RELS[name]
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


async def _bulk(
    store: ArrowStore,
    table: str,
    cypher: str,
    rows: Sequence[dict[str, Any]],
    columns: dict[str, str],
    unwind: _Unwind,
    *,
    fallback: bool,
) -> None:
    """``cypher`` over ``rows`` as Arrow tables of :data:`COPY_ROWS` rows (columns ``c0``…
    in the order of ``columns``); ``unwind(store, table, rows)`` writes a batch that is not
    columnar, or (``fallback``) one whose statement failed."""
    written = 0
    for chunk in _chunks(rows, COPY_ROWS):
        try:
            batch = _arrow_table(chunk, columns)
        except _NotColumnar as exc:
            log.info("graph.write_unwind", table=table, rows=len(chunk), reason=str(exc)[:200])
            await unwind(store, table, chunk)
            written += len(chunk)
            continue
        try:
            await store.execute_arrow(cypher, batch)
        except Exception as exc:
            if not fallback:
                raise BulkWriteError(table, written, len(chunk), exc) from exc
            await _split(store, table, cypher, chunk, batch, unwind, exc)
        written += len(chunk)


#: A columnar write that failed is tried again in halves down to this many rows; the rest
#: (the part that still fails) is written row by row.
SPLIT_MIN_ROWS = 2_000


async def _split(
    store: ArrowStore,
    table: str,
    cypher: str,
    chunk: Sequence[Any],
    batch: pa.Table,
    unwind: _Unwind,
    cause: BaseException,
) -> None:
    """A columnar write that failed (it wrote nothing: one transaction), written in halves.

    LadybugDB's relationship ``COPY`` now and then fails to find an end's key that its table
    holds ("Unable to find primary key value", a multi-threaded lookup of string keys; the
    same rows written by ``MATCH … CREATE`` find it). A whole part of 100,000 rows written
    row by row took 50 s at 50,000 devices; halving confines that to the few rows around the
    key."""
    if len(chunk) <= SPLIT_MIN_ROWS:
        log.warning("graph.write_unwind", table=table, rows=len(chunk), reason=str(cause)[:200])
        await unwind(store, table, chunk)
        return
    log.info("graph.write_split", table=table, rows=len(chunk), reason=str(cause)[:200])
    half = len(chunk) // 2
    for start, stop in ((0, half), (half, len(chunk))):
        part = _part(chunk, start, stop)
        rows = batch.slice(start, stop - start)
        try:
            await store.execute_arrow(cypher, rows)
        except Exception as exc:
            await _split(store, table, cypher, part, rows, unwind, exc)


def _part(rows: Sequence[Any], start: int, stop: int) -> Sequence[Any]:
    part = getattr(rows, "part", None)
    return part(start, stop) if part is not None else rows[start:stop]


def _arrow_table(rows: Sequence[dict[str, Any]], columns: dict[str, str]) -> pa.Table:
    """The rows as the columns ``c0``, ``c1``… of their schema types (lists never null).
    Rows that give their values a column at a time (``column(name)``: a graph difference's)
    are read so, with no dictionary per row."""
    by_column = getattr(rows, "column", None)
    dicts: Sequence[dict[str, Any]] | None = None
    arrays = []
    for name, kind in columns.items():
        values: list[Any] | None = by_column(name) if by_column is not None else None
        if values is None:
            if dicts is None:
                dicts = rows if by_column is None else list(rows)
            values = [row.get(name) for row in dicts]
        if kind.endswith("[]"):
            values = [list(v) if v is not None else [] for v in values]
        arrays.append(_column(name, values, kind))
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])


def _arrow_type(kind: str) -> pa.DataType:
    return pa.list_(_arrow_type(kind[:-2])) if kind.endswith("[]") else _ARROW[kind]


def _column(name: str, values: list[Any], kind: str) -> pa.Array | pa.ChunkedArray:
    """An Arrow column of ``kind``. Arrow infers the values' type first (converting straight
    to the target would truncate 1.5 to an INT64 1); only what widens without loss is cast."""
    target = _arrow_type(kind)
    try:
        array = pa.array(values)
        if array.type == target:
            return array
        if _widens(array.type, target):
            return array.cast(target)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise _NotColumnar(f"{name}: {exc}") from exc
    raise _NotColumnar(f"{name}: {array.type} is not {kind}")


def _widens(have: pa.DataType, want: pa.DataType) -> bool:
    if pa.types.is_null(have):
        return True
    if pa.types.is_list(have) and pa.types.is_list(want):
        inner_have, inner_want = have.value_type, want.value_type
        return bool(inner_have == inner_want or _widens(inner_have, inner_want))
    if pa.types.is_large_string(have) and pa.types.is_string(want):
        return True
    return bool(pa.types.is_integer(have) and pa.types.is_floating(want))


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
