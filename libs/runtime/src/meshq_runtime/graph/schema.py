"""The graph schema, generated from the pydantic model (never written by hand).

Each node label maps to a model class; its properties come from the model's JSON Schema
(string, integer, number, boolean and lists of those), plus a few derived properties that
queries need (an address's bare IP, an interface's device). A field holding nested models
(a rule's services, a route's next hops) is given an explicit flat type here, and the
projection stores it in that form (services, bindings and a rule's translation as their
text, next hops as two aligned lists). LadybugDB gets ``CREATE NODE/REL
TABLE`` statements from these specs; Memgraph gets indexes on ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from network_discovery.model import (
    VLAN,
    BGPPeer,
    Device,
    Endpoint,
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    Interface,
    IPAddress,
    Route,
    Subnet,
)
from network_discovery.model.fabric import COUNTER_FIELDS, IBNode, IBPort
from network_discovery.model.gpu import Gpu
from pydantic import BaseModel

__all__ = [
    "NODES",
    "RELS",
    "NodeSpec",
    "RelSpec",
    "ladybug_ddl",
    "memgraph_ddl",
    "node",
    "rel",
]

_SCALARS = {"string": "STRING", "integer": "INT64", "number": "DOUBLE", "boolean": "BOOLEAN"}


@dataclass(frozen=True)
class NodeSpec:
    label: str
    props: dict[str, str]  # name -> LadybugDB type (id excluded)
    model: type[BaseModel] | None = None


@dataclass(frozen=True)
class RelSpec:
    name: str
    src: str
    dst: str
    props: dict[str, str] = field(default_factory=dict)


def _json_type(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        return _json_type(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        kinds = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _json_type(kinds[0], defs)
    if "enum" in schema:
        return "STRING"
    kind = schema.get("type")
    if kind == "array":
        return _json_type(schema.get("items", {"type": "string"}), defs) + "[]"
    if kind in _SCALARS:
        return _SCALARS[kind]
    raise TypeError(f"no graph type for JSON Schema {schema!r}")


def _props(model: type[BaseModel], **extra: str) -> dict[str, str]:
    """The model's fields as graph properties; ``extra`` adds properties or gives the flat
    type of a field the JSON Schema cannot map (nested models)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    props = {
        name: extra[name] if name in extra else _json_type(sub, defs)
        for name, sub in schema["properties"].items()
    }
    props.update(extra)
    return props


