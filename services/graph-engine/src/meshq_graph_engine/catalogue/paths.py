"""Routing and reachability: the route a device uses for an address, and whether a flow can
get from one address to another through the firewalls on its way (``firewall/path``)."""

from __future__ import annotations

from typing import Annotated, Any, Self

from network_discovery.model import normalise_protocol
from pydantic import AfterValidator, Field, model_validator

from meshq_graph_engine.catalogue._common import DeviceFilter, DeviceName, InterfaceParam, IpParam
from meshq_graph_engine.catalogue._firewall_rows import PathRow, RouteLookupRow, TestFilterRow
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext
from meshq_graph_engine.catalogue.k8s import workload_at
from meshq_graph_engine.firewall import _load
from meshq_graph_engine.firewall.path import analyse
from meshq_graph_engine.firewall.policy import make_flow
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


class FlowParams(Params):
    """One flow: what path_analysis walks and test_filter judges."""

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

    @model_validator(mode="after")
    def _check_ports(self) -> Self:
        if self.protocol in _PORTED and self.port is None:
            raise ValueError(f"port: a {self.protocol} flow needs a destination port")
        if self.protocol not in _PORTED and (self.port is not None or self.source_port):
            raise ValueError(f"port: {self.protocol} has no ports; leave port unset")
        return self


class PathParams(FlowParams):
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
    def _check_start(self) -> Self:
        if self.start_interface is not None and not self.start_device:
            raise ValueError("start_interface: name the start_device it belongs to")
        return self


_Zone = Annotated[str | None, Field(max_length=64, pattern=r"^[\w.:/@-]+$")]


class TestFilterParams(FlowParams):
    device: DeviceName
    filter: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=r"^[\w.:/@ -]+$",
            description="The rule set's name (an ACL, a chain, a zone policy), bound or not.",
            examples=["OUTSIDE_IN"],
        ),
    ]
    src_zone: _Zone = Field(
        None,
        description="The zone the flow comes from (zone policies), or the interface it comes "
        "in on (iptables chains: -i); a rule naming one matches only a flow that names it.",
    )
    dst_zone: _Zone = Field(
        None,
        description="The zone the flow goes to (zone policies), or the interface it leaves by "
        "(iptables chains: -o).",
    )


async def _test_filter(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rule_set = await _load.load_rule_set(ctx.store, params.device, params.filter)
    if rule_set is None:
        return []
    flow = make_flow(
        params.source,
        params.destination,
        params.protocol,
        params.port,
        source_port=params.source_port,
    ).in_zones(params.src_zone, params.dst_zone)
    decision = rule_set.evaluate(flow).describe()
    return [
        {
            "device": params.device,
            "filter": params.filter,
            "verdict": decision["verdict"],
            "action": decision["action"],
            "position": decision["position"],
            "name": decision["name"],
            "text": decision["text"],
            "default": decision["position"] is None,
        }
    ]


async def _route_lookup(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    graph = await _load.view(ctx.store, ctx.engine)
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
                "origin": route.origin,
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
    graph = await _load.view(ctx.store, ctx.engine)
    topo = graph.topology
    workload = None
    if (
        not params.start_device
        and not topo.owners(params.source)
        and not topo.containing(params.source)
    ):
        # a pod's address the graph does not hold: the flow leaves through its node
        workload = workload_at(ctx, params.source)
    answer = analyse(
        topo,
        params.source,
        params.destination,
        params.protocol,
        params.port,
        source_port=params.source_port,
        max_hops=params.max_hops,
        start=(params.start_device, params.start_interface) if params.start_device else None,
        locate=workload["node_address"] if workload else None,
    )
    if workload is not None:
        answer.source_owner.update(kind="workload", workload=workload)
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

TEST_FILTER = Query(
    name="test_filter",
    category="Firewall hygiene",
    summary="One filter, one flow: whether the filter permits it and the line that decides "
    "(bound to an interface or not).",
    params=TestFilterParams,
    row=TestFilterRow,
    feature=FEATURE,
    run=_test_filter,
)

QUERIES = [ROUTE_LOOKUP, PATH_ANALYSIS, TEST_FILTER]
