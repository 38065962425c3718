"""What keeps graph-engine's memory bounded: a snapshot read into rows without all its models
(validated exactly as the model validates it), an apply from those rows, compressed fact sets
in the store, and the embedded store's bounded buffer pool."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from meshq_graph_engine.archive import SnapshotArchive
from meshq_graph_engine.diff import read_projection
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.facts import (
    FactStore,
    SnapshotFacts,
    facts_by_scope,
    payload_facts,
    read_snapshot,
    row_dict,
    set_json,
    set_payload,
)
from meshq_graph_engine.settings import Settings
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import EmbeddedStore, default_buffer_pool_mb, open_graph_store
from network_discovery.model import Snapshot
from pydantic import ValidationError

SYNTH = Path(__file__).resolve().parents[3] / "bench" / "synth.py"


def _synth() -> ModuleType:
    found = sys.modules.get("bench_synth")
    if found is not None:
        return found
    spec = importlib.util.spec_from_file_location("bench_synth", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_synth"] = module
    spec.loader.exec_module(module)
    return module


async def _graph(engine: GraphEngine) -> Any:
    projection = await read_projection(engine.store)
    return projection.nodes, projection.rels


async def test_facts_read_as_rows_apply_as_the_snapshot_does(tmp_path: Path) -> None:
    synth = _synth()
    net = synth.generate(40, seed=11)
    change = synth.incremental_change(net, 0.2, seed=12)
    graphs, results = [], []
    for how in ("snapshot", "rows"):
        store = EmbeddedStore(tmp_path / how / "db")
        archive = SnapshotArchive(tmp_path / how / "archive")
        engine = GraphEngine(store, archive=archive)
        await engine.start()
        steps = []
        for snapshot in (net.snapshot, change):
            if how == "snapshot":
                steps.append(await engine.apply_snapshot(snapshot))
            else:
                facts = read_snapshot(snapshot.model_dump_json().encode())
                assert facts == SnapshotFacts.of(snapshot)
                steps.append(await engine.apply_snapshot(facts))
                # archived from its rows: the same snapshot, its facts in another order
                kept = archive.load(snapshot.snapshot_id)
                assert kept is not None and SnapshotFacts.of(kept) == facts
        graphs.append(await _graph(engine))
        results.append([(r.added, r.removed, r.updated, r.scope_devices) for r in steps])
        records = await store.execute(
            "MATCH (s:Snapshot) RETURN s.id AS id, s.source AS source, "
            "s.collected_at AS collected_at, s.summary AS summary ORDER BY id"
        )
        for record in records:
            record["summary"] = json.loads(record["summary"])
        graphs[-1] = (*graphs[-1], records)
        await store.close()
    assert graphs[0] == graphs[1]
    assert results[0] == results[1]
    assert results[0][0][0]["interfaces"] > 0 and results[0][1] != results[0][0]


def _errors(data: bytes | str) -> list[Any]:
    try:
        Snapshot.model_validate_json(data)
    except ValidationError as exc:
        return [str(exc), exc.errors(include_url=False, include_context=False)]
    raise AssertionError("valid")


def _invalid(good: dict[str, Any]) -> list[tuple[str, str]]:
    """Snapshots that are not valid, each a different way (JSON text, as a client sends)."""
    out: list[tuple[str, str]] = []

    def case(name: str, change: Any) -> None:
        data = json.loads(json.dumps(good))
        change(data)
        out.append((name, json.dumps(data, indent=1)))

    case("a fact of a field's wrong type", lambda d: d["interfaces"][3].update(mtu="big"))
    case("a fact with an unknown field", lambda d: d["interfaces"][0].update(colour="red"))
    case("a fact outside the scope", lambda d: d["interfaces"][0].update(device="nowhere"))
    case("a duplicate fact", lambda d: d["interfaces"].append(d["interfaces"][0]))
    case("a kind not declared", lambda d: d["scope"][0].update(facts=["device"]))
    case("a device listed twice in scope", lambda d: d["scope"].append(d["scope"][0]))
    case("a scope device without its record", lambda d: d["devices"].pop())
    case("an unmanaged device", lambda d: d["devices"][0].update(managed=False))
    case("no scope", lambda d: d.pop("scope"))
    case("an unknown member", lambda d: d.update(extra=[]))
    case("a list that is not a list", lambda d: d.update(interfaces={"a": 1}))
    case("a neighbour of a kind not declared", lambda d: d["neighbors"][0].update(protocol="cdp"))
    case("a bad identifier", lambda d: d.update(snapshot_id="-no"))
    out.append(("not JSON", json.dumps(good)[:-3]))
    out.append(("text after it", json.dumps(good) + " []"))
    return out


def test_a_snapshot_read_as_rows_is_refused_exactly_as_the_model_refuses_it() -> None:
    good = json.loads(_synth().generate(12, seed=4).snapshot.model_dump_json())
    for name, text in _invalid(good):
        want = _errors(text.encode())
        with pytest.raises(ValidationError) as caught:
            read_snapshot(text.encode())
        got = caught.value
        assert [str(got), got.errors(include_url=False, include_context=False)] == want, name
    # what the model accepts, the reading accepts: a member given twice counts the last time
    twice = '{"scope": [], ' + json.dumps(good)[1:]
    assert read_snapshot(twice.encode()) == SnapshotFacts.of(Snapshot.model_validate_json(twice))


def test_fact_sets_are_stored_compressed_and_read_back_either_way() -> None:
    grouped = facts_by_scope(_synth().generate(20, seed=5).snapshot)
    plain = sum(len(set_json(rows)) for rows in grouped.values())
    packed = sum(len(set_payload(rows)) for rows in grouped.values())
    assert packed * 4 < plain
    for rows in grouped.values():
        want = [row_dict(r) for r in rows]
        assert payload_facts(set_payload(rows)) == want
        # payloads earlier versions wrote (the JSON list of facts, plain or deflated) still read
        assert payload_facts(set_json(rows)) == want
        deflated = base64.b64encode(zlib.compress(set_json(rows).encode())).decode()
        assert payload_facts("z:" + deflated) == want
    # the packed form keeps each field's name once: smaller than the list of facts deflated
    deflated_lists = sum(
        len(base64.b64encode(zlib.compress(set_json(rows).encode(), 1)))
        for rows in grouped.values()
    )
    assert packed < deflated_lists
    again = FactStore()
    again.load(
        [
            {
                "device": d,
                "kind": k,
                "snapshot_id": "s",
                "collected_at": "2026-03-01T08:00:00+00:00",
                "payload": set_payload(rows) if i % 2 else set_json(rows),
            }
            for i, ((d, k), rows) in enumerate(grouped.items())
        ],
        [],
    )
    assert again.sets == grouped


async def test_the_store_buffer_pool_is_bounded_and_configurable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = default_buffer_pool_mb()
    assert 512 <= default <= 2048
    monkeypatch.setenv("MESHQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MESHQ_GRAPH_BUFFER_POOL_MB", "640")
    monkeypatch.delenv("MEMGRAPH_URI", raising=False)
    settings = Settings()
    assert settings.graph_buffer_pool_mb == 640
    store = open_graph_store(settings)
    assert isinstance(store, EmbeddedStore) and store.buffer_pool_mb == 640
    await store.close()
    monkeypatch.delenv("MESHQ_GRAPH_BUFFER_POOL_MB")
    assert Settings().graph_buffer_pool_mb is None
    other = EmbeddedStore(tmp_path / "other" / "db")
    assert other.buffer_pool_mb == default
    await other.close()
    monkeypatch.setenv("MESHQ_GRAPH_BUFFER_POOL_MB", "100")
    with pytest.raises(ValueError, match="MESHQ_GRAPH_BUFFER_POOL_MB"):
        Settings()


async def test_large_writes_go_in_parts_and_leave_the_same_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshq_graph_engine import diff

    synth = _synth()
    net = synth.generate(30, seed=8)
    change = synth.incremental_change(net, 0.3, seed=9)
    graphs = []
    for how, size in (("whole", diff.WRITE_ROWS), ("parts", 97)):
        monkeypatch.setattr(diff, "WRITE_ROWS", size)
        calls: list[int] = []
        create = writer.create_nodes

        async def counted(
            store: Any, label: str, rows: Any, create: Any = create, calls: Any = calls
        ) -> None:
            if label in diff.PROJECTED_LABELS:  # the graph's nodes (not fact sets, records)
                calls.append(len(rows))
            await create(store, label, rows)

        monkeypatch.setattr(writer, "create_nodes", counted)
        store = EmbeddedStore(tmp_path / how / "db")
        engine = GraphEngine(store)
        await engine.start()
        for snapshot in (net.snapshot, change):
            await engine.apply_snapshot(snapshot)
        assert calls and all(0 < n <= size for n in calls)
        assert how == "whole" or max(calls) == size  # some write was split
        graphs.append(await _graph(engine))
        await store.close()
        monkeypatch.setattr(writer, "create_nodes", create)
    assert graphs[0] == graphs[1]


def test_the_allocator_is_tuned_unless_the_environment_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from meshq_graph_engine import _memory

    glibc = _memory._libc() is not None
    try:
        monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
        _memory.tune_allocator.cache_clear()
        assert _memory.tune_allocator() is False
        monkeypatch.delenv("MALLOC_ARENA_MAX")
        _memory.tune_allocator.cache_clear()
        assert _memory.tune_allocator() is glibc
    finally:
        _memory.tune_allocator.cache_clear()
    _memory.release_free_memory()
