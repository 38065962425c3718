"""Blast radius: what fails with a device, an interface's link, a VLAN or a subnet.

One row per affected or degraded device (see docs/blast-radius.md for the semantics); every row
also carries the failure's ``blast_radius_pct``, ``impact_score`` and ``severity`` so that each
row stands alone. A target the graph does not hold has no rows. The topology and the lookups
a VLAN or subnet resolves with are kept per graph revision (``blast._live``,
``blast._segments``): a call reads the store only for an interface it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import Field

from meshq_graph_engine.blast import (
    DEFAULT_DEPTH,
    MAX_DEPTH,
    BlastResult,
    Failure,
    TargetError,
    Topology,
    device_failure,
    interface_failure,
    load_segments,
    load_topology,
    simulate,
    subnet_failure,
    vlan_failure,
)
from meshq_graph_engine.catalogue._common import CidrParam, DeviceName, InterfaceParam
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext, QueryError, Row

__all__ = ["QUERIES", "result_rows"]

Depth = Field(
    DEFAULT_DEPTH,
    ge=1,
    le=MAX_DEPTH,
    description=f"Hops from the failed element within which devices count (1 to {MAX_DEPTH}).",
)


class DeviceParams(Params):
    device: DeviceName
    depth: int = Depth


class InterfaceParams(Params):
    device: DeviceName
    interface: InterfaceParam
    depth: int = Depth


class VlanParams(Params):
    vlan: int = Field(
        ge=1, le=4094, description="The VLAN id that fails (1 to 4094).", examples=[110]
    )
    depth: int = Depth


class SubnetParams(Params):
    cidr: CidrParam
    depth: int = Depth


class BlastRow(Row):
    """One affected or degraded device, with the failure's summary figures."""

    device: str
    status: Literal["affected", "degraded"]
    failed: bool = Field(description="The failed device itself.")
    hops: int = Field(ge=0, description="Hops from the failed element (0: on it).")
    managed: bool
    role: str | None
    criticality: str | None
    endpoints: int = Field(ge=0, description="Endpoints located on the device.")
    paths_before: int = Field(ge=0, description="Link-disjoint upstream paths before.")
    paths_after: int = Field(ge=0, description="Link-disjoint upstream paths after.")
    blast_radius_pct: float = Field(ge=0.0, le=100.0)
    impact_score: int = Field(ge=0, le=100)
    severity: Literal["low", "medium", "high", "critical"]


def result_rows(result: BlastResult) -> list[dict[str, Any]]:
    summary = {
        "blast_radius_pct": result.blast_radius_pct,
        "impact_score": result.impact_score,
        "severity": result.severity,
    }
    return [{**impact.row(), **summary} for impact in result.impacts]


Resolver = Callable[[Topology, QueryContext, Any], Awaitable[Failure]]


def _runner(resolve: Resolver) -> Callable[[QueryContext, Any], Awaitable[list[dict[str, Any]]]]:
    async def run(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
        topology = await load_topology(ctx.store, ctx.engine)
        try:
            failure = await resolve(topology, ctx, params)
        except TargetError as exc:
            if exc.status == 404:
                return []
            raise QueryError(exc.status, exc.title, exc.detail) from None
        return result_rows(simulate(topology, failure, params.depth))

    return run


async def _device(topology: Topology, ctx: QueryContext, params: Any) -> Failure:
    return device_failure(topology, params.device)


async def _interface(topology: Topology, ctx: QueryContext, params: Any) -> Failure:
    return await interface_failure(topology, ctx.store, f"{params.device}|{params.interface}")


async def _vlan(topology: Topology, ctx: QueryContext, params: Any) -> Failure:
    return vlan_failure(topology, await load_segments(ctx.store, ctx.engine), params.vlan)


async def _subnet(topology: Topology, ctx: QueryContext, params: Any) -> Failure:
    return subnet_failure(topology, await load_segments(ctx.store, ctx.engine), params.cidr)


def _query(name: str, summary: str, params: type[Params], resolve: Resolver) -> Query:
    return Query(
        name=name,
        category="Blast Radius",
        summary=summary,
        params=params,
        row=BlastRow,
        run=_runner(resolve),
    )


QUERIES = [
    _query(
        "blast_radius_device",
        "What a device's failure takes down (affected) or leaves without redundancy "
        "(degraded), within depth hops.",
        DeviceParams,
        _device,
    ),
    _query(
        "blast_radius_interface",
        "What fails with the link on one interface (a LAG member alone loses nothing while "
        "the bundle survives).",
        InterfaceParams,
        _interface,
    ),
    _query(
        "blast_radius_vlan",
        "What a VLAN going down takes with it: links carrying only that VLAN, its endpoints.",
        VlanParams,
        _vlan,
    ),
    _query(
        "blast_radius_subnet",
        "What a subnet going down takes with it: the interfaces addressed in it, its endpoints.",
        SubnetParams,
        _subnet,
    ),
]
