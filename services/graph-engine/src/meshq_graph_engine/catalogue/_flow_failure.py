"""What the Flows queries add from the rest of graph-engine: the conversations a failure cuts
(blast radius) and interface counters (the metrics store) beside flow volumes."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from network_discovery.flows.store import MAX_ROWS, FlowStore, FlowStoreError
from pydantic import Field

from meshq_graph_engine.blast import (
    DEFAULT_DEPTH,
    MAX_DEPTH,
    TargetError,
    device_failure,
    interface_failure,
    load_topology,
    simulate,
)
from meshq_graph_engine.catalogue._common import DeviceFilter
from meshq_graph_engine.catalogue.base import Params, QueryContext, QueryError
from meshq_graph_engine.flow_enriched import Cut, EnrichedFlows

__all__ = ["FailureParams", "counter_bytes", "enriched_flows", "failure_cut"]

log = structlog.get_logger(__name__)

#: Share of the elapsed window counters must cover for a flows-to-counters ratio.
MIN_COVERAGE = 0.9

_ENRICHED: weakref.WeakKeyDictionary[FlowStore, EnrichedFlows] = weakref.WeakKeyDictionary()
_ENRICHED_LOCK = threading.Lock()


def enriched_flows(store: FlowStore) -> EnrichedFlows:
    """The enriched rollup of ``store`` (its table made once per store and process)."""
    with _ENRICHED_LOCK:
        found = _ENRICHED.get(store)
        if found is None:
            found = _ENRICHED[store] = EnrichedFlows(store)
        return found


class FailureParams(Params):
    failed_device: DeviceFilter = Field(
        "",
        max_length=255,
        description="Only the conversations this device's failure would cut (with "
        "failed_interface: that interface's): those an exporter saw cross it, and those with "
        "an end left without a path (blast radius); empty for every conversation.",
        examples=["hq-core-01"],
    )
    failed_interface: str = Field(
        "",
        max_length=128,
        pattern=r"^[A-Za-z0-9._:/ -]*$",
        description="An interface of failed_device (any vendor spelling): its link fails "
        "instead of the whole device.",
        examples=["Et2"],
    )
    depth: int = Field(
        DEFAULT_DEPTH,
        ge=1,
        le=MAX_DEPTH,
        description=f"With a failure: hops from it within which devices count (1 to {MAX_DEPTH}).",
    )


async def failure_cut(ctx: QueryContext, params: Any) -> Cut | None:
    """The failure ``params`` names, as :class:`Cut` (None when it names none)."""
    if not getattr(params, "failed_device", ""):
        return None
    topology = await load_topology(ctx.store, ctx.engine)
    field = "failed_interface" if params.failed_interface else "failed_device"
    try:
        if params.failed_interface:
            failure = await interface_failure(
                topology, ctx.store, f"{params.failed_device}|{params.failed_interface}"
            )
        else:
            failure = device_failure(topology, params.failed_device)
    except TargetError as exc:
        status = 422 if exc.status == 404 else exc.status
        raise QueryError(
            status, exc.title, f"{field}: {exc.detail}", [{"field": field, "message": exc.detail}]
        ) from None
    result = simulate(topology, failure, params.depth)
    links = set(failure.links)
    for device in failure.devices:
        links |= {link.id for link in topology.links_on(device)}
    interfaces = set(failure.interfaces)
    for lid in failure.links:
        link = topology.links.get(lid)
        if link is not None:
            interfaces |= {link.a.interface, link.b.interface}
    return Cut(
        devices=tuple(sorted(failure.devices)),
        interfaces=tuple(sorted(interfaces)),
        links=tuple(sorted(links)),
        isolated=tuple(sorted(set(result.affected_devices) | set(failure.devices))),
    )


_DOWN = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


async def counter_bytes(
    ctx: QueryContext,
    rows: list[dict[str, Any]],
    minutes: int,
    now: float | None = None,
    *,
    flows: FlowStore | None = None,
) -> list[dict[str, Any]]:
    """``rows`` (one per exporter interface, with ``exporter``, ``if_index``, ``device``,
    ``interface``, ``in_bytes``, ``out_bytes``) with the bytes its counters measured over the
    same window and the ratios: the metrics store's (SNMP) where it has them, else (with
    ``flows``) the exporter's sFlow counter samples for that ifIndex."""
    for row in rows:
        row.update(
            counter_source=None,
            counter_in_bytes=None,
            counter_out_bytes=None,
            counter_covered_s=None,
            in_ratio=None,
            out_ratio=None,
        )
    end = time.time() if now is None else now
    until = (int(end) // 60 + 1) * 60
    since = until - minutes * 60
    elapsed = max(1.0, min(end, until) - since)
    await _snmp(ctx, rows, since, until, elapsed)
    if flows is not None:
        await _sflow(flows, rows, minutes, end, elapsed)
    return rows


def _fill(
    row: dict[str, Any],
    source: str,
    covered: float,
    counted: dict[str, int | None],
    elapsed: float,
) -> None:
    row["counter_source"] = source
    row["counter_covered_s"] = round(covered, 3)
    for direction in ("in", "out"):
        value = counted.get(direction)
        if value is None:
            continue
        row[f"counter_{direction}_bytes"] = value
        if value > 0 and covered >= MIN_COVERAGE * elapsed:
            row[f"{direction}_ratio"] = round(row[f"{direction}_bytes"] / value, 4)


async def _snmp(
    ctx: QueryContext, rows: list[dict[str, Any]], since: int, until: int, elapsed: float
) -> None:
    keys = sorted({(r["device"], r["interface"]) for r in rows if r["device"] and r["interface"]})
    if ctx.metrics is None or not keys:
        return
    try:
        await ctx.metrics.ensure_schema()
        _, found = await ctx.metrics.summarise(
            datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC), keys=keys
        )
    except _DOWN as exc:
        log.warning("flows.counters.unavailable", error=type(exc).__name__)
        return
    for row in rows:
        summary = found.get((row["device"], row["interface"]))
        if not summary or not summary.get("covered_s"):
            continue
        covered = float(summary["covered_s"])
        counted: dict[str, int | None] = {}
        for direction in ("in", "out"):
            bps = summary.get(f"{direction}_bps")
            counted[direction] = None if bps is None else round(float(bps) * covered / 8)
        _fill(row, "snmp", covered, counted, elapsed)


async def _sflow(
    flows: FlowStore, rows: list[dict[str, Any]], minutes: int, end: float, elapsed: float
) -> None:
    wanted = [r for r in rows if r["counter_source"] is None]
    exporters = sorted({r["exporter"] for r in wanted})
    if not exporters:
        return
    try:
        found = await asyncio.to_thread(
            flows.interface_counters,
            minutes=minutes,
            until=end,
            exporters=exporters,
            limit=MAX_ROWS,
        )
    except FlowStoreError as exc:
        log.warning("flows.sflow_counters.unavailable", error=str(exc)[:300])
        return
    by_key: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for c in found:
        by_key[(c["exporter"], int(c["if_index"]))].append(c)
    for row in wanted:
        samples = by_key.get((row["exporter"], row["if_index"]), [])
        # an ifIndex two sFlow sub-agents of the exporter count is not one interface: unknown
        if len(samples) != 1 or not samples[0]["seconds"]:
            continue
        c = samples[0]
        _fill(
            row,
            "sflow",
            float(c["seconds"]),
            {"in": int(c["in_octets"]), "out": int(c["out_octets"])},
            elapsed,
        )
