"""One sync at a time: the periodic run, runs asked for on ``meshq.netbox.sync.requested``,
and a push after the topology changed (when the configured direction pushes)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from meshq_runtime.service_auth import ServiceCredential
from network_discovery.contracts.envelope import EventBase
from network_discovery.integrations.netbox import (
    GraphReader,
    NetBoxClient,
    NetBoxError,
    PushDefaults,
    SyncOptions,
    run_sync,
)

from meshq_netbox_sync.settings import Settings

__all__ = ["FEATURE", "SERVICE", "NetBoxSync", "RunRecord"]

log = structlog.get_logger(__name__)

SERVICE = "netbox-sync"
FEATURE = "netbox_sync"


@dataclass
class RunRecord:
    """What one run did (``GET /sync/status`` shows the last ones)."""

    trigger: str
    direction: str
    dry_run: bool
    started: str
    outcome: str = "running"  # ok, conflicts, failed, refused, skipped
    detail: str = ""
    summary: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    correlation_id: str | None = None


class NetBoxSync:
    def __init__(
        self,
        settings: Settings,
        *,
        allows: Callable[[str], bool],
        publish: Callable[[EventBase], Awaitable[None]],
        credential: ServiceCredential | None = None,
    ) -> None:
        self.settings = settings
        #: What calls to graph-engine's internal API carry (None: no credential, for tests
        #: against a stand-in graph)
        self._credential = credential
        self._allows = allows
        self._publish = publish
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.history: list[RunRecord] = []

    def configured(self) -> bool:
        return bool(self.settings.netbox_url and self.settings.netbox_token)

    def wake(self) -> None:
        """Run the configured sync soon (after the topology changed)."""
        self._wake.set()

    async def run(
        self,
        *,
        direction: str | None = None,
        dry_run: bool = False,
        trigger: str = "periodic",
        correlation_id: str | None = None,
    ) -> RunRecord:
        record = RunRecord(
            trigger=trigger,
            direction=direction or self.settings.direction,
            dry_run=dry_run,
            started=datetime.now(UTC).isoformat(),
            correlation_id=correlation_id,
        )
        self.history = [*self.history[-19:], record]
        if not self.configured():
            record.outcome, record.detail = "skipped", "NETBOX_URL and NETBOX_TOKEN are not set"
        elif not self._allows(FEATURE):
            record.outcome = "refused"
            record.detail = f"the license does not include {FEATURE!r}"
        else:
            async with self._lock:
                await self._sync(record)
        log.info("netbox.sync_run", **{k: v for k, v in vars(record).items() if k != "summary"})
        return record

    async def _sync(self, record: RunRecord) -> None:
        s = self.settings
        started = time.monotonic()
        options = SyncOptions(
            direction=record.direction,  # type: ignore[arg-type]
            dry_run=record.dry_run,
            prune=s.prune,
            overwrite=s.overwrite_fields,
            defaults=PushDefaults(
                tag=s.tag,
                site=s.default_site,
                role=s.default_role,
                manufacturer=s.default_manufacturer,
                device_type=s.default_device_type,
            ),
            source=SERVICE,
            correlation_id=record.correlation_id,
        )
        assert s.netbox_url and s.netbox_token
        headers = self._credential.headers() if self._credential is not None else None
        graph = GraphReader(s.graph_engine_url, prefix="/internal/queries", headers=headers)
        try:
            token = s.netbox_token.get_secret_value()
            async with NetBoxClient(s.netbox_url, token, timeout=s.timeout) as client:
                result = await run_sync(client, graph, options, publish=self._publish)
            record.summary, record.conflicts = result.summary(), result.conflicts
            record.drift, record.errors = result.drift, result.errors
            record.outcome = result.outcome
        except (NetBoxError, ValueError) as exc:
            record.outcome, record.detail = "failed", str(exc)
        finally:
            await graph.aclose()
            record.elapsed_s = round(time.monotonic() - started, 3)

    async def loop(self) -> None:
        """The periodic sync (first at start), woken early by a topology change."""
        interval = self.settings.interval_s
        if interval <= 0:
            return
        while True:
            await self.run()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
