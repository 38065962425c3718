"""The device graph blast radius works on, and what a failure and its answer are.

Devices are nodes (managed and unmanaged alike). Cables between interfaces are *links*; links
that join the same two devices through one aggregate (a LAG: either end's interface names the
same Port-channel/ae) form one *logical link*, which fails only when every member has failed.
Every other cable is a logical link of its own, so two plain parallel cables are two paths.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import rustworkx as rx

if TYPE_CHECKING:
    from meshq_graph_engine.blast._index import FlowIndex

__all__ = [
    "ALL_VLANS",
    "Device",
    "Failure",
    "Link",
    "LinkEnd",
    "LogicalLink",
    "Topology",
]

#: What an end carries when it says nothing narrower (a routed port, an unknown neighbour, a
#: trunk without an allowed list): every VLAN.
ALL_VLANS: frozenset[int] | None = None


@dataclass(frozen=True)
class Device:
    id: str
    managed: bool
    role: str | None
    criticality: str | None
    endpoints: int = 0


@dataclass(frozen=True)
class LinkEnd:
    interface: str  # interface id, ``device|name``
    device: str
    name: str
    lag: str | None = None
    parent: str | None = None
    vlans: frozenset[int] | None = ALL_VLANS  # None: every VLAN (see ALL_VLANS)


@dataclass(frozen=True)
class Link:
    id: str
    a: LinkEnd
    b: LinkEnd

    def carried_vlans(self) -> frozenset[int] | None:
        """What both ends carry (None: not narrowed to a set of VLANs)."""
        if self.a.vlans is None:
            return self.b.vlans
        if self.b.vlans is None:
            return self.a.vlans
        return self.a.vlans & self.b.vlans


@dataclass(frozen=True)
class LogicalLink:
    index: int
    a: str  # device ids, a < b
    b: str
    members: tuple[str, ...]  # link ids


@dataclass
class Failure:
    """What fails: whole devices, and link members (a logical link fails when all of its
    members have). ``touched`` are the devices the failed element sits on: hop 0 for depth."""

    kind: str
    target: str
    devices: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()
    interfaces: tuple[str, ...] = ()
    touched: frozenset[str] = frozenset()
    #: Endpoints attached to the failed segment itself (VLAN members, addresses in the subnet),
    #: by endpoint id -> the device it is located on (or None).
    endpoints: dict[str, str | None] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "devices": sorted(self.devices),
            "links": sorted(self.links),
            "interfaces": list(self.interfaces),
        }


class Topology:
    """The device graph, indexed for the analysis (built once per graph revision)."""

    def __init__(self, devices: list[Device], links: list[Link]) -> None:
        self.devices: dict[str, Device] = {d.id: d for d in devices}
        for link in links:
            for end in (link.a, link.b):
                if end.device not in self.devices:
                    self.devices[end.device] = Device(end.device, False, None, None)
        self.links: dict[str, Link] = {link.id: link for link in links}
        self._by_device: dict[str, list[Link]] = defaultdict(list)
        for link in self.links.values():
            for device in {link.a.device, link.b.device}:
                self._by_device[device].append(link)
        self.ids: list[str] = sorted(self.devices)
        self.index: dict[str, int] = {d: i for i, d in enumerate(self.ids)}
        self.logical: list[LogicalLink] = _bundle(links)
        self.logical_of: dict[str, int] = {
            member: ll.index for ll in self.logical for member in ll.members
        }
        self.graph: rx.PyGraph = rx.PyGraph(multigraph=True)
        self.graph.add_nodes_from(self.ids)
        #: adjacency: node -> [(logical link index, neighbour node)]
        self.adj: list[list[tuple[int, int]]] = [[] for _ in self.ids]
        for ll in self.logical:
            a, b = self.index[ll.a], self.index[ll.b]
            self.graph.add_edge(a, b, ll.index)
            self.adj[a].append((ll.index, b))
            self.adj[b].append((ll.index, a))
        self.ends: list[tuple[int, int]] = [
            (self.index[ll.a], self.index[ll.b]) for ll in self.logical
        ]
        #: what the analysis works out once per graph (see ``_analysis``), None until then
        self._upstream: tuple[frozenset[int], str] | None = None
        self._heights: list[float] | None = None
        self._climbing: list[list[tuple[int, int]]] | None = None
        self._flow_index: FlowIndex | None = None
        self._managed: int | None = None
        self._weight: float | None = None
        #: per VLAN, the links that carry it alone; per set of VLANs, the devices with an end
        #: carrying exactly that set (see :meth:`vlan_links`, :meth:`vlan_devices`)
        self._vlan_links: dict[int, list[Link]] | None = None
        self._vlan_sets: dict[frozenset[int], set[str]] | None = None

    def degree(self, node: int) -> int:
        """Distinct neighbouring devices."""
        return len({n for _, n in self.adj[node]})

    def managed_count(self) -> int:
        if self._managed is None:
            self._managed = sum(1 for d in self.devices.values() if d.managed)
        return self._managed

    def total_weight(self, weight: Callable[[Device], float]) -> float:
        """The sum of ``weight`` over every device (kept: ``weight`` is always the same one,
        ``_scoring.device_weight``)."""
        if self._weight is None:
            self._weight = sum(weight(d) for d in self.devices.values())
        return self._weight

    def links_on(self, device: str) -> list[Link]:
        """The links with an end on ``device``, in link order."""
        return list(self._by_device.get(device, ()))

    def vlan_links(self, vlan: int) -> list[Link]:
        """The links that carry ``vlan`` and no other VLAN (both ends narrowed to it), in link
        order."""
        if self._vlan_links is None:
            self._index_vlans()
        assert self._vlan_links is not None
        return list(self._vlan_links.get(vlan, ()))

    def vlan_devices(self, vlan: int) -> set[str]:
        """The devices with a link end whose own VLAN list holds ``vlan``."""
        if self._vlan_sets is None:
            self._index_vlans()
        assert self._vlan_sets is not None
        out: set[str] = set()
        for vlans, devices in self._vlan_sets.items():
            if vlan in vlans:
                out |= devices
        return out

    def _index_vlans(self) -> None:
        alone: dict[int, list[Link]] = defaultdict(list)
        sets: dict[frozenset[int], set[str]] = defaultdict(set)
        for link in self.links.values():
            carried = link.carried_vlans()
            if carried is not None and len(carried) == 1:
                alone[next(iter(carried))].append(link)
            for end in (link.a, link.b):
                if end.vlans is not None:
                    sets[end.vlans].add(end.device)
        self._vlan_links, self._vlan_sets = dict(alone), dict(sets)


def _bundle(links: list[Link]) -> list[LogicalLink]:
    """Group LAG members: links joining the same two devices through one named aggregate."""
    parent: dict[str, str] = {link.id: link.id for link in links}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for link in links:
        for end, other in ((link.a, link.b), (link.b, link.a)):
            if end.lag and end.device != other.device:
                groups[(end.device, end.lag, other.device)].append(link.id)
    for members in groups.values():
        for member in members[1:]:
            parent[find(member)] = find(members[0])
    bundles: dict[str, list[Link]] = defaultdict(list)
    for link in links:
        if link.a.device != link.b.device:  # a cable looped back to its own device leads nowhere
            bundles[find(link.id)].append(link)
    out: list[LogicalLink] = []
    for bundle in sorted(bundles.values(), key=lambda ms: min(m.id for m in ms)):
        first = bundle[0]
        a, b = sorted((first.a.device, first.b.device))
        out.append(LogicalLink(len(out), a, b, tuple(sorted(m.id for m in bundle))))
    return out
