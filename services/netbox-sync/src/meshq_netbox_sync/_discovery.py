"""Scheduled discovery, hosted here because this service already turns what it learns from
outside (NetBox) into graph changes. Each run's snapshot is submitted to graph-engine's intake
(the one ``POST /snapshots`` feeds) with the service credential."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import structlog
from meshq_runtime.license import LicenseFollower
from meshq_runtime.service_auth import ServiceCredential, internal_client
from meshq_runtime.snapshot_submit import submit_snapshot
from network_discovery.discovery.schedule import ScheduledDiscovery
from network_discovery.model import Snapshot

from meshq_netbox_sync.settings import Settings

__all__ = ["start_discovery"]

log = structlog.get_logger(__name__)


async def start_discovery(
    settings: Settings,
    stack: AsyncExitStack,
    follower: LicenseFollower,
    credential: ServiceCredential,
) -> ScheduledDiscovery | None:
    """Start the timer when ``MESHQ_DISCOVERY_INTERVAL`` and ``MESHQ_DISCOVERY_INVENTORY`` are
    set; stopped with ``stack``. The plan's device limit comes from the service's own license
    ``follower``."""
    if not settings.discovery_interval:
        return None
    if settings.discovery_inventory is None:
        raise ValueError("MESHQ_DISCOVERY_INTERVAL is set: set MESHQ_DISCOVERY_INVENTORY too")

    def limit() -> tuple[str, int | None]:
        value = follower.features.get("max_network_devices")
        return follower.plan, value if isinstance(value, int) else None

    graph = internal_client(credential, base_url=settings.graph_engine_url)
    stack.push_async_callback(graph.aclose)

    async def publish(snapshot: Snapshot) -> None:
        await submit_snapshot(graph, snapshot)

    schedule = ScheduledDiscovery(
        inventory=settings.discovery_inventory,
        interval=settings.discovery_interval,
        publish=publish,
        device_limit=limit,
        concurrency=settings.discovery_concurrency,
        timeout=settings.discovery_timeout,
    )
    task = asyncio.create_task(schedule.run_forever(), name="scheduled-discovery")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    log.info(
        "discovery.scheduled.started",
        interval_s=settings.discovery_interval,
        inventory=str(settings.discovery_inventory),
    )
    return schedule
