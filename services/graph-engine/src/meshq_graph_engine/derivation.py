"""What the graph derives from raw facts, over the whole graph.

``derive`` turns observations into graph entities: links from LLDP/CDP seen across both ends,
devices for neighbours nobody collected, endpoints from MAC tables on edge ports joined with
ARP, and subnets from interface addresses. The rules live in :mod:`meshq_graph_engine.derive`;
this module feeds them the facts of the whole graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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

from meshq_graph_engine.derive import Sighting, derive_all

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
    sightings: list[Sighting] = field(default_factory=list)


def derive(facts: Facts) -> Derived:
    """Run the shared derivation over every fact of the graph.

    An endpoint's ``last_seen`` is when the MAC table that placed it was collected (per
    device, so a snapshot of one switch does not touch every endpoint's time); declared
    endpoints and links from snapshots are kept, derived ones win where both exist.
    """
    result = derive_all(facts)
    endpoints: dict[str, Endpoint] = {}
    for ep in result.endpoints:
        seen = facts.seen_at.get((ep.device, "mac_table")) if ep.device else None
        if seen is None:
            seen = _latest(facts.seen_at, "arp")
        when = datetime.fromisoformat(seen) if seen else ep.last_seen
        endpoints[ep.id] = ep.model_copy(update={"last_seen": when, "first_seen": when})
    for ep in facts.endpoints:
        endpoints.setdefault(ep.id, ep)
    return Derived(
        devices=[*facts.devices, *result.unmanaged],
        interfaces=list(facts.interfaces),
        ip_addresses=list(facts.ip_addresses),
        subnets=list(result.subnets),
        vlans=list(facts.vlans),
        links=list(result.links),
        endpoints=sorted(endpoints.values(), key=lambda e: e.id),
        bgp_peers=list(facts.bgp_peers),
        sightings=list(result.sightings),
    )


def _latest(seen_at: dict[tuple[str, str], str], kind: str) -> str | None:
    times = [when for (_, k), when in seen_at.items() if k == kind]
    return max(times) if times else None
