"""Interface counters on a schedule: poll the inventory's devices over SNMP every interval,
store samples and rates, roll them up and apply the retention on their own timers.

The devices are an inventory's (the discovery inventory: YAML, Ansible, a ``netbox`` section;
see docs/discovery.md), read again every ``reload_s`` seconds. A host is polled over SNMP when
its transport is ``snmp`` or its credentials profile carries SNMP secrets (a community or a v3
user); an SSH host with SNMP secrets is polled on UDP 161, not on its SSH port. Every part is
bounded: at most ``max_devices`` devices (the rest are logged and left out), ``concurrency`` at
once, each within ``device_timeout`` seconds. A round that fails (the store away, an inventory
that cannot be read) is logged and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog

from network_discovery.discovery.inventory import InventoryError, Target, load_inventory
from network_discovery.discovery.netbox_source import resolve_inventory
from network_discovery.metrics.pipeline import CounterPipeline, CounterStore, PipelineRound
from network_discovery.metrics.snmp import SnmpCounterPoller

__all__ = ["MetricsSchedule", "ScheduleStore", "snmp_targets"]

log = structlog.get_logger(__name__)


class ScheduleStore(CounterStore, Protocol):
    async def rollup(self, since: datetime, until: datetime) -> Any: ...
    async def apply_retention(self) -> Any: ...


def snmp_targets(targets: Sequence[Target]) -> list[Target]:
    """The targets that can be polled over SNMP, each once (by address and port), in name
    order."""
    out: dict[tuple[str, int | None], Target] = {}
    for target in targets:
        creds = target.credentials
        if target.transport == "snmp":
            polled = target
        elif creds.snmp_community is not None or creds.snmp_user is not None:
            polled = replace(target, transport="snmp", port=None)  # its port is SSH's
        else:
            continue
        out.setdefault((polled.address, polled.port), polled)
    return sorted(out.values(), key=lambda t: (t.label, t.address))


@dataclass
class MetricsSchedule:
    """``run(stop)`` until ``stop`` is set (or ``rounds`` polls when given)."""

    inventory: Path
    store: ScheduleStore
    interval_s: float = 60.0
    rollup_interval_s: float = 300.0
    retention_interval_s: float = 3600.0
    reload_s: float = 300.0
    concurrency: int = 32
    timeout: float = 5.0
    retries: int = 1
    device_timeout: float = 60.0
    max_devices: int = 10_000
    environ: Mapping[str, str] | None = None
    #: what happened, for logs and tests
    rounds: int = 0
    failures: int = 0
    last_round: PipelineRound | None = field(default=None, repr=False)
    _targets: list[Target] = field(default_factory=list, repr=False)
    _loaded_at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("interval_s", "rollup_interval_s", "retention_interval_s", "reload_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if not 1 <= self.max_devices <= 1_000_000:
            raise ValueError("max_devices must lie between 1 and 1000000")

    async def targets(self) -> list[Target]:
        """The inventory's SNMP targets, read again every ``reload_s`` seconds; on a read
        that fails, the last good list."""
        now = time.monotonic()
        if self._loaded_at is not None and now - self._loaded_at < self.reload_s:
            return self._targets
        self._loaded_at = now
        try:
            inventory = await resolve_inventory(load_inventory(self.inventory))
        except InventoryError as exc:
            log.error("metrics.schedule.inventory", error=str(exc)[:500])
            return self._targets
        found = snmp_targets(inventory.targets)
        if len(found) > self.max_devices:
            log.warning(
                "metrics.schedule.over_limit",
                devices=len(found),
                polled=self.max_devices,
                fix="raise MESHQ_METRICS_MAX_DEVICES or split the inventory",
            )
            found = found[: self.max_devices]
        skipped = len(inventory.targets) - len(found)
        log.info("metrics.schedule.targets", devices=len(found), without_snmp=max(skipped, 0))
        self._targets = found
        return found

    async def run(self, stop: asyncio.Event, *, rounds: int | None = None) -> None:
        poller = SnmpCounterPoller(
            timeout=self.timeout,
            retries=self.retries,
            concurrency=self.concurrency,
            device_timeout=self.device_timeout,
            environ=self.environ,
        )
        with poller:
            pipeline = CounterPipeline(poller.poll, self.store, expected_interval_s=self.interval_s)
            clock = time.monotonic
            rolled_from = datetime.now(UTC) - timedelta(seconds=self.interval_s * 3)
            next_rollup = clock() + self.rollup_interval_s
            next_retention = clock()  # at start: a store that was off for a while
            done = 0
            while not stop.is_set() and (rounds is None or done < rounds):
                started = clock()
                await self._poll(pipeline)
                done += 1
                last = rounds is not None and done >= rounds
                if clock() >= next_rollup or last or stop.is_set():
                    rolled_from = await self._rollup(rolled_from)
                    next_rollup = clock() + self.rollup_interval_s
                if clock() >= next_retention:
                    await self._retention()
                    next_retention = clock() + self.retention_interval_s
                left = self.interval_s - (clock() - started)
                if left > 0 and not last:
                    try:
                        await asyncio.wait_for(stop.wait(), left)
                    except TimeoutError:
                        pass

    async def _poll(self, pipeline: CounterPipeline) -> None:
        try:
            targets = await self.targets()
            if not targets:
                log.warning("metrics.schedule.no_targets", inventory=str(self.inventory))
                return
            self.last_round = await pipeline.run_once(targets)
            self.rounds += 1
        except Exception as exc:  # the schedule outlives any one round
            self.failures += 1
            log.error("metrics.schedule.round_failed", error=f"{type(exc).__name__}: {exc}"[:300])

    async def _rollup(self, since: datetime) -> datetime:
        """Recompute the buckets from ``since`` (the last rollup's start) to now; the next
        starts where this one did not reach."""
        until = datetime.now(UTC)
        try:
            await self.store.rollup(since, until + timedelta(seconds=1))
        except Exception as exc:
            log.error("metrics.schedule.rollup_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            return since
        return until - timedelta(seconds=self.interval_s * 3)

    async def _retention(self) -> None:
        try:
            await self.store.apply_retention()
        except Exception as exc:
            log.error(
                "metrics.schedule.retention_failed", error=f"{type(exc).__name__}: {exc}"[:300]
            )
