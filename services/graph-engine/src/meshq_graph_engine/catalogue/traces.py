"""The path analysis walk in two more shapes: a trace read like a traceroute (one row per
hop of each path), and many flows at once (one verdict per flow)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from meshq_graph_engine.catalogue._firewall_rows import Verdict
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, Row
from meshq_graph_engine.catalogue.paths import FEATURE, PathParams
from meshq_graph_engine.firewall import _load
from meshq_graph_engine.firewall.path import PathAnswer, analyse

__all__ = ["QUERIES"]

#: The most flows one bulk request may ask about.
MAX_FLOWS = 256


def _walk(topology: Any, params: Any) -> PathAnswer:
    start = None
    if getattr(params, "start_device", ""):
        start = (params.start_device, params.start_interface)
    return analyse(
        topology,
        params.source,
        params.destination,
        params.protocol,
        params.port,
        source_port=params.source_port,
        max_hops=getattr(params, "max_hops", 32),
        start=start,
    )


class TraceRow(Row):
    """One hop of one path, in order: what a traceroute prints, with the reasons."""

    verdict: Verdict = Field(description="The flow's verdict over every path.")
    path: int = Field(description="1-based; equal-cost paths are numbered apart.")
    hop: int = Field(description="1-based place of the hop on its path.")
    device: str
    vrf: str
    ingress_interface: str | None
    egress_interface: str | None
    route: str | None = Field(description="The route used here: 'PREFIX (protocol, origin)'.")
    next_hop: str | None
    resolved_next_hop: str | None = Field(description="A BGP next hop reached through next_hop.")
    filters: list[str] = Field(
        description="Each filter consulted here with its deciding line and action, in order: "
        "'RULE_SET line N (text): action', or 'RULE_SET default: action'."
    )
    translations: list[str] = Field(description="NAT applied here: 'kind before -> after'.")
    action: Literal["forwarded", "delivered", "denied", "no_path", "handed_off"] = Field(
        description="What happened to the packet at this hop: forwarded on, or, at the last hop "
        "of a path, delivered, denied, no_path, or handed_off (to a next hop outside the graph)."
    )
    reason: str | None = Field(description="Why the path ends here (last hop only).")


def _filter_text(decision: dict[str, Any]) -> str:
    where = (
        f"line {decision['position']} ({decision['text']})"
        if decision.get("position")
        else "default"
    )
    return f"{decision['rule_set']} {where}: {decision['action']}"


def _translation_text(t: dict[str, Any]) -> str:
    def side(a: dict[str, Any]) -> str:
        return " ".join(f"{k}={v}" for k, v in a.items() if v is not None)

    return f"{t['kind']} {side(t['before'])} -> {side(t['after'])}"


def _end(row: dict[str, Any]) -> str:
    if row["branch_verdict"] == "denied":
        return "denied"
    if row["branch_verdict"] == "no_path":
        return "no_path"
    return "handed_off" if "outside the" in row["reason"] else "delivered"


async def _traceroute(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    graph = await _load.view(ctx.store, ctx.engine)
    out: list[dict[str, Any]] = []
    for row in _walk(graph.topology, params).rows():
        hops = row["hops"]
        for n, hop in enumerate(hops, 1):
            last = n == len(hops)
            route = hop.get("route")
            out.append(
                {
                    "verdict": row["verdict"],
                    "path": row["branch"],
                    "hop": n,
                    "device": hop["device"],
                    "vrf": hop["vrf"],
                    "ingress_interface": hop.get("ingress_interface"),
                    "egress_interface": hop.get("egress_interface"),
                    "route": (
                        f"{route['prefix']} ({route['protocol']}, {route['origin']})"
                        if route
                        else None
                    ),
                    "next_hop": hop.get("next_hop"),
                    "resolved_next_hop": hop.get("resolved_next_hop"),
                    "filters": [_filter_text(d) for d in hop.get("decisions", ())],
                    "translations": [_translation_text(t) for t in hop.get("translations", ())],
                    "action": _end(row) if last else "forwarded",
                    "reason": row["reason"] if last else None,
                }
            )
    return out


class Flow(PathParams):
    """One flow of a bulk request."""


class BulkParams(Params):
    flows: list[Flow] = Field(
        min_length=1,
        max_length=MAX_FLOWS,
        description=f"The flows, each as path_analysis takes it (at most {MAX_FLOWS}).",
    )


class BulkRow(Row):
    """One flow and its verdict."""

    flow: int = Field(description="The flow's 1-based place in the request.")
    source: str
    destination: str
    protocol: str
    port: int | None
    verdict: Verdict
    paths: int = Field(description="How many paths the walk found.")
    reason: str = Field(description="Why, on the first path with the flow's verdict.")
    deciding_rules: list[str] = Field(
        description="On that path, each filter that denied or let the flow through: "
        "'device: RULE_SET line N'."
    )


async def _bulk(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    graph = await _load.view(ctx.store, ctx.engine)
    out = []
    for n, flow in enumerate(params.flows, 1):
        rows = _walk(graph.topology, flow).rows()
        verdict = rows[0]["verdict"] if rows else "no_path"
        first = next((r for r in rows if r["branch_verdict"] == verdict), rows[0] if rows else None)
        rules = []
        for decision in first["firewalls"] if first else ():
            place = f"line {decision['position']}" if decision.get("position") else "default"
            rules.append(f"{decision['device']}: {decision['rule_set']} {place}")
        out.append(
            {
                "flow": n,
                "source": flow.source,
                "destination": flow.destination,
                "protocol": flow.protocol,
                "port": flow.port,
                "verdict": verdict,
                "paths": len(rows),
                "reason": first["reason"] if first else "",
                "deciding_rules": rules,
            }
        )
    return out


TRACEROUTE = Query(
    name="traceroute",
    category="Paths",
    summary="path_analysis read like a traceroute: one row per hop of each path, with the "
    "route, the filters consulted and what happened to the packet there.",
    params=PathParams,
    row=TraceRow,
    feature=FEATURE,
    run=_traceroute,
)
PATH_ANALYSIS_BULK = Query(
    name="path_analysis_bulk",
    category="Paths",
    summary=f"Many flows at once (up to {MAX_FLOWS}): each flow's verdict, the reason and the "
    "rules that decided it.",
    params=BulkParams,
    row=BulkRow,
    feature=FEATURE,
    run=_bulk,
)

QUERIES = [TRACEROUTE, PATH_ANALYSIS_BULK]
