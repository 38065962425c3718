"""The writer's columnar path (Arrow tables, ``COPY``/``LOAD FROM``) against a real LadybugDB:
whatever goes in through it reads back exactly as through ``UNWIND``, for every label and
relationship type, with nulls, lists and non-ASCII text, above and below the thresholds."""

from __future__ import annotations

import importlib.util
import itertools
import random
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from meshq_graph_engine.diff import read_projection
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph import writer
from meshq_runtime.graph.schema import NODES, RELS
from meshq_runtime.graph.store import ArrowStore, EmbeddedStore
from network_discovery.demo import load_snapshot

#: The labels projected from facts (the others are records: snapshots, fact sets, answers).
PROJECTED = sorted(label for label, spec in NODES.items() if spec.model is not None)
SYNTH = Path(__file__).resolve().parents[3] / "bench" / "synth.py"
TEXT = ("", "ge-0/0/1", "Büro 3 — Drucker", "交换机-北京", "emoji ✓ 🚀", "quote ' \" \\ end")


@contextmanager
def columnar(on: bool) -> Iterator[None]:
    """Every write of the block through one path (columnar from one row on, or never)."""
    saved = (writer.COPY_MIN_VALUES, writer.COPY_REL_MIN_ROWS, writer.LOAD_MIN_VALUES)
    least = 1 if on else 10**12
    writer.COPY_MIN_VALUES = writer.COPY_REL_MIN_ROWS = writer.LOAD_MIN_VALUES = least
    try:
        yield
    finally:
        writer.COPY_MIN_VALUES, writer.COPY_REL_MIN_ROWS, writer.LOAD_MIN_VALUES = saved


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedStore, EmbeddedStore]]:
    """Two fresh graphs: one written through UNWIND, one through the columnar path."""
    pair = (EmbeddedStore(tmp_path / "unwind" / "db"), EmbeddedStore(tmp_path / "copy" / "db"))
    for store in pair:
        await writer.ensure_schema(store)
    yield pair
    for store in pair:
        await store.close()


def _value(kind: str, rng: random.Random) -> Any:
    if kind.endswith("[]"):
        return [_value(kind[:-2], rng) for _ in range(rng.choice((0, 1, 3)))]
    if rng.random() < 0.3:
        return None
    return {
        "STRING": lambda: rng.choice(TEXT) + str(rng.randint(0, 99)),
        "INT64": lambda: rng.choice((0, -1, 1, 4094, 2**40, -(2**62))),
        "DOUBLE": lambda: rng.choice((0.0, 0.5, -2.25, 1e-9, 123456.789)),
        "BOOLEAN": lambda: rng.random() < 0.5,
    }[kind]()


def _rows(props: dict[str, str], n: int, seed: int, prefix: str = "") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = {"id": f"{prefix}{rng.choice(TEXT)}#{i}"}
        for name, kind in props.items():
            if rng.random() < 0.1:
                continue  # absent: stored as null (a list as empty)
            row[name] = _value(kind, rng)
        rows.append(row)
    return rows


def _expected(row: dict[str, Any], props: dict[str, str]) -> dict[str, Any]:
    keys = {k: row[k] for k in ("id", "src", "dst") if k in row}
    values = {p: row.get(p) for p in props}
    lists = {p: list(values[p] or []) for p, k in props.items() if k.endswith("[]")}
    return {**keys, **values, **lists}


async def _both(stores: tuple[EmbeddedStore, EmbeddedStore], write: Any) -> None:
    unwind, copy = stores
    with columnar(False):
        await write(unwind)
    with columnar(True):
        await write(copy)


@pytest.mark.parametrize("label", sorted(NODES))
async def test_every_label_reads_back_as_written(
    stores: tuple[EmbeddedStore, EmbeddedStore], label: str
) -> None:
    props = NODES[label].props
    rows = _rows(props, 40, seed=len(label))
    changed = [{**r, **_rows(props, 1, seed=i)[0], "id": r["id"]} for i, r in enumerate(rows[:25])]

    async def write(store: EmbeddedStore) -> None:
        await writer.create_nodes(store, label, rows)
        await writer.update_nodes(store, label, changed)

    await _both(stores, write)
    want = {r["id"]: _expected(r, props) for r in rows} | {
        r["id"]: _expected(r, props) for r in changed
    }
    unwind, copy = stores
    assert await writer.read_nodes(copy, label) == want
    assert await writer.read_nodes(unwind, label) == want


