"""Flows: the top talkers, conversations and interface volumes of NetFlow / IPFIX exports, and
the state of every exporter, joined to the graph.

The records live in the flow store (``network_discovery.flows.store``: ClickHouse, or chdb in
this process), written by the flow consumer from the flow-collector's batches. Every answer
reads the 1-minute rollup over a window of whole minutes ending with the current one. The graph
names what it can: the exporter's device (its management address, or exactly one interface
address), an ifIndex's interface (the device's ``if_index``; else, for the interfaces query,
the name the exporter's options records give it), and for each address the device
whose interface holds it and the endpoint (MAC, host name) that uses it; where the graph holds
no such thing, or more than one, the column is null. Without a flow store (neither
``MESHQ_FLOWS_PATH`` nor ``MESHQ_FLOWS_CLICKHOUSE_URL``) every query answers 503 saying so.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from meshq_runtime.graph.store import GraphStore
from network_discovery.flows.store import FlowStore, FlowStoreError, parse_duration
from network_discovery.model.normalise import canonical_interface_name
from pydantic import AfterValidator, Field, model_validator

from meshq_graph_engine.catalogue._common import DeviceFilter, SiteFilter, interface_or_any
from meshq_graph_engine.catalogue._flow_failure import (
    FailureParams,
    counter_bytes,
    enriched_flows,
    failure_cut,
)
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row
from meshq_graph_engine.flow_enrich import exporter_devices as _exporter_devices
from meshq_graph_engine.flow_enrich import holders as _holders
from meshq_graph_engine.flow_enriched import GROUPS, EnrichedFilters

__all__ = ["CATEGORY", "FEATURE", "QUERIES"]

FEATURE = "flow_analytics"
CATEGORY = "Flows"
#: The longest window a query reads.
MAX_WINDOW_S = 400 * 86400
_NOT_CONFIGURED = (
    "flow records are kept in a flow store: give graph-engine MESHQ_FLOWS_PATH (a directory "
    "for the embedded store) or MESHQ_FLOWS_CLICKHOUSE_URL (a ClickHouse server), and run "
    "the flow-collector service (see docs/flows.md)"
)

_SITES = "UNWIND $ids AS k MATCH (d:Device) WHERE d.id = k RETURN d.id AS device, d.site AS site"
_IF_NAMES = (
    "UNWIND $ids AS k MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
    "WHERE d.id = k AND i.if_index IS NOT NULL "
    "RETURN d.id AS device, i.if_index AS if_index, i.name AS name"
)
_IF_INDEX = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE d.id = $device AND i.name = $name "
    "RETURN i.if_index AS if_index"
)


def _window(text: str) -> str:
    seconds = parse_duration(text)
    if seconds > MAX_WINDOW_S:
        raise ValueError(f"window {text!r} is longer than {MAX_WINDOW_S // 86400} days")
    return text


WindowParam = Annotated[
    str,
    Field(
        default="1h",
        max_length=12,
        description="How far back from now, in whole minutes (the current one included): a "
        "number and a unit, m, h, d or w (15m, 1h, 24h, 7d); at least 1m.",
        examples=["1h"],
    ),
    AfterValidator(_window),
]
InterfaceFilter = Annotated[
    str,
    Field(
        default="",
        max_length=128,
        description="Only flows in or out of this interface of `device` (any vendor spelling; "
        "its ifIndex as the graph holds it); empty for every interface.",
        examples=["Gi1/0/1"],
    ),
    AfterValidator(interface_or_any),
]


class _FlowParams(Params):
    window: WindowParam
    site: SiteFilter = Field(
        "",
        max_length=64,
        pattern=r"^[\w .:/@-]*$",
        description="Only flows exported by devices at this site (exact match); empty for "
        "every exporter.",
    )
    device: DeviceFilter = Field(
        "",
        max_length=255,
        description="Only flows exported by this device (its id, case-insensitive); empty for "
        "every exporter.",
    )
    interface: InterfaceFilter = ""
    src_site: str = Field(
        "",
        max_length=64,
        pattern=r"^[\w .:/@-]*$",
        description="Only flows whose source address the graph places at this site (its "
        "device's, its switch's or its subnet's, when the flow was stored); empty for any.",
    )
    dst_site: str = Field(
        "",
        max_length=64,
        pattern=r"^[\w .:/@-]*$",
        description="Only flows whose destination address is at this site; empty for any.",
    )
    src_zone: str = Field(
        "",
        max_length=200,
        pattern=r"^[\w .:/@|-]*$",
        description="Only flows whose source address is in this firewall zone: its id "
        "(<firewall>|zone|<name>) or its name; empty for any.",
        examples=["trust"],
    )
    dst_zone: str = Field(
        "",
        max_length=200,
        pattern=r"^[\w .:/@|-]*$",
        description="Only flows whose destination address is in this firewall zone; empty for any.",
    )

    def enriched_filters(self, exporters: list[str], if_index: int) -> EnrichedFilters:
        return EnrichedFilters(
            tuple(exporters), if_index, self.src_site, self.dst_site, self.src_zone, self.dst_zone
        )

    @model_validator(mode="after")
    def _interface_needs_device(self) -> _FlowParams:
        if self.interface and not self.device:
            raise ValueError("interface: name its device too")
        return self


class TopTalkersParams(_FlowParams):
    by: Literal[
        "src",
        "dst",
        "pair",
        "app",
        "src_site",
        "dst_site",
        "src_zone",
        "dst_zone",
        "src_subnet",
        "dst_subnet",
        "src_device",
        "dst_device",
        "link",
    ] = Field(
        "src",
        description="What to rank: source addresses, destination addresses, source and "
        "destination pairs, application ports (protocol and the lower of the two ports), or "
        "what the graph said of the flows when they were stored: the site, firewall zone, "
        "subnet or device of their source or destination, or the links they crossed at "
        "their exporter.",
    )
    top: int = Field(10, ge=1, le=1000, description="How many to rank (1-1000).")


class ConversationsParams(_FlowParams, FailureParams):
    top: int = Field(100, ge=1, le=10000, description="How many pairs, largest first (1-10000).")

    @model_validator(mode="after")
    def _failed_interface_needs_device(self) -> ConversationsParams:
        if self.failed_interface and not self.failed_device:
            raise ValueError("failed_interface: name its device in failed_device too")
        return self


class InterfacesParams(_FlowParams):
    top: int = Field(
        1000, ge=1, le=10000, description="How many interfaces, busiest first (1-10000)."
    )


class StatusParams(Params):
    site: SiteFilter = Field(
        "",
        max_length=64,
        pattern=r"^[\w .:/@-]*$",
        description="Only exporters that are devices at this site (exact match); empty for all.",
    )
    device: DeviceFilter = Field(
        "",
        max_length=255,
        description="Only the exporters of this device (its id); empty for every exporter.",
    )


class TopTalkerRow(Row):
    rank: int
    src: str | None = Field(description="The source address (by src and pair).")
    src_device: str | None = Field(description="The device with an interface holding `src`.")
    src_endpoint: str | None = Field(description="The MAC of the endpoint using `src`.")
    src_hostname: str | None
    dst: str | None
    dst_device: str | None
    dst_endpoint: str | None
    dst_hostname: str | None
    proto: int | None = Field(description="IP protocol (by app).")
    port: int | None = Field(description="The lower of the two ports (by app).")
    group: str | None = Field(
        description="The site, zone, subnet, device or link ranked (by one of them); null "
        "for the flows the graph said nothing of."
    )
    bytes: int = Field(description="Bytes, scaled by each record's sampling rate.")
    packets: int
    flows: int = Field(description="Flow records summed.")


class ConversationRow(Row):
    a: str = Field(description="The lower address of the pair.")
    a_device: str | None
    a_endpoint: str | None
    a_hostname: str | None
    b: str
    b_device: str | None
    b_endpoint: str | None
    b_hostname: str | None
    bytes_a_to_b: int
    bytes_b_to_a: int
    packets_a_to_b: int
    packets_b_to_a: int
    bytes: int
    flows: int
    exporters: int = Field(
        description="Exporters that reported the pair (a flow seen by two counts twice)."
    )
    cut: list[str] | None = Field(
        description="With a failure named: why it cuts the pair (through_failed_device, "
        "through_failed_interface, over_failed_link: an exporter saw the pair's flows cross "
        "it; a_isolated, b_isolated: that end's device or switch loses its path); null "
        "otherwise."
    )


class InterfaceFlowRow(Row):
    exporter: str
    device: str | None = Field(description="The exporter's device in the graph.")
    if_index: int
    interface: str | None = Field(
        description="The interface's name: the device's interface with this ifIndex in the "
        "graph, else the name the exporter's options records give the ifIndex."
    )
    interface_source: Literal["graph", "options"] | None = Field(
        description="What named `interface`: the graph, or the exporter's options records "
        "(one name in all its observation domains); null when neither does."
    )
    in_bytes: int
    out_bytes: int
    in_packets: int
    out_packets: int
    in_bps: float = Field(description="Average bits per second in over the window.")
    out_bps: float
    flows: int
    counter_source: Literal["snmp", "sflow"] | None = Field(
        description="Whose counters the counter_ columns are: the metrics store's (snmp), "
        "else the exporter's sFlow counter samples (sflow); null without either."
    )
    counter_in_bytes: int | None = Field(
        description="Bytes in by the interface's counters over the seconds they cover in the "
        "window; null without counters for the interface."
    )
    counter_out_bytes: int | None
    counter_covered_s: float | None = Field(description="Seconds of the window counters cover.")
    in_ratio: float | None = Field(
        description="in_bytes over counter_in_bytes (1: flows account for every byte); null "
        "unless counters cover 90% of the window elapsed and counted bytes."
    )
    out_ratio: float | None


class ExporterStatusRow(Row):
    exporter: str
    device: str | None
    site: str | None
    version: int = Field(description="The export protocol last seen: 5, 9 or 10 (IPFIX).")
    last_packet: str = Field(description="When the collector last received a datagram (UTC).")
    reported: str = Field(description="When the collector reported these counts (UTC).")
    packets: int = Field(description="Datagrams received since the collector started.")
    records: int
    dropped: int = Field(description="Datagrams dropped whole or in part (malformed).")
    templates: int = Field(description="Templates known for this exporter.")
    sampling_rate: int | None = Field(description="1-in-N packet sampling; null: not said.")
    sequence_lost: int = Field(description="Records missing from the sequence numbers.")
    estimated_loss: float | None = Field(
        description="Lost over lost and received (a lower bound); null before any count."
    )
    rate: float = Field(description="Records per second over the last 5 minutes stored.")


# --- the graph side -------------------------------------------------------------------------------


async def _sites(store: GraphStore, devices: Iterable[str | None]) -> dict[str, str | None]:
    ids = sorted({d for d in devices if d})
    if not ids:
        return {}
    return {r["device"]: r["site"] for r in await store.execute(_SITES, {"ids": ids})}


async def _if_names(store: GraphStore, devices: Iterable[str | None]) -> dict[tuple[str, int], str]:
    ids = sorted({d for d in devices if d})
    if not ids:
        return {}
    names: dict[tuple[str, int], set[str]] = defaultdict(set)
    for row in await store.execute(_IF_NAMES, {"ids": ids}):
        names[(row["device"], int(row["if_index"]))].add(row["name"])
    return {k: v.pop() for k, v in names.items() if len(v) == 1}


# --- the flow store side --------------------------------------------------------------------------


async def _option_names(flows: FlowStore, exporters: list[str]) -> dict[tuple[str, int], str]:
    """(exporter, ifIndex) -> the name its options records told, where every observation
    domain of the exporter that named the ifIndex told the same one."""
    if not exporters:
        return {}
    told: dict[tuple[str, int], set[str]] = defaultdict(set)
    for row in await _call(flows.interface_names, exporters=exporters):
        try:
            name = canonical_interface_name(row["name"]) if row["name"] else ""
        except ValueError:
            name = ""
        # a domain that names the ifIndex unreadably still counts: no guess between names
        told[(row["exporter"], int(row["if_index"]))].add(name)
    return {k: v.pop() for k, v in told.items() if len(v) == 1 and "" not in v}


def _flows(ctx: QueryContext) -> FlowStore:
    if ctx.flows is None:
        raise QueryError(503, "Flow store not configured", _NOT_CONFIGURED)
    return ctx.flows


async def _call(func: Any, *args: Any, **kw: Any) -> Any:
    """A flow store call, off the event loop; a store that fails answers 503."""
    try:
        return await asyncio.to_thread(func, *args, **kw)
    except FlowStoreError as exc:
        raise QueryError(503, "Flow store unavailable", str(exc)[:500]) from None


def _minutes(params: Any) -> int:
    return max(1, parse_duration(params.window) // 60)


async def _scope(ctx: QueryContext, flows: FlowStore, params: Any) -> tuple[list[str], int] | None:
    """(the exporters to read, none meaning all; the ifIndex, 0 for any), or None when the
    filters leave no exporter."""
    if not (params.site or params.device):
        return [], 0
    seen = await _call(flows.seen_exporters, minutes=_minutes(params))
    devices = await _exporter_devices(ctx.store, seen)
    sites = await _sites(ctx.store, devices.values()) if params.site else {}
    chosen = []
    for exporter in seen:
        device = devices[exporter]
        if params.device and device != params.device:
            continue
        if params.site and (device is None or sites.get(device) != params.site):
            continue
        chosen.append(exporter)
    if not chosen:
        return None
    if_index = 0
    if getattr(params, "interface", ""):
        rows = await ctx.store.execute(
            _IF_INDEX, {"device": params.device, "name": params.interface}
        )
        indexes = {int(r["if_index"]) for r in rows if r["if_index"] is not None}
        if len(indexes) != 1:
            message = (
                f"the graph holds no ifIndex for {params.interface} of {params.device}"
                if not indexes
                else f"{params.interface} of {params.device} has several ifIndexes"
            )
            raise QueryError(
                422,
                "Invalid parameters",
                f"interface: {message}",
                [{"field": "interface", "message": message}],
            )
        if_index = indexes.pop()
    return chosen, if_index


def _named(
    prefix: str, ip: str | None, holders: dict[str, dict[str, str | None]]
) -> dict[str, Any]:
    found = holders.get(ip or "", {})
    return {
        f"{prefix}_device": found.get("device"),
        f"{prefix}_endpoint": found.get("endpoint"),
        f"{prefix}_hostname": found.get("hostname"),
    }


def _needs_enriched(params: Any) -> bool:
    filters = params.enriched_filters([], 0)
    return filters.any or getattr(params, "by", "") in GROUPS


async def _top_talkers(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    flows = _flows(ctx)
    scope = await _scope(ctx, flows, params)
    if scope is None:
        return []
    if _needs_enriched(params):
        enriched = await _call(enriched_flows, flows)
        rows = await _call(
            enriched.top,
            params.by,
            minutes=_minutes(params),
            filters=params.enriched_filters(*scope),
            limit=params.top,
        )
    else:
        rows = await _call(
            flows.top_talkers,
            params.by,
            minutes=_minutes(params),
            exporters=scope[0],
            if_index=scope[1],
            limit=params.top,
        )
    ips = sorted({ip for r in rows for ip in (r["src"], r["dst"]) if ip})
    holders = await _holders(ctx.store, ips)
    return [
        {
            "rank": i,
            "src": r["src"],
            **_named("src", r["src"], holders),
            "dst": r["dst"],
            **_named("dst", r["dst"], holders),
            "proto": r["proto"],
            "port": r["port"],
            "group": r.get("group"),
            "bytes": r["bytes"],
            "packets": r["packets"],
            "flows": r["flows"],
        }
        for i, r in enumerate(rows, 1)
    ]


_CONVERSATION_COUNTS = (
    "bytes_a_to_b",
    "bytes_b_to_a",
    "packets_a_to_b",
    "packets_b_to_a",
    "bytes",
    "flows",
    "exporters",
)


async def _conversations(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    flows = _flows(ctx)
    scope = await _scope(ctx, flows, params)
    if scope is None:
        return []
    cut = await failure_cut(ctx, params)
    if cut is not None or _needs_enriched(params):
        enriched = await _call(enriched_flows, flows)
        rows = await _call(
            enriched.conversations,
            minutes=_minutes(params),
            filters=params.enriched_filters(*scope),
            cut=cut,
            limit=params.top,
        )
    else:
        rows = await _call(
            flows.conversations,
            minutes=_minutes(params),
            exporters=scope[0],
            if_index=scope[1],
            limit=params.top,
        )
    holders = await _holders(ctx.store, sorted({ip for r in rows for ip in (r["a"], r["b"])}))
    return [
        {
            "a": r["a"],
            **_named("a", r["a"], holders),
            "b": r["b"],
            **_named("b", r["b"], holders),
            **{k: r[k] for k in _CONVERSATION_COUNTS},
            "cut": r.get("cut"),
        }
        for r in rows
    ]


async def _interfaces(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    flows = _flows(ctx)
    scope = await _scope(ctx, flows, params)
    if scope is None:
        return []
    minutes = _minutes(params)
    rows = await _call(
        flows.interfaces, minutes=minutes, exporters=scope[0], if_index=scope[1], limit=params.top
    )
    devices = await _exporter_devices(ctx.store, sorted({r["exporter"] for r in rows}))
    names = await _if_names(ctx.store, devices.values())
    unnamed = sorted(
        {
            r["exporter"]
            for r in rows
            if names.get((devices.get(r["exporter"]) or "", r["if_index"])) is None
        }
    )
    told = await _option_names(flows, unnamed)
    seconds = minutes * 60
    out = []
    for r in rows:
        device = devices.get(r["exporter"])
        name = names.get((device, r["if_index"])) if device else None
        source = "graph" if name else None
        if name is None:
            name = told.get((r["exporter"], r["if_index"]))
            source = "options" if name else None
        out.append(
            {
                "exporter": r["exporter"],
                "device": device,
                "if_index": r["if_index"],
                "interface": name,
                "interface_source": source,
                "in_bytes": r["in_bytes"],
                "out_bytes": r["out_bytes"],
                "in_packets": r["in_packets"],
                "out_packets": r["out_packets"],
                "in_bps": round(r["in_bytes"] * 8 / seconds, 3),
                "out_bps": round(r["out_bytes"] * 8 / seconds, 3),
                "flows": r["flows"],
            }
        )
    return await counter_bytes(ctx, out, minutes, flows=flows)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _status(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    flows = _flows(ctx)
    rows = await _call(flows.exporters)
    devices = await _exporter_devices(ctx.store, [r["exporter"] for r in rows])
    sites = await _sites(ctx.store, devices.values())
    out = []
    for r in rows:
        device = devices.get(r["exporter"])
        site = sites.get(device) if device else None
        if params.device and device != params.device:
            continue
        if params.site and site != params.site:
            continue
        counted = r["lost"] + r["received"]
        out.append(
            {
                "exporter": r["exporter"],
                "device": device,
                "site": site,
                "version": r["version"],
                "last_packet": _iso(r["last_packet"]),
                "reported": _iso(r["updated"]),
                "packets": r["packets"],
                "records": r["records"],
                "dropped": r["dropped"],
                "templates": r["templates"],
                "sampling_rate": r["sampling_rate"] or None,
                "sequence_lost": r["lost"],
                "estimated_loss": round(r["lost"] / counted, 6) if counted else None,
                "rate": r["rate"],
            }
        )
    return out


TOP_TALKERS = Query(
    name="meshq_flows_top_talkers",
    category=CATEGORY,
    summary="The sources, destinations, pairs or application ports carrying the most bytes "
    "in a window, from flow exports, with the device or endpoint behind each address.",
    params=TopTalkersParams,
    row=TopTalkerRow,
    feature=FEATURE,
    run=_top_talkers,
    source="flows",
)
CONVERSATIONS = Query(
    name="meshq_flows_conversations",
    category=CATEGORY,
    summary="Address pairs with bytes and packets each way and flow records, largest first.",
    params=ConversationsParams,
    row=ConversationRow,
    feature=FEATURE,
    run=_conversations,
    source="flows",
)
STATUS = Query(
    name="meshq_flows_status",
    category=CATEGORY,
    summary="Every flow exporter: last datagram, records per second, templates known, "
    "sequence gaps and estimated loss, sampling rate, and its device.",
    params=StatusParams,
    row=ExporterStatusRow,
    feature=FEATURE,
    run=_status,
    source="flows",
)
INTERFACES = Query(
    name="meshq_flows_interfaces",
    category=CATEGORY,
    summary="Bytes and packets in and out of each exporter interface, from its flows, with "
    "the interface's name (the graph's, else the exporter's options records') and its "
    "counters (SNMP metrics, else sFlow counter samples).",
    params=InterfacesParams,
    row=InterfaceFlowRow,
    feature=FEATURE,
    run=_interfaces,
    source="flows",
)

QUERIES = [TOP_TALKERS, CONVERSATIONS, STATUS, INTERFACES]
