"""Everything derived from the facts at once, for one snapshot or the whole graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from network_discovery.model import (
    ArpEntry,
    Device,
    Endpoint,
    Interface,
    IPAddress,
    Link,
    LinkEvidence,
    MacTableEntry,
    NeighborObservation,
    Subnet,
)

from meshq_graph_engine.derive.endpoints import derive_endpoints, derive_subnets
from meshq_graph_engine.derive.links import (
    Sighting,
    derive_links,
    derive_sightings,
    derive_unmanaged,
)

__all__ = ["Derived", "FactSource", "derive_all", "merge_links"]

_STRENGTH: dict[LinkEvidence, int] = {e: i for i, e in enumerate(LinkEvidence)}


class FactSource(Protocol):
    """What :func:`derive_all` reads: a :class:`~network_discovery.model.Snapshot`, or any
    object with the same lists (the union of every snapshot's facts in the graph)."""

    @property
    def devices(self) -> Sequence[Device]: ...
    @property
    def interfaces(self) -> Sequence[Interface]: ...
    @property
    def ip_addresses(self) -> Sequence[IPAddress]: ...
    @property
    def neighbors(self) -> Sequence[NeighborObservation]: ...
    @property
    def arp(self) -> Sequence[ArpEntry]: ...
    @property
    def mac_table(self) -> Sequence[MacTableEntry]: ...


@dataclass(frozen=True)
class Derived:
    """Links (declared ones merged in), unmanaged devices, endpoints and subnets."""

    links: list[Link] = field(default_factory=list)
    unmanaged: list[Device] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    subnets: list[Subnet] = field(default_factory=list)
    #: Neighbours seen on a port whose far port could not be named (no link is made up).
    sightings: list[Sighting] = field(default_factory=list)


def merge_links(derived: Sequence[Link], declared: Sequence[Link]) -> list[Link]:
    """Both lists in one, by link id; where both hold a link, the stronger evidence wins."""
    merged: dict[str, Link] = {}
    for link in [*declared, *derived]:
        current = merged.get(link.id)
        if current is None or _STRENGTH[link.evidence] < _STRENGTH[current.evidence]:
            merged[link.id] = link
    return [merged[k] for k in sorted(merged)]


def derive_all(
    facts: FactSource,
    *,
    seen_at: datetime | None = None,
    known_endpoints: Mapping[str, Endpoint] | None = None,
) -> Derived:
    """Run every derivation over ``facts``. ``seen_at`` defaults to the facts'
    ``collected_at`` when they have one (a snapshot does)."""
    when = seen_at or getattr(facts, "collected_at", None)
    devices = [d for d in facts.devices if d.managed]
    seen = derive_links(devices, facts.interfaces, facts.neighbors, facts.ip_addresses)
    sightings = derive_sightings(
        devices, facts.interfaces, facts.neighbors, facts.ip_addresses, links=seen
    )
    links = merge_links(seen, list(getattr(facts, "links", ()) or ()))
    unmanaged = derive_unmanaged(devices, facts.neighbors, facts.interfaces, facts.ip_addresses)
    endpoints = derive_endpoints(
        facts.interfaces,
        facts.mac_table,
        facts.arp,
        links,
        devices=devices,
        ip_addresses=facts.ip_addresses,
        seen_at=when,
        known=known_endpoints,
    )
    return Derived(links, unmanaged, endpoints, derive_subnets(facts.ip_addresses), sightings)
