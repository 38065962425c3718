"""Row models of the firewall, routing-lookup and path-analysis queries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from meshq_graph_engine.catalogue.base import Row

__all__ = [
    "DenyRuleRow",
    "FilterLineRow",
    "FirewallDeviceRow",
    "PathRow",
    "RouteLookupRow",
    "RuleRow",
    "ShadowedRuleRow",
    "TestFilterRow",
    "ZonePairRuleRow",
]

Action = Literal["permit", "deny", "drop", "reject"]
Verdict = Literal["allowed", "denied", "no_path"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleRow(Row):
    """One rule; empty zone, address and service lists mean any."""

    device: str
    rule_set: str
    position: int = Field(ge=1, description="1-based evaluation order in its rule set.")
    name: str
    action: Action
    enabled: bool
    src_zones: list[str] = Field(
        description="The rule's zones, else those of the interfaces its rule set is bound "
        "to inbound; empty: any."
    )
    dst_zones: list[str] = Field(description="As src_zones, for outbound bindings.")
    sources: list[str] = Field(description="Resolved source CIDRs; empty: any.")
    destinations: list[str] = Field(description="Resolved destination CIDRs; empty: any.")
    services: list[str] = Field(description="'tcp dst 443', 'udp src 53', 'icmp type 8'…")
    source_names: list[str]
    destination_names: list[str]
    service_names: list[str]
    hit_count: int | None
    comment: str | None
    text: str | None = Field(description="The rule as the configuration wrote it.")
    nat: str | None = Field(
        description="iptables nat table: the translation the rule applies ('dnat to 10.0.3.20 "
        "port 80', 'masquerade'); null for a rule that translates nothing."
    )


class ZonePairRuleRow(RuleRow):
    zone_match: Literal["exact", "any"] = Field(
        description="exact: the rule names both zones; any: it applies to any zone on a side."
    )


class FirewallDeviceRow(Row):
    device: str
    hostname: str | None
    vendor: str | None
    platform: str | None
    role: str | None
    site: str | None
    rule_sets: int
    packet_filters: int = Field(
        description="Rule sets that filter packets: bound to an interface, or a chain or zone "
        "policy (an access list only route-maps use is not one)."
    )
    rules: int
    enabled_rules: int
    deny_rules: int = Field(description="Rules whose action is deny, drop or reject.")
    zones: int


class DenyRuleRow(Row):
    hostname: str
    device: str
    rule_name: str
    action: Literal["deny", "drop", "reject"]
    src_zone: str = Field(description="Comma-separated zones, or 'any'.")
    dst_zone: str
    rule_set: str
    position: int
    source_any: bool
    source_cidrs: int
    source_ipv4_addresses: int = Field(description="IPv4 addresses covered (2^32 for any).")
    destination_any: bool
    destination_cidrs: int
    destination_ipv4_addresses: int
    service_any: bool
    services: list[str]
    breadth: Literal["any", "wide", "narrow"] = Field(
        description="any: any source, destination and service; wide: any on one or two of "
        "them; narrow: none."
    )
    hit_count: int | None
    device_deny_rules: int = Field(description="Enabled deny/drop/reject rules on the device.")
    device_rules: int = Field(description="All rules on the device.")


class CoveringRule(_Part):
    position: int
    name: str
    action: Action


class ShadowedRuleRow(Row):
    device: str
    rule_set: str
    position: int
    name: str
    action: Action
    text: str
    kind: Literal["redundant", "conflict"] = Field(
        description="redundant: the covering rules do the same; conflict: some do the opposite."
    )
    covered_by: list[CoveringRule] = Field(
        description="The smallest set of earlier rules found that together cover it, in order: "
        "one rule when one covers it alone; otherwise a set none of which can be left out."
    )


class FilterLineRow(Row):
    """One line of a filter that no packet reaches."""

    device: str
    filter: str = Field(description="The rule set (ACL, chain, zone policy), bound or not.")
    position: int = Field(ge=1, description="The line's 1-based place in the filter.")
    unreachable_line: str = Field(description="The line as configured (else its name).")
    action: Action
    blocking_lines: list[str] = Field(
        description="The earlier lines that together block it, as configured, in order: one "
        "line when one covers it alone, otherwise a set none of which can be left out; empty "
        "when the line matches nothing by itself."
    )
    blocking_positions: list[int] = Field(description="Their places in the filter.")
    different_action: bool = Field(
        description="A blocking line does otherwise: permits what this line denies (or the "
        "reverse), or in a nat chain applies another translation."
    )
    reason: Literal["blocking_lines", "empty", "independently_unmatchable"] = Field(
        description="blocking_lines: earlier lines cover it; empty: one of its fields names "
        "nothing (no address, no service); independently_unmatchable: no packet has all it "
        "asks for (IPv4 sources with IPv6 destinations, ports on a protocol without ports)."
    )


class RouteLookupRow(Row):
    """One next hop of the matching route (several rows: equal-cost paths)."""

    device: str
    vrf: str
    destination: str
    prefix: str
    protocol: str
    origin: Literal["collected", "derived"] = Field(
        description="collected: the device's own table; derived: worked out from its "
        "configuration (connected and static routes), where no table was collected."
    )
    next_hop: str | None
    interface: str | None
    next_hop_device: str | None = Field(description="The device owning the next-hop address.")
    discard: bool
    ecmp: int = Field(description="How many next hops the route has.")
    path: int


class Decision(_Part):
    device: str
    rule_set: str
    position: int | None = Field(description="None: the rule set's default action decided.")
    name: str
    action: Action
    text: str
    verdict: Literal["allowed", "denied"]


class RouteRef(_Part):
    prefix: str
    protocol: str
    vrf: str
    origin: Literal["collected", "derived"]


class Addresses(_Part):
    """The flow's addresses and ports at one point of its path."""

    source: str
    destination: str
    source_port: int | None
    destination_port: int | None


