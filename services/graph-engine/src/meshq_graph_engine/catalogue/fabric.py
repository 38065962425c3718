"""InfiniBand / GPU: the fabric's switches, channel adapters, ports and cables, the ports
that are down, degraded or counting errors, and the health of every GPU.

docs/queries.md states what each query answers; the tests pin it. One row is one port, with
the far end of its cable when the graph knows one.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from network_discovery.model import normalise_hostname
from network_discovery.model.fabric import ERROR_COUNTERS, normalise_guid
from pydantic import AfterValidator, Field

from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row
from meshq_graph_engine.fabric import (
    FabricElementError,
    FabricElementMissing,
    fabric_blast,
    load_fabric,
)

__all__ = ["ERROR_THRESHOLDS", "QUERIES"]

FEATURE = "nccl_visualization"
CATEGORY = "InfiniBand / GPU"

#: An error counter counts against a port when it is over this value (unless the query's
#: ``error_threshold`` says otherwise). Link-level faults (symbol errors, recoveries,
#: downs, receive errors, integrity, overruns) at 10; congestion-like or relayed drops at 100.
ERROR_THRESHOLDS: dict[str, int] = {
    "symbol_errors": 10,
    "link_error_recovery": 10,
    "link_downed": 10,
    "rcv_errors": 10,
    "rcv_remote_physical_errors": 100,
    "rcv_switch_relay_errors": 100,
    "xmit_discards": 100,
    "xmit_constraint_errors": 100,
    "rcv_constraint_errors": 100,
    "local_link_integrity_errors": 10,
    "excessive_buffer_overrun_errors": 10,
    "vl15_dropped": 100,
    "qp1_dropped": 100,
}

_PORTS = (
    "MATCH (p:IBPort) "
    "OPTIONAL MATCH (n:IBNode)-[:HAS_IB_PORT]->(p) "
    "OPTIONAL MATCH (p)-[l:IB_LINK]-(q:IBPort) "
    "RETURN p.id AS id, p.port_guid AS port_guid, p.port AS port, p.node_guid AS node_guid, "
    "p.node_type AS node_type, coalesce(n.description, p.node_description) AS node, "
    "p.host AS host, p.lid AS lid, p.state AS state, p.phys_state AS phys_state, "
    "p.width AS width, p.speed AS speed, p.rate_gbps AS rate_gbps, "
    "p.width_could_be AS width_could_be, p.speed_could_be AS speed_could_be, "
    "p.linked AS linked, q.id AS peer_id, l.width AS link_width, l.speed AS link_speed, "
    + ", ".join(f"p.{c} AS {c}" for c in ERROR_COUNTERS)
)
_MELLANOX_NAME = re.compile(r"^MF0;([^:]+):")


def _name_or_guid(value: str) -> str:
    """A GUID in any notation becomes its canonical form; anything else is kept as given."""
    if not value:
        return value
    try:
        return (
            str(normalise_guid(value))
            if re.fullmatch(r"(?:0x)?[0-9a-fA-F]{1,16}", value)
            else value
        )
    except ValueError:
        return value


SwitchFilter = Annotated[
    str,
    Field(
        default="",
        max_length=128,
        pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9 ;:/._,#+-]*$",
        description="Only ports of this switch and the ports cabled to it: its node GUID, its "
        "node description, or the system name in a managed switch's description "
        "(leaf01 in 'MF0;leaf01:MQM8700/U1'); empty for every switch.",
        examples=["leaf01", "0x0c42a10300000200"],
    ),
    AfterValidator(_name_or_guid),
]
HostFilter = Annotated[
    str,
    Field(
        default="",
        max_length=255,
        description="Only ports of this host's adapters and the ports cabled to them (the "
        "host name, case-insensitive); empty for every host.",
        examples=["gpu-0101"],
    ),
    AfterValidator(lambda v: normalise_hostname(v) if v else v),
]
PortState = Literal["down", "init", "armed", "active"]


class TopologyParams(Params):
    switch: SwitchFilter
    host: HostFilter
    state: PortState | Literal[""] = Field(
        "", description="Only ports in this state; empty for any."
    )


class PortsDownParams(Params):
    switch: SwitchFilter
    host: HostFilter
    include_unlinked: bool = Field(
        False,
        description="Also switch ports that are down with no cable the graph knows of (an "
        "unused port looks the same as one whose far end is gone).",
    )
    error_threshold: int | None = Field(
        None,
        ge=0,
        le=4_294_967_295,
        description="Count an error counter over this value instead of its documented "
        "threshold (0: any error); empty for the documented thresholds.",
    )


class IBPortRow(Row):
    """One port of the fabric, with the far end of its cable when known."""

    node_guid: str | None
    node_type: Literal["switch", "ca", "router"] | None
    node: str | None = Field(description="The node's description.")
    host: str | None = Field(description="The host a channel adapter is in, when known.")
    port: int
    port_guid: str
    lid: int | None
    state: PortState | None
    phys_state: str | None
    width: str | None
    speed: str | None
    rate_gbps: float | None
    peer_node_guid: str | None
    peer_node_type: Literal["switch", "ca", "router"] | None
    peer_node: str | None
    peer_host: str | None
    peer_port: int | None
    link_width: str | None
    link_speed: str | None


Reason = Literal["down", "disabled", "not_active", "degraded_width", "degraded_speed", "errors"]


class IBPortDownRow(Row):
    """A port that is down, disabled, not yet active, running degraded, or counting errors."""

    node_guid: str | None
    node_type: Literal["switch", "ca", "router"] | None
    node: str | None
    host: str | None
    port: int
    port_guid: str
    state: PortState | None
    phys_state: str | None
    width: str | None
    speed: str | None
    width_could_be: str | None
    speed_could_be: str | None
    linked: bool = Field(description="Whether the graph knows a cable on this port.")
    peer_node: str | None
    peer_port: int | None
    reasons: list[Reason]
    detail: list[str] = Field(description="Each reason in words, with values and thresholds.")
    errors: dict[str, int] = Field(description="The error counters over their threshold.")


async def _ports(ctx: QueryContext) -> dict[str, dict[str, Any]]:
    rows = await ctx.store.execute(_PORTS, {})
    return {row["id"]: row for row in rows}


def _is_switch(row: dict[str, Any] | None, switch: str) -> bool:
    if row is None or row.get("node_type") != "switch":
        return False
    node = row.get("node") or ""
    named = _MELLANOX_NAME.match(node)
    want = switch.lower()
    return (
        row.get("node_guid") == switch
        or node.lower() == want
        or (named is not None and named.group(1).lower() == want)
    )


def _keep(row: dict[str, Any], peer: dict[str, Any] | None, switch: str, host: str) -> bool:
    if switch and not (_is_switch(row, switch) or _is_switch(peer, switch)):
        return False
    return not host or host in (row.get("host"), (peer or {}).get("host"))


def _peer_cols(peer: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "peer_node_guid": None if peer is None else peer["node_guid"],
        "peer_node_type": None if peer is None else peer["node_type"],
        "peer_node": None if peer is None else peer["node"],
        "peer_host": None if peer is None else peer["host"],
        "peer_port": None if peer is None else peer["port"],
    }


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    kind = {"switch": 0, "router": 1, "ca": 2}.get(row.get("node_type") or "", 3)
    return (kind, row.get("node") or "", row.get("node_guid") or "", row["port_guid"], row["port"])


async def _topology(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    ports = await _ports(ctx)
    out = []
    for row in ports.values():
        if params.state and row["state"] != params.state:
            continue
        peer = ports.get(row["peer_id"]) if row["peer_id"] else None
        if not _keep(row, peer, params.switch, params.host):
            continue
        out.append(
            {
                **{k: row[k] for k in IBPortRow.model_fields if k in row},
                **_peer_cols(peer),
                "link_width": row["link_width"],
                "link_speed": row["link_speed"],
            }
        )
    return sorted(out, key=_order)


def _problems(row: dict[str, Any], params: Any) -> tuple[list[str], list[str], dict[str, int]]:
    reasons: list[str] = []
    detail: list[str] = []
    state, phys = row["state"], row["phys_state"]
    expected = row["node_type"] == "ca" or bool(row["linked"]) or params.include_unlinked
    if phys == "disabled":
        reasons.append("disabled")
        detail.append("port disabled (physical state disabled)")
    elif state == "down" and expected:
        reasons.append("down")
        detail.append(f"state down, physical state {phys or 'unknown'}")
    elif state in ("init", "armed"):
        reasons.append("not_active")
        detail.append(f"link up but state {state} (no subnet manager has activated it)")
    if state == "active" and row["width_could_be"]:
        reasons.append("degraded_width")
        detail.append(f"width {row['width']}, could be {row['width_could_be']}")
    if state == "active" and row["speed_could_be"]:
        reasons.append("degraded_speed")
        detail.append(f"speed {row['speed']}, could be {row['speed_could_be']}")
    errors: dict[str, int] = {}
    for name in ERROR_COUNTERS:
        value = row.get(name)
        limit = ERROR_THRESHOLDS[name] if params.error_threshold is None else params.error_threshold
        if value is not None and value > limit:
            errors[name] = value
            detail.append(f"{name} {value} > {limit}")
    if errors:
        reasons.append("errors")
    return reasons, detail, errors


async def _ports_down(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    ports = await _ports(ctx)
    out = []
    for row in ports.values():
        peer = ports.get(row["peer_id"]) if row["peer_id"] else None
        if not _keep(row, peer, params.switch, params.host):
            continue
        reasons, detail, errors = _problems(row, params)
        if not reasons:
            continue
        out.append(
            {
                **{k: row[k] for k in IBPortDownRow.model_fields if k in row},
                "linked": bool(row["linked"]),
                "peer_node": None if peer is None else peer["node"],
                "peer_port": None if peer is None else peer["port"],
                "reasons": reasons,
                "detail": detail,
                "errors": errors,
            }
        )
    return sorted(out, key=_order)


IB_TOPOLOGY = Query(
    name="ib_topology",
    category=CATEGORY,
    summary="The InfiniBand fabric port by port: switches and channel adapters (with their "
    "hosts), each port's state, width and speed, and the far end of its cable.",
    params=TopologyParams,
    row=IBPortRow,
    feature=FEATURE,
    run=_topology,
)
IB_PORTS_DOWN = Query(
    name="ib_ports_down",
    category=CATEGORY,
    summary="InfiniBand ports that are down, disabled, not active, running narrower or "
    "slower than both ends could, or counting errors over their thresholds.",
    params=PortsDownParams,
    row=IBPortDownRow,
    feature=FEATURE,
    run=_ports_down,
)


# --- GPUs ------------------------------------------------------------------------------

_GPUS = (
    "MATCH (g:GPU) WHERE ($host = '' OR g.host = $host) "
    "OPTIONAL MATCH (d:Device)-[:HAS_GPU]->(g) "
    "OPTIONAL MATCH (g)-[:NEAR_HCA]->(n:IBNode) "
    "RETURN g.id AS id, g.host AS host, g.gpu_index AS gpu_index, g.uuid AS uuid, g.name AS name, "
    "g.pci_bus_id AS pci_bus_id, g.verdict AS verdict, g.reasons AS reasons, "
    "g.checked AS checked, g.health_sources AS sources, g.hcas AS hcas, "
    "g.hca_connection AS hca_connection, d.id AS device, n.guid AS hca_guid, "
    "g.host_candidates AS candidates"
)
Verdict = Literal["ok", "degraded", "failed", "unknown"]
_NO_SAMPLE = {
    "severity": "unknown",
    "metric": "sample",
    "observed": None,
    "threshold": None,
    "xid": None,
    "xid_meaning": None,
    "message": "no health sample or diagnostic was collected for this GPU",
}


class GpuHealthParams(Params):
    host: HostFilter
    verdict: Verdict | Literal[""] = Field(
        "", description="Only GPUs with this verdict; empty for any."
    )


class GpuReason(Row):
    """One reason for a verdict: the metric, what was seen, the threshold it crossed."""

    severity: Literal["info", "unknown", "degraded", "failed"]
    metric: str
    observed: float | str | None
    threshold: float | None
    xid: int | None
    xid_meaning: str | None
    message: str


class GpuHealthRow(Row):
    """One GPU: the verdict on it, why, its host, and the RDMA adapters nearest to it."""

    host: str
    index: int
    uuid: str | None
    name: str | None
    pci_bus_id: str | None
    device: str | None = Field(description="The host's device in the graph, when it is there.")
    device_candidates: list[str] = Field(
        description="When the host's name could be several devices of the graph: those "
        "(and ``device`` is empty rather than a guess)."
    )
    verdict: Verdict
    reasons: list[GpuReason]
    checked: list[str] = Field(description="The metrics that were read and judged.")
    sources: list[str]
    hcas: list[str] = Field(description="The host's RDMA adapters nearest to the GPU (topo -m).")
    hca_connection: str | None = Field(description="The path to them: NV, PIX, PXB, PHB ...")
    hca_node_guids: list[str] = Field(description="Those adapters in the InfiniBand fabric.")


async def _gpu_health(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rows = await ctx.store.execute(_GPUS, {"host": params.host})
    gpus: dict[str, dict[str, Any]] = {}
    for row in rows:
        gpu = gpus.get(row["id"])
        if gpu is None:
            verdict = row["verdict"] or "unknown"
            reasons = json.loads(row["reasons"]) if row["reasons"] else [_NO_SAMPLE]
            gpu = gpus[row["id"]] = {
                "host": row["host"],
                "index": row["gpu_index"],
                "uuid": row["uuid"],
                "name": row["name"],
                "pci_bus_id": row["pci_bus_id"],
                "device": row["device"],
                "device_candidates": sorted(row["candidates"] or []),
                "verdict": verdict,
                "reasons": [{k: r.get(k) for k in GpuReason.model_fields} for r in reasons],
                "checked": list(row["checked"] or []),
                "sources": list(row["sources"] or []),
                "hcas": list(row["hcas"] or []),
                "hca_connection": row["hca_connection"],
                "hca_node_guids": [],
            }
        if row["hca_guid"] is not None and row["hca_guid"] not in gpu["hca_node_guids"]:
            gpu["hca_node_guids"].append(row["hca_guid"])
    out = [g for g in gpus.values() if not params.verdict or g["verdict"] == params.verdict]
    for g in out:
        g["hca_node_guids"].sort()
    return sorted(out, key=lambda g: (g["host"], g["index"]))


DCGM_GPU_HEALTH = Query(
    name="dcgm_gpu_health",
    category=CATEGORY,
    summary="Every GPU's health verdict (ok, degraded, failed, unknown) with the reasons "
    "(metric, value, threshold, XID), its host, and the InfiniBand adapters nearest to it.",
    params=GpuHealthParams,
    row=GpuHealthRow,
    feature=FEATURE,
    run=_gpu_health,
)

# --- blast radius over the fabric --------------------------------------------------------


class FabricBlastParams(Params):
    element: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[\w .:;/|@#+,-]+$",
        description="The failing InfiniBand element: a switch (its GUID, node description or "
        "short name, e.g. leaf01) or a port (<guid>|<port number>).",
        examples=["leaf01"],
    )


class FabricBlastRow(Row):
    """One host, GPU, NCCL job or switch that the failure cuts off or degrades."""

    entity: Literal["host", "gpu", "job", "switch"]
    id: str = Field(description="The host name, GPU id, job id or switch GUID.")
    status: Literal["affected", "degraded"] = Field(
        description="affected: cut off (a job: interrupted); degraded: lost some paths."
    )
    host: str | None = Field(description="The host a GPU is in.")
    detail: str = Field(description="Why: the ports lost, the reason, the ranks on them.")
    failed: str = Field(description="The failed element as resolved (kind and name).")


async def _fabric_blast(ctx: QueryContext, params: FabricBlastParams) -> list[dict[str, Any]]:
    try:
        answer = fabric_blast(await load_fabric(ctx.store), params.element)
    except FabricElementMissing:
        return []  # an element the fabric does not hold takes nothing down (as blast_radius_*)
    except FabricElementError as exc:  # malformed, or a name several switches share
        raise QueryError(
            422,
            "Ambiguous or malformed fabric element",
            str(exc)[:500],
            errors=[{"field": "element", "message": str(exc)[:200]}],
        ) from None
    failed = (
        f"switch {answer.name or answer.element}"
        if answer.kind == "switch"
        else f"port {answer.element}" + (f" of {answer.name}" if answer.name else "")
    )
    rows: list[dict[str, Any]] = []
    for guid in answer.switches_cut_off:
        rows.append(
            {
                "entity": "switch",
                "id": guid,
                "status": "affected",
                "host": None,
                "detail": "no path left to the rest of the fabric",
                "failed": failed,
            }
        )
    for h in answer.hosts:
        rows.append(
            {
                "entity": "host",
                "id": h.host,
                "status": "affected" if h.status == "cut" else "degraded",
                "host": h.host,
                "detail": f"ports lost: {', '.join(h.ports_lost)} of {h.ports_up_before} up",
                "failed": failed,
            }
        )
    for g in answer.gpus:
        rows.append(
            {
                "entity": "gpu",
                "id": g.gpu,
                "status": "affected" if g.status == "cut" else "degraded",
                "host": g.host,
                "detail": g.reason,
                "failed": failed,
            }
        )
    for j in answer.jobs:
        rows.append(
            {
                "entity": "job",
                "id": j.job_id,
                "status": "affected" if j.status == "interrupted" else "degraded",
                "host": None,
                "detail": "; ".join(j.reasons)[:1000] or f"{len(j.ranks)} rank(s)",
                "failed": failed,
            }
        )
    return rows


FABRIC_BLAST = Query(
    name="blast_radius_fabric",
    category=CATEGORY,
    summary="What an InfiniBand switch or port failing takes down: the hosts, GPUs and NCCL "
    "jobs cut off (affected) or left with fewer paths (degraded), and switches cut off.",
    params=FabricBlastParams,
    row=FabricBlastRow,
    feature=FEATURE,
    run=_fabric_blast,
)

QUERIES = [IB_TOPOLOGY, IB_PORTS_DOWN, DCGM_GPU_HEALTH, FABRIC_BLAST]
