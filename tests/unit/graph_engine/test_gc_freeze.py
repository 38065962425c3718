"""The cyclic collector after a build or an apply: what the block left is collected once and
frozen; the frozen population is rebuilt whole (so cycles among frozen objects are freed)
once it grows by a quarter, or after the interval."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from meshq_graph_engine import _gc
from meshq_graph_engine.engine import GraphEngine
from network_discovery.model import Snapshot

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"


class Node:
    """A weakly referable object to hang in a reference cycle."""

    def __init__(self) -> None:
        self.me: Any = self


def _tracked(obj: object) -> bool:
    """Whether the collector's generations hold ``obj`` (frozen objects are in none)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing frozen and no rebuild yet, before and after each test."""
    gc.unfreeze()
    monkeypatch.setattr(_gc, "_state", _gc._Frozen())
    monkeypatch.setattr(_gc, "SETTLE_MIN_OBJECTS", 500)
    yield
    gc.unfreeze()


def test_the_outermost_block_freezes_what_it_made() -> None:
    with _gc.collector_paused():
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)
    assert not _tracked(made) and not _tracked(made[0])
    assert 0 < _gc.frozen()[1] <= gc.get_freeze_count() + 100
    # a frozen object is still freed as soon as nothing refers to it
    before = gc.get_freeze_count()
    del made
    assert gc.get_freeze_count() <= before - 1000


def test_nested_blocks_settle_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(_gc, "settle", lambda **_: calls.append(True))
    monkeypatch.setattr(_gc, "SETTLE_MIN_OBJECTS", 0)
    with _gc.collector_paused():
        with _gc.collector_paused():
            pass
        assert not gc.isenabled() and not calls
    assert gc.isenabled() and calls == [True]


def test_blocks_in_two_threads_settle_once_when_both_are_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(_gc, "settle", lambda **_: calls.append(True))
    monkeypatch.setattr(_gc, "SETTLE_MIN_OBJECTS", 0)
    opened, release = threading.Event(), threading.Event()

    def reader() -> None:
        with _gc.collector_paused():
            opened.set()
            release.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    assert opened.wait(10)
    with _gc.collector_paused():
        pass
    assert not gc.isenabled() and not calls  # the other block is still open
    release.set()
    thread.join(10)
    assert gc.isenabled() and calls == [True]


def test_small_blocks_are_settled_once_they_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_gc, "SETTLE_MIN_OBJECTS", 10_000)
    gc.collect()
    kept = []
    with _gc.collector_paused():  # a patch's few objects: left to the young collections
        kept.append([[i] for i in range(3000)])
    assert gc.isenabled() and _tracked(kept[-1])
    assert gc.get_freeze_count() == 0 and 3000 <= _gc._state.unsettled
    gc.collect()
    with _gc.collector_paused():  # with the earlier ones, enough to settle
        kept.append([[i] for i in range(8000)])
    assert not _tracked(kept[-1]) and not _tracked(kept[0])
    assert gc.get_freeze_count() >= 11_000 and _gc._state.unsettled == 0


def test_a_block_with_the_collector_off_freezes_nothing() -> None:
    gc.disable()
    try:
        with _gc.collector_paused():
            made = [[i] for i in range(100)]
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert _tracked(made) and gc.get_freeze_count() == 0


def test_a_cycle_left_by_an_old_revision_is_freed_once_the_frozen_population_grows() -> None:
    with _gc.collector_paused():
        old = Node()
        graph = [[i] for i in range(2000)]
    gone = weakref.ref(old)
    del old
    gc.collect()
    assert gone() is not None  # frozen: no collection sees the cycle

    with _gc.collector_paused():  # a small change: frozen again, not rebuilt
        graph.append([-1])
    assert gone() is not None and _gc._state.rebuilds == 1

    grow = _gc.frozen()[1] // 3  # more than a quarter of what is frozen
    with _gc.collector_paused():
        graph.extend([i] for i in range(grow))
    assert gone() is None
    assert _gc._state.rebuilds == 2
    assert not _tracked(graph)


def test_the_frozen_population_is_rebuilt_after_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_gc, "SETTLE_MIN_OBJECTS", 0)
    with _gc.collector_paused():
        old = Node()
    gone = weakref.ref(old)
    del old
    with _gc.collector_paused():
        pass
    assert gone() is not None
    monkeypatch.setattr(_gc, "REFREEZE_INTERVAL_S", 0.0)
    with _gc.collector_paused():
        pass
    assert gone() is None


async def test_an_apply_freezes_the_graph_it_keeps(engine: GraphEngine) -> None:
    snapshot = Snapshot.model_validate(yaml.safe_load(FIXTURE.read_text()))
    await engine.apply_snapshot(snapshot)
    devices = engine.projection.nodes["Device"]
    assert devices and gc.get_freeze_count() > 0
    assert not _tracked(devices)
    assert gc.isenabled()
    # the next apply leaves the graph frozen too, and frees what the first one left behind
    result = await engine.apply_snapshot(snapshot.model_copy(update={"snapshot_id": "again"}))
    assert result.empty
    assert not _tracked(engine.projection.nodes["Device"])