class Translation(_Part):
    """An address translation (iptables nat table) the flow met at a hop."""

    device: str
    rule_set: str = Field(description="The nat chain, e.g. 'nat PREROUTING'.")
    position: int
    name: str
    kind: Literal["dnat", "snat", "masquerade", "redirect"]
    text: str
    before: Addresses
    after: Addresses = Field(description="The flow from here on: what later hops see.")


class Hop(_Part):
    device: str
    vrf: str
    ingress_interface: str | None
    egress_interface: str | None
    ingress_zone: str | None
    egress_zone: str | None
    reached_by: Literal["source", "gateway", "start", "route", "connected", "shared_subnet"]
    method: Literal["route", "connected", "shared_subnet", "destination"]
    route: RouteRef | None
    next_hop: str | None = Field(description="The adjacent address the flow is handed to.")
    resolved_next_hop: str | None = Field(
        description="The route's own next hop when it is not adjacent (a BGP next hop), "
        "reached through next_hop."
    )
    decisions: list[Decision] = Field(
        description="Each rule set consulted here, in order (on a Linux host every netfilter "
        "chain: raw, mangle, nat, filter), with its deciding line."
    )
    translations: list[Translation] = Field(
        description="NAT applied here, in order (iptables DNAT, SNAT, MASQUERADE, REDIRECT); "
        "empty where none."
    )


class Workload(_Part):
    """A Kubernetes pod the address belongs to (meshq_k8s_pods), placed at its node."""

    cluster: str
    namespace: str
    pod: str
    node: str
    node_address: str = Field(description="The node's address the walk was located from.")


class Owner(_Part):
    kind: Literal["interface", "endpoint", "workload", "unknown"] = Field(
        description="workload: a pod's address the graph does not hold; the walk begins "
        "where its node's address does."
    )
    device: str | None
    interface: str | None
    vrf: str | None
    mac: str | None
    gateways: list[str]
    workload: Workload | None = None


class PathRow(Row):
    """One branch of the path (equal-cost paths give several)."""

    verdict: Verdict = Field(
        description="The flow's verdict over every branch: denied if any is, else no_path if "
        "any finds none, else allowed."
    )
    branch: int
    branch_verdict: Verdict
    reason: str
    source_owner: Owner
    destination_owner: Owner
    hop_count: int
    hops: list[Hop]
    firewalls: list[Decision] = Field(description="The deciding rule of each rule set passed.")
    truncated: bool


class TestFilterRow(Row):
    device: str
    filter: str
    verdict: Verdict = Field(description="allowed or denied.")
    action: str = Field(description="The deciding line's action (or the default action).")
    position: int | None = Field(description="The deciding line's place; null: the default.")
    name: str
    text: str = Field(description="The deciding line as configured.")
    default: bool = Field(description="No line matched: the filter's default action decided.")