@pytest.mark.parametrize("name", sorted(RELS))
async def test_every_relationship_type_reads_back_as_written(
    stores: tuple[EmbeddedStore, EmbeddedStore], name: str
) -> None:
    spec = RELS[name]
    src, dst = _rows(NODES[spec.src].props, 12, 1, "a"), _rows(NODES[spec.dst].props, 12, 2, "b")
    rng = random.Random(name)
    pairs = sorted({(rng.choice(src)["id"], rng.choice(dst)["id"]) for _ in range(30)})
    rows = [
        {"src": a, "dst": b, **{p: _value(k, rng) for p, k in spec.props.items()}} for a, b in pairs
    ]
    changed = [{**r, **{p: _value(k, rng) for p, k in spec.props.items()}} for r in rows[::2]]

    async def write(store: EmbeddedStore) -> None:
        await writer.create_nodes(store, spec.src, src)
        if spec.dst != spec.src:
            await writer.create_nodes(store, spec.dst, dst)
        else:
            await writer.create_nodes(store, spec.dst, [r for r in dst if r["id"] not in src])
        await writer.create_rels(store, name, rows)
        await writer.update_rels(store, name, changed)
        await writer.delete_rels(store, name, rows[1:3])

    await _both(stores, write)
    want = {(r["src"], r["dst"]): _expected(r, spec.props) for r in rows} | {
        (r["src"], r["dst"]): _expected(r, spec.props) for r in changed
    }
    for gone in rows[1:3]:
        want.pop((gone["src"], gone["dst"]))
    unwind, copy = stores
    assert await writer.read_rels(copy, name) == want
    assert await writer.read_rels(unwind, name) == want