NODES: dict[str, NodeSpec] = {
    spec.label: spec
    for spec in (
        NodeSpec("Device", _props(Device, degree="INT64"), Device),
        NodeSpec("Interface", _props(Interface), Interface),
        NodeSpec(
            "IPAddress",
            _props(
                IPAddress, ip="STRING", prefix_length="INT64", version="INT64", network="STRING"
            ),
            IPAddress,
        ),
        NodeSpec("Subnet", _props(Subnet, version="INT64"), Subnet),
        NodeSpec("VLAN", _props(VLAN), VLAN),
        NodeSpec("Endpoint", _props(Endpoint), Endpoint),
        NodeSpec("BGPPeer", _props(BGPPeer, external="BOOLEAN"), BGPPeer),
        NodeSpec("FirewallZone", _props(FirewallZone), FirewallZone),
        NodeSpec("FirewallRuleset", _props(FirewallRuleset, bindings="STRING[]"), FirewallRuleset),
        NodeSpec(
            "FirewallRule", _props(FirewallRule, services="STRING[]", nat="STRING"), FirewallRule
        ),
        NodeSpec("FirewallObject", _props(FirewallObject, services="STRING[]"), FirewallObject),
        NodeSpec(
            "Route",
            _props(
                Route,
                next_hops="STRING[]",
                interfaces="STRING[]",
                prefix_length="INT64",
                version="INT64",
            ),
            Route,
        ),
        # InfiniBand: a node (switch, channel adapter, router) by node GUID; a port by
        # "<port GUID>|<number>", with its latest counters and what the host's ibstat said.
        NodeSpec(
            "IBNode",
            _props(
                IBNode,
                firmware="STRING",
                ca_type="STRING",
                collected_by="STRING[]",
                host_candidates="STRING[]",
            ),
            IBNode,
        ),
        NodeSpec(
            "IBPort",
            _props(
                IBPort,
                host="STRING",
                degraded="BOOLEAN",
                rate_gbps="DOUBLE",
                linked="BOOLEAN",
                counters_extended="BOOLEAN",
                **dict.fromkeys(COUNTER_FIELDS.values(), "INT64"),
            ),
            IBPort,
        ),
        # A GPU (id "gpu:<host>:<index>"): what it is (its NVML index as gpu_index: "index"
        # is a reserved word of the embedded store), the verdict on it with its reasons
        # (JSON), and the host's RDMA adapters nearest to it (topo -m).
        NodeSpec(
            "GPU",
            {
                ("gpu_index" if name == "index" else name): kind
                for name, kind in _props(
                    Gpu,
                    verdict="STRING",
                    reasons="STRING",
                    checked="STRING[]",
                    health_sources="STRING[]",
                    hcas="STRING[]",
                    hca_connection="STRING",
                    host_candidates="STRING[]",
                ).items()
            },
            Gpu,
        ),
        # An NCCL training job (id: the job id given at ingest), with its latest nccl-tests
        # measurement at the largest size; a rank of one of its communicators (id
        # "<job>|<commId or n<nranks>>|<rank>").
        NodeSpec(
            "NcclJob",
            {
                "name": "STRING",
                "nranks": "INT64",
                "hosts": "STRING[]",
                "nccl_version": "STRING",
                "comm_ids": "STRING[]",
                "network": "STRING",
                "ring_channels": "INT64",
                "started_at": "STRING",
                "ended_at": "STRING",
                "test": "STRING",
                "test_size_bytes": "INT64",
                "test_algbw_gbps": "DOUBLE",
                "test_busbw_gbps": "DOUBLE",
                "test_results": "INT64",
            },
        ),
        NodeSpec(
            "NcclRank",
            {
                "job_id": "STRING",
                "comm": "STRING",
                "rank": "INT64",
                "nranks": "INT64",
                "host": "STRING",
                "pid": "INT64",
                "cuda_dev": "INT64",
                "nvml_dev": "INT64",
                "bus_id": "STRING",
                "local_rank": "INT64",
                "hca_ports": "STRING[]",
                "host_candidates": "STRING[]",
            },
        ),
        NodeSpec(
            "Snapshot",
            {
                "source": "STRING",
                "collected_at": "STRING",
                "applied_at": "STRING",
                "scope_devices": "INT64",
                "summary": "STRING",
            },
        ),
        NodeSpec(
            "FactSet",
            {
                "device": "STRING",
                "kind": "STRING",
                "snapshot_id": "STRING",
                "collected_at": "STRING",
                "payload": "STRING",
            },
        ),
        NodeSpec("Patch", {"device": "STRING", "payload": "STRING"}),
        # An apply in progress (id: the snapshot id), written before its facts and deleted
        # with its Snapshot record: what a start after a crash needs to finish the record.
        NodeSpec(
            "SnapshotApply",
            {
                "started_at": "STRING",
                "record": "STRING",
                "keys": "STRING",
                "digest": "STRING",
                "before": "STRING",
            },
        ),
        # One node (id "graph"): the writer's revision, which query-only replicas follow.
        NodeSpec("GraphRevision", {"value": "INT64", "changed_at": "STRING"}),
        # Answers kept at ingest by graph-engine (meshq_graph_engine.answers), not projected:
        # the IP index (one bucket of addresses per /24 or /64), the unlocated endpoints,
        # summary_stats' counters per device and per site, and what each is up to date with.
        NodeSpec("IpBucket", {"payload": "STRING", "dups": "INT64", "orphans": "INT64"}),
        NodeSpec("UnlocatedEndpoint", {"vlan": "INT64"}),
        NodeSpec(
            "DeviceTally",
            {
                "site": "STRING",
                "managed": "BOOLEAN",
                **dict.fromkeys(
                    (
                        "interfaces",
                        "addresses",
                        "located",
                        "bgp_peers",
                        "bgp_established",
                    ),
                    "INT64",
                ),
                "keys": "STRING",
            },
        ),
        NodeSpec(
            "SiteSummary",
            {
                "site": "STRING",
                **dict.fromkeys(
                    (
                        "devices",
                        "unmanaged_devices",
                        "interfaces",
                        "ip_addresses",
                        "endpoints_located",
                        "bgp_peers",
                        "bgp_established",
                        "subnets",
                        "vlans",
                        "links",
                    ),
                    "INT64",
                ),
                "keys": "STRING",
            },
        ),
        NodeSpec(
            "AnswerState",
            {
                "format": "INT64",
                "version": "STRING",
                "status": "STRING",
                "revision": "INT64",
                "updated_at": "STRING",
            },
        ),
    )
}

