"""Kafka handlers: a sync when one is requested, and a push soon after the topology changed."""

from __future__ import annotations

from meshq_runtime.kafka import EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    NetboxSyncRequested,
    SnapshotRejected,
    TopologyChanged,
)

from meshq_netbox_sync.service import SERVICE, NetBoxSync

__all__ = ["register"]


def register(consumer: EventConsumer, sync: NetBoxSync) -> None:
    async def on_request(event: NetboxSyncRequested) -> None:
        # Runs before the offset is committed: a request is done, or redelivered.
        await sync.run(
            direction=event.data.direction,
            dry_run=event.data.dry_run,
            trigger=f"requested by {event.data.requested_by}",
            correlation_id=event.correlation_id,
        )

    async def on_topology(event: TopologyChanged | SnapshotRejected) -> None:
        if isinstance(event, SnapshotRejected):
            return  # nothing of the snapshot was applied: nothing to push
        pushes = sync.settings.direction in ("push", "both")
        if pushes and not event.data.empty and event.data.source != "netbox":
            sync.wake()

    consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, on_request)
    # its own group: one group with two subscriptions rebalances itself on every start
    consumer.subscribe(topics.TOPOLOGY_CHANGED, on_topology, group=f"{SERVICE}.topology")
