"""The UDP listener: datagrams from exporters decoded into Arrow batches, with per-exporter
statistics (packets, records, templates, sequence gaps → estimated loss, sampling rate)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
from network_discovery.flows.decode import Decoded, FlowDecoder, Limits
from network_discovery.flows.sflow import counters_table

#: sFlow counter sample rows a collector holds until they are taken.
MAX_PENDING_COUNTERS = 100_000


@dataclass
class SequenceTracker:
    """Gaps in one stream's sequence numbers (modulo 2**32), an estimate of lost records.

    Exporters differ in what they count (see :attr:`Decoded.sequence_steps`) and in whether a
    datagram carries the number before its own records (RFC 7011) or after them. Each datagram
    is checked against every such convention: when one of them explains the number exactly
    nothing is lost, otherwise the smallest forward gap is counted as lost (a lower bound). A
    number behind every expectation (reordering, an exporter restart) is counted in ``resets``.
    """

    previous: int | None = None
    previous_steps: tuple[int, ...] = ()
    lost: int = 0
    received: int = 0
    resets: int = 0

    def observe(self, sequence: int, steps: tuple[int, ...] | None) -> None:
        if self.previous is not None and steps is not None:
            gaps = [
                (sequence - self.previous - s) % (1 << 32) for s in {*self.previous_steps, *steps}
            ]
            forward = [g for g in gaps if g < (1 << 31)]
            if not forward:
                self.resets += 1
            elif 0 not in forward:
                self.lost += min(forward)
        self.received += max(steps) if steps else 0
        self.previous = None if steps is None else sequence
        self.previous_steps = steps or ()

    @property
    def loss_ratio(self) -> float | None:
        total = self.lost + self.received
        return self.lost / total if total else None


@dataclass
class ExporterStats:
    packets: int = 0
    records: int = 0
    dropped: int = 0
    last_seen: float = 0.0
    sequences: dict[tuple[int, int], SequenceTracker] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return sum(s.lost for s in self.sequences.values())


class FlowCollector:
    """Decoding and per-exporter accounting, independent of the socket."""

    def __init__(
        self,
        on_records: Callable[[pa.Table], None] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.decoder = FlowDecoder(limits)
        self.on_records = on_records
        self.exporters: dict[str, ExporterStats] = {}
        #: sFlow counter samples waiting per exporter (:meth:`take_counters`), at most
        #: :data:`MAX_PENDING_COUNTERS` rows in all; beyond, dropped and counted
        self._counters: dict[str, list[pa.Table]] = {}
        self._counter_rows = 0
        self.counters_dropped = 0

    def datagram(self, data: bytes, exporter: str) -> Decoded | None:
        stats = self.exporters.get(exporter)
        if stats is None:
            if len(self.exporters) >= self.decoder.limits.max_exporters:
                self.decoder.errors["exporter_limit"] += 1
                return None
            stats = self.exporters[exporter] = ExporterStats()
        stats.packets += 1
        stats.last_seen = time.time()
        errors_before = sum(self.decoder.errors.values())
        decoded = self.decoder.decode(data, exporter)
        if sum(self.decoder.errors.values()) != errors_before:
            stats.dropped += 1
        if decoded is None:
            return None
        key = (decoded.version, decoded.domain)
        stats.sequences.setdefault(key, SequenceTracker()).observe(
            decoded.sequence, decoded.sequence_steps
        )
        stats.records += decoded.records.num_rows
        if self.on_records is not None and decoded.records.num_rows:
            self.on_records(decoded.records)
        if decoded.counters:
            if self._counter_rows + len(decoded.counters) > MAX_PENDING_COUNTERS:
                self.counters_dropped += len(decoded.counters)
            else:
                table = counters_table(exporter, decoded.domain, decoded.counters)
                self._counters.setdefault(exporter, []).append(table)
                self._counter_rows += table.num_rows
        return decoded

    def take_counters(self, exporter: str) -> pa.Table | None:
        """The counter samples (:data:`~network_discovery.flows.sflow.COUNTER_SCHEMA`) that
        ``exporter`` sent since the last call; None when none."""
        tables = self._counters.pop(exporter, None)
        if not tables:
            return None
        table = pa.concat_tables(tables)
        self._counter_rows -= table.num_rows
        return table


class FlowProtocol(asyncio.DatagramProtocol):
    def __init__(self, collector: FlowCollector) -> None:
        self.collector = collector

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.collector.datagram(data, str(addr[0]))

    def error_received(self, exc: Exception) -> None:
        self.collector.decoder.errors["socket"] += 1


async def listen(
    collector: FlowCollector, host: str = "127.0.0.1", port: int = 2055
) -> asyncio.DatagramTransport:
    """Start receiving on ``host:port``; close the returned transport to stop."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: FlowProtocol(collector), local_addr=(host, port)
    )
    return transport
