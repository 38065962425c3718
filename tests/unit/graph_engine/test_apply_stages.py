"""What an apply reports of its own steps, and the device limit counted over a snapshot's own
device records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.engine import DeviceLimitExceeded, GraphEngine
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot

STEPS = [
    "facts",
    "limit",
    "derive",
    "journal",
    "fact_sets",
    "graph_writes",
    "answers",
    "record",
    "advance",
    "pack",
]


def _snapshot(snapshot_id: str, devices: list[str], *, hour: int = 0, os: str = "17.9") -> Snapshot:
    data: dict[str, Any] = {
        "snapshot_id": snapshot_id,
        "source": "test",
        "collected_at": f"2026-01-01T{hour:02d}:00:00+00:00",
        "scope": [{"device": d, "facts": ["device", "interfaces"]} for d in devices],
        "devices": [{"hostname": d, "platform": "cisco_ios", "os_version": os} for d in devices],
        "interfaces": [{"device": d, "name": "GigabitEthernet0/1"} for d in devices],
    }
    return Snapshot.model_validate(data)


async def test_every_step_of_an_apply_is_timed_in_order(engine: GraphEngine) -> None:
    first = await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"]))
    change = await engine.apply_snapshot(_snapshot("s2", ["sw1"], hour=1, os="17.10"))
    for result in (first, change):
        assert list(result.stages) == STEPS
        assert all(seconds >= 0 for seconds in result.stages.values())
        assert sum(result.stages.values()) <= result.elapsed_ms / 1000 + 0.01 * len(STEPS)
        # the resident set after each step, and the peak so far (which never falls)
        assert list(result.stages_rss_mb) == STEPS
        peaks = [peak for _, peak in result.stages_rss_mb.values()]
        assert peaks == sorted(peaks)
        assert all(0 < now <= peak for now, peak in result.stages_rss_mb.values())
    assert change.updated == {"devices": 1}


async def test_the_limit_refuses_only_a_snapshot_that_grows_the_graph(tmp_path: Path) -> None:
    limit: list[int | None] = [None]
    store = EmbeddedStore(tmp_path / "db")
    engine = GraphEngine(store, device_limit=lambda: ("community", limit[0]))
    await engine.start()
    await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2", "sw3"]))
    limit[0] = 2  # the plan shrank below what the graph holds
    # a change to devices the graph has (and the same snapshot again) does not grow it
    await engine.apply_snapshot(_snapshot("s2", ["sw1", "sw3"], hour=1, os="17.10"))
    assert (await engine.apply_snapshot(_snapshot("s2", ["sw1", "sw3"], hour=1, os="17.10"))).empty
    devices = await writer.read_nodes(store, "Device")
    assert {i for i, r in devices.items() if r["managed"]} == {"sw1", "sw2", "sw3"}
    assert devices["sw3"]["os_version"] == "17.10"
    with pytest.raises(DeviceLimitExceeded, match="4 managed devices; the community plan allows 2"):
        await engine.apply_snapshot(_snapshot("s4", ["sw5"], hour=3))
    assert "sw5" not in await writer.read_nodes(store, "Device")
    await store.close()
