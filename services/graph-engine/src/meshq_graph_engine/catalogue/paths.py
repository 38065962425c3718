"""Routing and reachability: the route a device uses for an address, and whether a flow can
get from one address to another through the firewalls on its way (``firewall/path``)."""

from __future__ import annotations

from typing import Annotated, Any, Self

from network_discovery.model import normalise_protocol
from pydantic import AfterValidator, Field, model_validator

from meshq_graph_engine.catalogue._common import DeviceFilter, DeviceName, InterfaceParam, IpParam
from meshq_graph_engine.catalogue._firewall_rows import PathRow, RouteLookupRow
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext
from meshq_graph_engine.firewall import _load
from meshq_graph_engine.firewall.path import analyse
from meshq_graph_engine.firewall.routes import vrf_name

__all__ = ["QUERIES"]

FEATURE = "firewall_queries"
_PORTED = ("tcp", "udp", "132")

Vrf = Annotated[
    str,
    Field(
        default="default",
        min_length=1,
        max_length=64,
        pattern=r"^[\w.:-]+$",
        description="The VRF whose table to search; 'default' for the global table.",
        examples=["default"],
    ),
    AfterValidator(vrf_name),
]


class RouteLookupParams(Params):
    device: DeviceName
    destination: IpParam
    vrf: Vrf


def _protocol(value: str) -> str:
    text = normalise_protocol(value)
    if text == "any":
        raise ValueError("a flow has one protocol: tcp, udp, icmp, icmpv6 or a number 0-255")
    return text


class PathParams(Params):
    source: IpParam
    destination: IpParam
    protocol: Annotated[
        str,
        Field(
            min_length=1,
            max_length=16,
            description="tcp, udp, icmp, icmpv6, a name such as gre or esp, or a number 0-255. "
            "An ICMP flow is an echo request.",
            examples=["icmp", "tcp"],
        ),
        AfterValidator(_protocol),
    ]
    port: int | None = Field(
        None, ge=0, le=65535, description="Destination port; required for tcp, udp and sctp."
    )
    source_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Source port, when it matters; unset matches only rules for any source port.",
    )
    max_hops: int = Field(32, ge=1, le=64, description="Give up on a branch after this many.")
    start_device: DeviceFilter = Field(
        "",
        description="Start the walk at this device instead of every gateway of the source's "
        "subnet (empty: the source's owner or its gateways).",
    )
    start_interface: InterfaceParam | None = Field(
        None,
        description="With start_device: the interface the flow arrives on there (its inbound "
        "filters apply, its VRF is used).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.start_interface is not None and not self.start_device:
            raise ValueError("start_interface: name the start_device it belongs to")
        if self.protocol in _PORTED and self.port is None:
            raise ValueError(f"port: a {self.protocol} flow needs a destination port")
        if self.protocol not in _PORTED and (self.port is not None or self.source_port):
            raise ValueError(f"port: {self.protocol} has no ports; leave port unset")
        return self


async def _route_lookup(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    graph = await _load.view(ctx.store)
    table = graph.topology.routes.get(params.device)
    route = table.lookup(params.destination, params.vrf) if table else None
    if route is None:
        return []
    topo = graph.topology
    out = []
    for n, hop in enumerate(route.next_hops or (None,), 1):
        owner = None
        if hop is not None and hop.address:
            found = [o for o in topo.owners(hop.address, params.vrf) if o.device != params.device]
            owner = found[0].device if found else None
        out.append(
            {
                "device": params.device,
                "vrf": params.vrf,
                "destination": params.destination,
                "prefix": route.prefix,
                "protocol": route.protocol,
                "next_hop": hop.address if hop else None,
                "interface": hop.interface if hop else None,
                "next_hop_device": owner,
                "discard": route.discards or hop is None,
                "ecmp": len(route.next_hops),
                "path": n,
            }
        )
    return out


async def _path_analysis(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    graph = await _load.view(ctx.store)
    answer = analyse(
        graph.topology,
        params.source,
        params.destination,
        params.protocol,
        params.port,
        source_port=params.source_port,
        max_hops=params.max_hops,
        start=(params.start_device, params.start_interface) if params.start_device else None,
    )
    return answer.rows()


ROUTE_LOOKUP = Query(
    name="route_lookup",
    category="Routing tables",
    summary="The longest-prefix route a device uses for an address in a VRF, every ECMP next hop.",
    params=RouteLookupParams,
    row=RouteLookupRow,
    feature=FEATURE,
    run=_route_lookup,
)
PATH_ANALYSIS = Query(
    name="path_analysis",
    category="Firewall",
    summary="Whether a flow gets from source to destination: the hops, and at each firewall "
    "the rule that decides it.",
    params=PathParams,
    row=PathRow,
    feature=FEATURE,
    run=_path_analysis,
)

QUERIES = [ROUTE_LOOKUP, PATH_ANALYSIS]