#: Interface rows on either side of each default threshold (a row: the id and 17 properties).
WIDTH = 1 + len(NODES["Interface"].props)
AROUND = {
    "one": 1,
    "below-load": -(-writer.LOAD_MIN_VALUES // WIDTH) - 1,
    "at-load": -(-writer.LOAD_MIN_VALUES // WIDTH),
    "below-copy": -(-writer.COPY_MIN_VALUES // WIDTH) - 1,
    "at-copy": -(-writer.COPY_MIN_VALUES // WIDTH),
    "several-tables": 2 * -(-writer.COPY_MIN_VALUES // WIDTH),
}


@pytest.mark.parametrize("size", sorted(AROUND))
async def test_large_and_small_batches_at_the_default_thresholds(
    stores: tuple[EmbeddedStore, EmbeddedStore], size: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Around each threshold, and in several Arrow tables (``COPY_ROWS`` made small)."""
    monkeypatch.setattr(writer, "COPY_ROWS", 1_500)
    props = NODES["Interface"].props
    batch = _rows(props, AROUND[size], seed=AROUND[size])
    updates = [{**r, "mtu": 9000, "trunk_vlans": [1, 2]} for r in batch]
    store = stores[1]
    await writer.create_nodes(store, "Interface", batch)
    await writer.update_nodes(store, "Interface", updates)
    assert await writer.read_nodes(store, "Interface") == {
        r["id"]: _expected(r, props) for r in updates
    }


async def test_relationships_above_the_threshold_in_several_tables(
    stores: tuple[EmbeddedStore, EmbeddedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "COPY_ROWS", 4_000)
    store = stores[1]
    n = writer.COPY_REL_MIN_ROWS + 10
    ifaces = [{"id": f"sw|Gi0/{i}", "device": "sw", "name": f"Gi0/{i}"} for i in range(n + 1)]
    links = [
        {"src": a["id"], "dst": b["id"], "evidence": "lldp", "confidence": i / n}
        for i, (a, b) in enumerate(itertools.pairwise(ifaces))
    ]
    await writer.create_nodes(store, "Interface", ifaces)
    await writer.create_rels(store, "CONNECTED_TO", links)
    assert await writer.read_rels(store, "CONNECTED_TO") == {(r["src"], r["dst"]): r for r in links}


async def test_values_not_of_their_schema_type_are_cast_as_before(
    stores: tuple[EmbeddedStore, EmbeddedStore],
) -> None:
    """Strings in an INT64 property, floats that are not whole, an integer in a STRING one:
    the UNWIND path's casts decide, as they did."""
    rows = [
        {"id": "a", "device": 7, "mtu": "1500", "speed_mbps": 1000.0},
        {"id": "b", "device": 8, "mtu": "9216", "speed_mbps": 2.5},
        {"id": "c", "device": None, "mtu": None, "trunk_vlans": (10, 20)},
    ]

    async def write(store: EmbeddedStore) -> None:
        await writer.create_nodes(store, "Interface", rows)

    await _both(stores, write)
    unwind, copy = stores
    assert await writer.read_nodes(copy, "Interface") == await writer.read_nodes(
        unwind, "Interface"
    )
    stored = await writer.read_nodes(copy, "Interface")
    assert (stored["a"]["mtu"], stored["a"]["device"], stored["c"]["trunk_vlans"]) == (
        1500,
        "7",
        [10, 20],
    )


async def test_a_failed_copy_writes_nothing_of_its_batch_and_says_what_went_in(
    stores: tuple[EmbeddedStore, EmbeddedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "COPY_ROWS", 100)
    store = stores[1]
    rows = [{"id": f"d{i}", "hostname": f"d{i}"} for i in range(250)]
    rows[230]["id"] = "d210"  # a key twice, in the third table
    with columnar(True), pytest.raises(writer.BulkWriteError) as failed:
        await writer.create_nodes(store, "Device", rows)
    assert (failed.value.written, failed.value.failed) == (200, 50)
    assert sorted(await writer.read_nodes(store, "Device")) == sorted(f"d{i}" for i in range(200))
    # and a key the table holds already
    with columnar(True), pytest.raises(writer.BulkWriteError) as failed:
        await writer.create_nodes(store, "Device", [{"id": "new"}, {"id": "d5"}])
    assert failed.value.written == 0
    assert "new" not in await writer.read_nodes(store, "Device")


async def test_relationships_to_missing_nodes_are_skipped_as_before(
    stores: tuple[EmbeddedStore, EmbeddedStore],
) -> None:
    """A relationship COPY fails on a missing end: the batch goes through UNWIND instead."""
    nodes = [{"id": "x|1", "device": "x"}, {"id": "y|1", "device": "y"}]
    rels = [
        {"src": "x|1", "dst": "y|1", "evidence": "lldp", "confidence": 1.0},
        {"src": "x|1", "dst": "gone", "evidence": "cdp", "confidence": 0.5},
    ]

    async def write(store: EmbeddedStore) -> None:
        await writer.create_nodes(store, "Interface", nodes)
        await writer.create_rels(store, "CONNECTED_TO", rels)

    await _both(stores, write)
    unwind, copy = stores
    assert await writer.read_rels(copy, "CONNECTED_TO") == {("x|1", "y|1"): rels[0]}
    assert await writer.read_rels(unwind, "CONNECTED_TO") == {("x|1", "y|1"): rels[0]}


async def test_a_failed_relationship_copy_is_written_in_halves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bad row among many: the COPY is tried again in halves, and only the part of at
    most ``SPLIT_MIN_ROWS`` rows around the bad row is written row by row."""
    store = EmbeddedStore(tmp_path / "db")
    await writer.ensure_schema(store)
    monkeypatch.setattr(writer, "SPLIT_MIN_ROWS", 500)
    nodes = [{"id": f"sw|{i}", "device": "sw"} for i in range(8_001)]
    await writer.create_nodes(store, "Interface", nodes)
    rels = [
        {"src": f"sw|{2 * i}", "dst": f"sw|{2 * i + 1}", "evidence": "lldp", "confidence": 1.0}
        for i in range(4_000)
    ]
    rels[2_222] = {**rels[2_222], "dst": "gone"}  # an end the table does not hold
    unwound: list[int] = []
    real = writer._unwind_create_rels

    async def counted(s: Any, name: str, rows: Any) -> None:
        unwound.append(len(rows))
        await real(s, name, rows)

    monkeypatch.setattr(writer, "_unwind_create_rels", counted)
    monkeypatch.setattr(writer, "COPY_REL_MIN_ROWS", 1)
    await writer.create_rels(store, "CONNECTED_TO", rels)
    stored = await writer.read_rels(store, "CONNECTED_TO")
    want = {(r["src"], r["dst"]): r for i, r in enumerate(rels) if i != 2_222}
    assert stored == want
    assert len(unwound) == 1 and unwound[0] <= 500  # 4,000 -> 2,000 -> 1,000 -> 500
    await store.close()


async def test_the_store_keeps_no_plan_per_arrow_table(
    stores: tuple[EmbeddedStore, EmbeddedStore],
) -> None:
    store = stores[1]
    assert isinstance(store, ArrowStore)
    with columnar(True):
        for i in range(5):
            rows = [{"id": f"{i}-{j}", "device": "sw"} for j in range(3)]
            await writer.create_nodes(store, "Interface", rows)
            await writer.update_nodes(store, "Interface", rows)
    plans = [
        key[0] for conn in store._conn.connections for key in conn._pybind_implicit_prepared_cache
    ]
    assert not [p for p in plans if p.startswith(("COPY", "LOAD"))]
    assert len(await writer.read_nodes(store, "Interface")) == 15


async def test_the_engine_writes_the_same_graph_through_either_path(tmp_path: Path) -> None:
    """What the engine projects is what the store reads back (no drift, so no endless updates),
    and the two paths leave the same graph."""
    graphs = []
    for on in (False, True):
        store = EmbeddedStore(tmp_path / str(on) / "db")
        try:
            with columnar(on):
                engine = GraphEngine(store)
                await engine.start()
                await engine.apply_snapshot(load_snapshot())
                assert await _projected(store) == _held(engine)
                again = await engine.apply_snapshot(load_snapshot())
                assert again.empty and not again.updated
            graphs.append(await _graph(store))
        finally:
            await store.close()
    assert graphs[0] == graphs[1]


async def _graph(store: EmbeddedStore) -> dict[str, Any]:
    """Every projected node and relationship the store holds, as the writer reads them."""
    nodes = {label: await writer.read_nodes(store, label) for label in PROJECTED}
    rels = {name: await writer.read_rels(store, name) for name in RELS}
    return nodes | rels


def _nonempty(projection: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        {k: dict(v) for k, v in projection.nodes.items() if v},
        {k: dict(v) for k, v in projection.rels.items() if v},
    )


async def _projected(store: EmbeddedStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the engine reads back from the store to compare with its projection."""
    return _nonempty(await read_projection(store))


def _held(engine: GraphEngine) -> tuple[dict[str, Any], dict[str, Any]]:
    return _nonempty(engine.projection)


@cache
def _synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_synth_bulk_writes", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def test_a_generated_network_through_either_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The synthetic campus (thousands of interfaces and endpoints: the default thresholds send
    them through COPY; the relationships' threshold is lowered for this small network) and a
    change to a tenth of it give the same graph as through UNWIND alone."""
    monkeypatch.setattr(writer, "COPY_REL_MIN_ROWS", 2_000)
    net = _synth().generate(100)
    change = _synth().incremental_change(net, fraction=0.1)
    graphs = []
    for path, forced in (("default", None), ("unwind", False)):
        store = EmbeddedStore(tmp_path / path / "db")
        try:
            engine = GraphEngine(store)
            paths: AbstractContextManager[None] = (
                nullcontext() if forced is None else columnar(forced)
            )
            with paths:
                await engine.start()
                await engine.apply_snapshot(net.snapshot)
                changed = await engine.apply_snapshot(change)
                assert changed.updated and not (await engine.apply_snapshot(change)).updated
            assert await _projected(store) == _held(engine)
            graphs.append(await _graph(store))
        finally:
            await store.close()
    assert len(graphs[0]["Interface"]) * WIDTH >= writer.COPY_MIN_VALUES
    assert len(graphs[0]["HAS_INTERFACE"]) >= writer.COPY_REL_MIN_ROWS
    assert graphs[0] == graphs[1]
