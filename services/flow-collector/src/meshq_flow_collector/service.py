"""The collector: UDP listeners (NetFlow v5/v9, IPFIX, sFlow v5: every port decodes every
protocol), per-exporter batches, and their publication on the bus.

Datagrams are decoded as they arrive (``network_discovery.flows.FlowCollector``); records wait
per exporter in a :class:`~network_discovery.flows.batch.FlowBatcher` and are published on
``meshq.flows.records`` keyed by the exporter, in order. While the broker does not take them,
batches wait in a bounded queue (``MESHQ_FLOWS_MAX_PENDING``): when it is full the oldest are
dropped and counted (``batches_dropped``), so a long broker outage costs flows, never memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from meshq_runtime.kafka.broker import OutgoingRecord
from network_discovery.contracts.topics import FLOW_RECORDS
from network_discovery.flows import FlowCollector, listen
from network_discovery.flows.batch import FlowBatch, FlowBatcher

from meshq_flow_collector.settings import Settings

__all__ = ["SERVICE", "FlowCollectorService", "Publish"]

SERVICE = "flow-collector"

log = structlog.get_logger(__name__)

#: Publishes records in order; answers how many, from the first, were acknowledged, and the
#: error that stopped the rest (``EventBus.publish_raw_many``).
Publish = Callable[[Sequence[OutgoingRecord]], Awaitable[tuple[int, BaseException | None]]]

#: Batches published at once.
_CHUNK = 64


def _record(batch: FlowBatch) -> OutgoingRecord:
    return OutgoingRecord(
        topic=FLOW_RECORDS.name,
        key=batch.exporter.encode(),
        value=batch.value(),
        headers=batch.headers(),
    )


class FlowCollectorService:
    def __init__(self, settings: Settings, publish: Publish) -> None:
        self.settings = settings
        self.publish = publish
        self.collector = FlowCollector(on_records=self._on_records)
        self.batcher = FlowBatcher(
            self.collector,
            max_rows=settings.batch_records,
            max_wait_s=settings.flush_s,
            status_every_s=settings.status_s,
        )
        self.pending: deque[OutgoingRecord] = deque()
        self.counts: Counter[str] = Counter()
        self.ports: list[int] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._task: asyncio.Task[None] | None = None

    def _on_records(self, records: Any) -> None:
        self.batcher.add(records)

    async def start(self) -> None:
        s = self.settings
        wanted = list(dict.fromkeys((s.netflow_port, s.ipfix_port, s.sflow_port)))
        for port in wanted:
            if port == 0:
                continue
            transport = await listen(self.collector, self.settings.listen_host, port)
            self._transports.append(transport)
            self.ports.append(int(transport.get_extra_info("sockname")[1]))
        log.info("flows.listening", host=self.settings.listen_host, ports=self.ports)
        self._task = asyncio.create_task(self._loop(), name="flow-publish")

    async def stop(self) -> None:
        for transport in self._transports:
            transport.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._enqueue(self.batcher.take(force=True))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), timeout=5.0)
        if self.pending:
            log.warning("flows.unpublished", batches=len(self.pending))

    def _enqueue(self, batches: list[FlowBatch]) -> None:
        for batch in batches:
            if len(self.pending) >= self.settings.max_pending_batches:
                self.pending.popleft()
                self.counts["batches_dropped"] += 1
            self.pending.append(_record(batch))

    async def flush(self) -> bool:
        """Publish what waits; False when the broker refused (the rest waits for later)."""
        while self.pending:
            chunk = [self.pending[i] for i in range(min(_CHUNK, len(self.pending)))]
            done, error = await self.publish(chunk)
            for _ in range(done):
                self.pending.popleft()
            self.counts["batches_published"] += done
            if error is not None:
                self.counts["publish_failures"] += 1
                log.warning(
                    "flows.publish.failed", error=str(error)[:300], waiting=len(self.pending)
                )
                return False
        return True

    async def _loop(self) -> None:
        tick = min(self.settings.flush_s, 0.25)
        failures = 0
        while True:
            await asyncio.sleep(tick if not failures else min(5.0, tick * 2**failures))
            self._enqueue(self.batcher.take())
            try:
                ok = await self.flush()
            except Exception as exc:  # the producer itself failed: keep the batches
                log.warning("flows.publish.error", error=str(exc)[:300])
                ok = False
            failures = 0 if ok else min(failures + 1, 5)

    def status(self) -> dict[str, Any]:
        exporters = []
        for name in sorted(self.collector.exporters):
            status = self.batcher.status(name)
            if status is not None:
                exporters.append(status.__dict__)
        return {
            "ports": self.ports,
            "exporters": exporters,
            "decode_errors": dict(sorted(self.collector.decoder.errors.items())),
            "batches_waiting": len(self.pending),
            **dict(sorted(self.counts.items())),
        }
