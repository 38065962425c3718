"""Poll, compute rates against the previous sample of each interface, store, repeat.

The pipeline holds each interface's newest sample between polls; when it starts it asks the
store for them (``latest_samples``), so a restart loses no interval. Device and interface
names are stored as the graph keys them (``normalise_hostname``, ``canonical_interface_name``:
``Gi0/1`` becomes ``GigabitEthernet0/1``), so the metrics of a port join its links. Where
the samples land is any object with the three methods of :class:`CounterStore` (the
PostgreSQL store, ``meshq_runtime.metrics_store.MetricsStore``, is one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import structlog

from network_discovery.discovery.inventory import Target
from network_discovery.metrics._schema import SAMPLE_SCHEMA
from network_discovery.metrics.rates import compute_rates, latest_per_interface
from network_discovery.metrics.snmp import PollResult
from network_discovery.model import canonical_interface_name, normalise_hostname

__all__ = ["CounterPipeline", "CounterStore", "PipelineRound", "graph_keys"]

log = structlog.get_logger(__name__)


class CounterStore(Protocol):
    async def write_samples(self, samples: pa.Table) -> Any: ...
    async def write_rates(self, rates: pa.Table) -> Any: ...
    async def latest_samples(self) -> pa.Table: ...


def _key(normalise: Callable[[str], str], value: str) -> str:
    try:
        return normalise(value)
    except ValueError:  # not a name the graph could hold: kept as the device gave it
        return value


def graph_keys(samples: pa.Table) -> pa.Table:
    """``samples`` with its device and interface names as the graph keys them (each distinct
    name normalised once)."""
    for column, normalise in (
        ("device", normalise_hostname),
        ("interface", canonical_interface_name),
    ):
        values = samples.column(column)
        names = pc.unique(values)
        keyed = pa.array([_key(normalise, n) for n in names.to_pylist()], type=values.type)
        if keyed.equals(names):
            continue
        mapped = pc.take(keyed, pc.index_in(values, value_set=names))
        where = samples.schema.get_field_index(column)
        samples = samples.set_column(where, samples.schema.field(where), mapped)
    return samples


@dataclass(frozen=True)
class PipelineRound:
    poll: PollResult
    rates: pa.Table


@dataclass
class CounterPipeline:
    """``poll`` is a poller's ``poll`` (``SnmpCounterPoller.poll``, say)."""

    poll: Callable[[Sequence[Target]], Awaitable[PollResult]]
    store: CounterStore
    expected_interval_s: float
    _previous: pa.Table | None = field(default=None, repr=False)

    async def run_once(self, targets: Sequence[Target]) -> PipelineRound:
        if self._previous is None:
            self._previous = (await self.store.latest_samples()).select(SAMPLE_SCHEMA.names)
        result = await self.poll(targets)
        samples = graph_keys(result.samples)
        both = pa.concat_tables([self._previous.cast(SAMPLE_SCHEMA), samples])
        rates = compute_rates(both, expected_interval_s=self.expected_interval_s)
        await self.store.write_samples(samples)
        await self.store.write_rates(rates)
        self._previous = latest_per_interface(both)
        log.info(
            "metrics.round",
            devices=len(targets),
            failed=len(result.failures),
            samples=samples.num_rows,
            rates=rates.num_rows,
        )
        return PipelineRound(result, rates)

    async def run(self, targets: Sequence[Target], interval_s: float, stop: asyncio.Event) -> None:
        """A round every ``interval_s`` seconds until ``stop`` is set; a round that overruns
        is followed at once by the next (the rates flag the longer interval as a gap)."""
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        while not stop.is_set():
            started = time.monotonic()
            await self.run_once(targets)
            left = interval_s - (time.monotonic() - started)
            if left > 0:
                try:
                    await asyncio.wait_for(stop.wait(), left)
                except TimeoutError:
                    pass
