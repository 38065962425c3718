"""Endpoints from MAC tables on edge ports, joined with ARP; subnets from addresses."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from network_discovery.model import (
    ArpEntry,
    Device,
    Endpoint,
    Interface,
    InterfaceMode,
    IPAddress,
    Link,
    MacTableEntry,
    Subnet,
    interface_id,
)

from meshq_graph_engine.derive._resolve import DeviceIndex
from meshq_graph_engine.derive.links import uplink_ports

__all__ = ["MAX_MACS_ON_TRUNK", "NOT_EDGE", "derive_endpoints", "derive_subnets"]

#: A trunk or aggregate with more MACs than this, and no neighbour entry, is taken for an
#: uplink to a switch nobody collected rather than an edge port.
MAX_MACS_ON_TRUNK = 8
#: Ports that are never edge ports: CPU/supervisor, drops, routed MACs, VXLAN/NVE tunnels,
#: SVIs and IRBs, tunnels and loopbacks.
NOT_EDGE = re.compile(
    r"^(?:cpu|drop|router|switch|sup-eth\d*|.*\(r\)|vx\d*|vxlan\d*|nve\d*|vlan\d+|"
    r"irb(?:\.\d+)?|vtep.*|tunnel\d+|loopback\d+|lo\d+|vlan\.\d+)$",
    re.I,
)
_AGGREGATE = re.compile(r"^(?:port-channel|ae|bundle-ether|po)\d+", re.I)


def _multicast(mac: str) -> bool:
    return bool(int(mac[:2], 16) & 1)


def _non_edge(
    interfaces: Iterable[Interface], links: Iterable[Link], index: DeviceIndex
) -> tuple[set[str], set[str]]:
    """(ports toward a collected device, including their LAGs and members; trunk/LAGs).

    A LAG and its members are uplinks together when any of them is a link end toward a
    collected device (one level: a LAG nested in another is not followed)."""
    base = uplink_ports(links, set(index.by_id))
    uplinks = set(base)
    members: dict[str, set[str]] = defaultdict(set)
    trunks: set[str] = set()
    for iface in interfaces:
        if iface.lag:
            members[interface_id(iface.device, iface.lag)].add(iface.id)
            trunks.add(interface_id(iface.device, iface.lag))
        if iface.mode is InterfaceMode.TRUNK or _AGGREGATE.match(iface.name):
            trunks.add(iface.id)
    for lag, ports in members.items():
        if lag in base or ports & base:
            uplinks |= ports | {lag}
    return uplinks, trunks


def derive_endpoints(
    interfaces: Iterable[Interface],
    mac_table: Iterable[MacTableEntry],
    arp: Iterable[ArpEntry],
    links: Iterable[Link],
    *,
    devices: Iterable[Device] = (),
    ip_addresses: Iterable[IPAddress] = (),
    seen_at: datetime | None = None,
    known: Mapping[str, Endpoint] | None = None,
    include_unlocated: bool = True,
    max_macs_on_trunk: int = MAX_MACS_ON_TRUNK,
) -> list[Endpoint]:
    """Endpoints located on edge ports, with their IPs from ARP.

    An edge port is one that is not a link end toward a collected device (nor a LAG or
    member of one), not a CPU/tunnel/SVI destination, and not a trunk or aggregate
    carrying more than ``max_macs_on_trunk`` MACs. A MAC seen on several edge ports is
    placed on the one with the fewest MACs. MACs of collected devices (chassis,
    interfaces) and of their addresses are not endpoints. With ``include_unlocated``, a MAC
    only known from ARP becomes an endpoint without a location. ``first_seen`` is kept
    from ``known`` (the graph's endpoints by MAC), else ``seen_at``; ``last_seen`` is
    ``seen_at``. Sorted by MAC.
    """
    interfaces = list(interfaces)
    ip_addresses = list(ip_addresses)
    index = DeviceIndex.build(devices, interfaces, ip_addresses)
    uplinks, trunks = _non_edge(interfaces, links, index)
    own_macs = index.managed_macs()
    own_ips = {a.ip for a in ip_addresses} | set(index.by_ip)
    per_port: dict[str, set[str]] = defaultdict(set)
    entries: list[tuple[str, MacTableEntry]] = []
    for entry in mac_table:
        port = interface_id(entry.device, entry.interface)
        if port in uplinks or NOT_EDGE.match(entry.interface) or _multicast(entry.mac):
            continue
        if entry.mac in own_macs:
            continue
        per_port[port].add(entry.mac)
        entries.append((port, entry))
    best: dict[str, tuple[int, str, MacTableEntry]] = {}
    for port, entry in entries:
        count = len(per_port[port])
        if port in trunks and count > max_macs_on_trunk:
            continue
        rank = (count, port, entry)
        if entry.mac not in best or rank[:2] < best[entry.mac][:2]:
            best[entry.mac] = rank
    ips: dict[str, set[str]] = defaultdict(set)
    for a in arp:
        if a.ip not in own_ips and a.mac not in own_macs and not _multicast(a.mac):
            ips[a.mac].add(a.ip)
    macs = set(best) | (set(ips) if include_unlocated else set())
    known = known or {}
    result = []
    for mac in sorted(macs):
        located = best.get(mac)
        previous = known.get(mac)
        first = previous.first_seen if previous and previous.first_seen else seen_at
        result.append(
            Endpoint(
                mac=mac,
                ips=tuple(sorted(ips.get(mac, ()))),
                device=located[2].device if located else None,
                interface=located[2].interface if located else None,
                vlan=located[2].vlan if located else None,
                first_seen=first,
                last_seen=seen_at,
                vendor=previous.vendor if previous else None,
                hostname=previous.hostname if previous else None,
            )
        )
    return result


def derive_subnets(ip_addresses: Iterable[IPAddress]) -> list[Subnet]:
    """One subnet per network (and VRF) that has an address in it, sorted by id."""
    subnets = {s.id: s for s in (Subnet.of(a) for a in ip_addresses)}
    return [subnets[k] for k in sorted(subnets)]