RELS: dict[str, RelSpec] = {
    spec.name: spec
    for spec in (
        RelSpec("HAS_INTERFACE", "Device", "Interface"),
        RelSpec(
            "CONNECTED_TO", "Interface", "Interface", {"evidence": "STRING", "confidence": "DOUBLE"}
        ),
        # a neighbour seen on a port whose own port has no name: less than a link
        RelSpec(
            "SEES",
            "Interface",
            "Device",
            {"protocol": "STRING", "port_id": "STRING", "confidence": "DOUBLE"},
        ),
        RelSpec("HAS_IP", "Interface", "IPAddress"),
        RelSpec("IN_SUBNET", "IPAddress", "Subnet"),
        RelSpec("HAS_VLAN", "Device", "VLAN"),
        RelSpec("LOCATED_AT", "Endpoint", "Interface"),
        RelSpec("HAS_BGP_PEER", "Device", "BGPPeer"),
        RelSpec("HAS_ZONE", "Device", "FirewallZone"),
        RelSpec("IN_ZONE", "Interface", "FirewallZone"),
        RelSpec("HAS_RULESET", "Device", "FirewallRuleset"),
        RelSpec("APPLIED_TO", "FirewallRuleset", "Interface", {"direction": "STRING"}),
        RelSpec("HAS_RULE", "FirewallRuleset", "FirewallRule"),
        RelSpec("HAS_FIREWALL_RULE", "Device", "FirewallRule"),
        RelSpec("HAS_FIREWALL_OBJECT", "Device", "FirewallObject"),
        RelSpec("HAS_ROUTE", "Device", "Route"),
        RelSpec("HAS_IB_PORT", "IBNode", "IBPort"),
        RelSpec("IB_LINK", "IBPort", "IBPort", {"width": "STRING", "speed": "STRING"}),
        # a channel adapter in a host the graph knows (by its node description or ibstat)
        RelSpec("HAS_HCA", "Device", "IBNode"),
        RelSpec("HAS_GPU", "Device", "GPU"),
        # an NCCL rank on a host the graph knows (by the host name its log printed)
        RelSpec("RUNS_RANK", "Device", "NcclRank"),
        # a GPU and its host's nearest RDMA adapters, where the fabric knows them
        RelSpec("NEAR_HCA", "GPU", "IBNode", {"connection": "STRING"}),
        # NCCL: a job's ranks; the GPU a rank ran on (by host and bus id, else NVML index);
        # the fabric port of each HCA port its connections used; the connections of a rank
        # pair over every channel (src sends to dst).
        RelSpec("HAS_RANK", "NcclJob", "NcclRank"),
        RelSpec("RANK_GPU", "NcclRank", "GPU", {"matched_by": "STRING"}),
        RelSpec("RANK_HCA_PORT", "NcclRank", "IBPort", {"hca": "STRING"}),
        RelSpec(
            "NCCL_CONNECTION",
            "NcclRank",
            "NcclRank",
            # each a comma-separated list (sorted): channels "0,1", transports "net" ...
            dict.fromkeys(
                ("channels", "ring_channels", "transports", "vias", "src_hcas", "dst_hcas"),
                "STRING",
            ),
        ),
    )
}


def node(label: str) -> NodeSpec:
    return NODES[label]


def rel(name: str) -> RelSpec:
    return RELS[name]


def ladybug_ddl() -> list[str]:
    statements = []
    for spec in NODES.values():
        cols = ", ".join(f"{name} {kind}" for name, kind in spec.props.items())
        statements.append(
            f"CREATE NODE TABLE IF NOT EXISTS {spec.label}(id STRING PRIMARY KEY, {cols})"
        )
    for r in RELS.values():
        cols = "".join(f", {name} {kind}" for name, kind in r.props.items())
        statements.append(f"CREATE REL TABLE IF NOT EXISTS {r.name}(FROM {r.src} TO {r.dst}{cols})")
    return statements


def memgraph_ddl() -> list[str]:
    return [f"CREATE INDEX ON :{label}(id)" for label in NODES] + [
        "CREATE INDEX ON :Device(hostname)",
        "CREATE INDEX ON :Endpoint(mac)",
        "CREATE INDEX ON :IPAddress(ip)",
        "CREATE INDEX ON :FirewallRule(device)",
        "CREATE INDEX ON :Route(device)",
    ]
