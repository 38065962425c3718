"""The alerts service's subscription to ``meshq.topology.changed`` (in memory, through the
same steps as on the broker): a change wakes the rules, and tells the blast figures which
devices it covered — none known (a metadata patch) means every device is asked again."""

from __future__ import annotations

from typing import Any

from meshq_alerts.app import Scheduler, register
from meshq_alerts.sources import BlastFigures
from network_discovery.contracts.events import (
    SnapshotRejected,
    SnapshotRejectedData,
    TopologyChanged,
    TopologyChangedData,
)
from support.memory_bus import MemoryKafka


def _changed(**data: Any) -> TopologyChanged:
    body = TopologyChangedData(**{"snapshot_id": "s1", "source": "lab", "empty": False, **data})
    return TopologyChanged(source="graph-engine", subject="lab", data=body)


async def test_a_change_wakes_the_rules_and_names_its_devices() -> None:
    # neither the store nor the query source is touched by a notification
    blast = BlastFigures(store=None, source=None)  # type: ignore[arg-type]
    scheduler = Scheduler(evaluator=None, interval_s=60, debounce_s=0)  # type: ignore[arg-type]
    kafka = MemoryKafka(service="alerts")
    register(kafka.consumer, scheduler, blast)
    async with kafka.running():
        await kafka.bus.publish(_changed(empty=True))  # last-seen times only
        assert not scheduler._wake.is_set()
        assert blast._pending(3) == (0, set())
        await kafka.bus.publish(_changed(scope_devices=["acc-01", "acc-02"]))
        assert scheduler._wake.is_set()
        assert blast._pending(3) == (1, {"acc-01", "acc-02"})
        await kafka.bus.publish(_changed(scope_devices=["acc-03"]))
        assert blast._pending(3) == (2, {"acc-01", "acc-02", "acc-03"})
        await kafka.bus.publish(
            SnapshotRejected(
                source="graph-engine",
                subject="lab",
                data=SnapshotRejectedData(snapshot_id="s2", source="lab", reason="too big"),
            )
        )
        assert blast._pending(3) == (2, {"acc-01", "acc-02", "acc-03"})
        # a metadata patch names no devices: every figure may have moved
        await kafka.bus.publish(_changed(kind="patch", snapshot_id="patch:1"))
        assert blast._pending(3) == (3, None)
    assert not kafka.parked
