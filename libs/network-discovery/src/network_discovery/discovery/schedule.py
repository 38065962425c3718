"""Discovery on a timer, for a service: every ``interval`` seconds, read the inventory (and the
NetBox devices it names), collect, and publish one snapshot through the ingest path. Disabled
unless an interval is set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from network_discovery.discovery.inventory import InventoryError, load_inventory
from network_discovery.discovery.netbox_source import resolve_inventory
from network_discovery.discovery.result import RunSummary
from network_discovery.discovery.run import (
    DeviceLimitError,
    DiscoveryOptions,
    build_snapshot,
    collectors,
    discover,
)
from network_discovery.model import Snapshot

__all__ = ["ScheduledDiscovery"]

log = structlog.get_logger(__name__)


@dataclass
class ScheduledDiscovery:
    """``publish`` sends a snapshot on its way (the ingest path); ``device_limit`` answers
    (plan, max network devices) at the start of each run."""

    inventory: Path
    interval: float
    publish: Callable[[Snapshot], Awaitable[Any]]
    device_limit: Callable[[], tuple[str, int | None]] = lambda: ("unlimited", None)
    concurrency: int = 10
    timeout: float = 30.0
    retries: int = 1
    runs: int = 0

    async def run_once(self) -> RunSummary | None:
        """One run; problems are logged (the schedule goes on), never raised."""
        try:
            targets = list((await resolve_inventory(load_inventory(self.inventory))).targets)
        except InventoryError as exc:
            log.error("discovery.scheduled.inventory", error=str(exc))
            return None
        plan, limit = self.device_limit()
        options = DiscoveryOptions(
            concurrency=self.concurrency,
            timeout=self.timeout,
            retries=self.retries,
            device_limit=limit,
            plan=plan,
        )
        try:
            # its own thread and loop: parsing and SNMP's engine are CPU work that would
            # otherwise hold the service's loop
            summary = await asyncio.to_thread(self._collect, targets, options)
        except DeviceLimitError as exc:
            log.error("discovery.scheduled.limit", error=str(exc))
            return None
        self.runs += 1
        when = datetime.now(UTC)
        snapshot = build_snapshot(
            summary, collected_at=when, snapshot_id=f"scheduled-{when.strftime('%Y%m%dT%H%M%S%fZ')}"
        )
        log.info(
            "discovery.scheduled.run",
            devices=len(summary.results),
            statuses=summary.counts(),
            elapsed_s=round(summary.elapsed_s, 2),
            snapshot_id=snapshot.snapshot_id if snapshot else None,
        )
        if snapshot is not None:
            await self.publish(snapshot)
        return summary

    def _collect(self, targets: list[Any], options: DiscoveryOptions) -> RunSummary:
        with collectors(targets, self.timeout) as collect:
            return asyncio.run(discover(targets, options, collect))

    async def run_forever(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)
