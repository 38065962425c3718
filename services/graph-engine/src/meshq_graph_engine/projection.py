"""From facts to the graph: the nodes and relationships the store should hold.

The projection is a pure function of the fact sets and patches, so re-running it on the same
facts gives the same graph (ingesting a snapshot twice changes nothing), and the store can be
repaired from the facts after a crash. Links, endpoints, unmanaged neighbours and subnets are
derived over the facts of the whole graph, not one snapshot, so an LLDP entry seen from one end
today and from the other end tomorrow becomes one link seen from both ends. Firewall policy and
routing tables are projected by :mod:`meshq_graph_engine._policy`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from meshq_runtime.graph.schema import NODES, RELS
from network_discovery.model import (
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
    Endpoint,
    FactKind,
    Interface,
    IPAddress,
    Link,
    MacTableEntry,
    NeighborObservation,
    Subnet,
)

from meshq_graph_engine._policy import project_policy
from meshq_graph_engine.derivation import Facts, derive
from meshq_graph_engine.facts import FactStore

__all__ = ["Projection", "project"]


@dataclass
class Projection:
    nodes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    rels: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def add_node(self, label: str, row: dict[str, Any]) -> None:
        """Store the row exactly as the store will read it back: every schema property."""
        data = row
        shaped = {"id": data["id"]}
        for prop, kind in NODES[label].props.items():
            value = data.get(prop)
            if kind.endswith("[]"):
                value = [] if value is None else list(value)
            shaped[prop] = value
        self.nodes[label][shaped["id"]] = shaped

    def add_rel(self, name: str, src: str, dst: str, **props: Any) -> None:
        data = props
        shaped: dict[str, Any] = {"src": src, "dst": dst}
        shaped.update({prop: data.get(prop) for prop in RELS[name].props})
        self.rels[name][(src, dst)] = shaped

    def managed_device_count(self) -> int:
        return sum(1 for row in self.nodes["Device"].values() if row.get("managed"))


def load_facts(store: FactStore) -> Facts:
    def models(kind: FactKind, cls: Any) -> list[Any]:
        return store.models_of_kind(kind, cls)

    devices = models(FactKind.DEVICE, Device)
    patched = []
    for device in devices:
        changes = store.patches.get(device.id)
        # validated, so patched values get their model types (criticality, tags)
        patched.append(
            Device.model_validate({**device.model_dump(), **changes}) if changes else device
        )
    return Facts(
        devices=patched,
        interfaces=models(FactKind.INTERFACES, Interface),
        ip_addresses=models(FactKind.IP_ADDRESSES, IPAddress),
        vlans=models(FactKind.VLANS, VLAN),
        neighbors=models(FactKind.LLDP, NeighborObservation)
        + models(FactKind.CDP, NeighborObservation),
        arp=models(FactKind.ARP, ArpEntry),
        mac_table=models(FactKind.MAC_TABLE, MacTableEntry),
        bgp_peers=models(FactKind.BGP, BGPPeer),
        links=models(FactKind.LINKS, Link),
        endpoints=models(FactKind.ENDPOINTS, Endpoint),
        seen_at=dict(store.seen),
    )


def project(store: FactStore, previous: Projection | None = None) -> Projection:
    """The graph for the current facts; ``previous`` keeps endpoints' first-seen times."""
    derived = derive(load_facts(store))
    out = Projection()
    interfaces: dict[str, Interface] = {i.id: i for i in derived.interfaces}
    devices: dict[str, Device] = {d.id: d for d in derived.devices}

    def ensure_interface(device: str, name: str) -> str:
        iface = Interface(device=device, name=name)
        if iface.id not in interfaces:
            interfaces[iface.id] = iface
        if device not in devices:
            devices[device] = Device(hostname=device, managed=False)
        return iface.id

    for link in derived.links:
        a = ensure_interface(link.a.device, link.a.interface)
        b = ensure_interface(link.b.device, link.b.interface)
        out.add_rel("CONNECTED_TO", a, b, evidence=str(link.evidence), confidence=link.confidence)
    for seen in derived.sightings:
        if seen.remote in devices:
            out.add_rel(
                "SEES",
                ensure_interface(seen.device, seen.interface),
                seen.remote,
                protocol=seen.protocol.value,
                port_id=seen.port_id,
                confidence=seen.confidence,
            )
    for ip in derived.ip_addresses:
        iface = ensure_interface(ip.device, ip.interface)
        out.add_node(
            "IPAddress",
            {
                **ip.model_dump(mode="json"),
                "id": ip.id,
                "ip": ip.ip,
                "prefix_length": ip.prefix_length,
                "version": ip.version,
                "network": ip.network,
            },
        )
        out.add_rel("HAS_IP", iface, ip.id)
        out.add_rel("IN_SUBNET", ip.id, ip.subnet_id)
    for subnet in derived.subnets:
        out.add_node(
            "Subnet", {**subnet.model_dump(mode="json"), "id": subnet.id, "version": subnet.version}
        )
    for vlan in derived.vlans:
        out.add_node("VLAN", {**vlan.model_dump(mode="json"), "id": vlan.id})
        if vlan.device and vlan.device in devices:
            out.add_rel("HAS_VLAN", vlan.device, vlan.id)
    prev_endpoints = previous.nodes["Endpoint"] if previous else {}
    for ep in derived.endpoints:
        row = {**ep.model_dump(mode="json"), "id": ep.id}
        before = prev_endpoints.get(ep.id)
        if (
            before
            and before.get("first_seen")
            and (not row.get("first_seen") or before["first_seen"] < row["first_seen"])
        ):
            row["first_seen"] = before["first_seen"]
        out.add_node("Endpoint", row)
        if ep.device and ep.interface:
            out.add_rel("LOCATED_AT", ep.id, ensure_interface(ep.device, ep.interface))
    for peer in derived.bgp_peers:
        out.add_node(
            "BGPPeer", {**peer.model_dump(mode="json"), "id": peer.id, "external": peer.external}
        )
        if peer.device in devices:
            out.add_rel("HAS_BGP_PEER", peer.device, peer.id)

    neighbours: dict[str, set[str]] = defaultdict(set)
    for link in derived.links:
        neighbours[link.a.device].add(link.b.device)
        neighbours[link.b.device].add(link.a.device)
    for device in devices.values():
        out.add_node(
            "Device",
            {
                **device.model_dump(mode="json"),
                "id": device.id,
                "degree": len(neighbours.get(device.id, ())),
            },
        )
    for interface in interfaces.values():
        out.add_node("Interface", {**interface.model_dump(mode="json"), "id": interface.id})
        out.add_rel("HAS_INTERFACE", interface.device, interface.id)
    # Subnets referenced by addresses always exist as nodes.
    for ip in derived.ip_addresses:
        if ip.subnet_id not in out.nodes["Subnet"]:
            subnet = Subnet.of(ip)
            out.add_node(
                "Subnet",
                {**subnet.model_dump(mode="json"), "id": subnet.id, "version": subnet.version},
            )
    project_policy(store, out, devices, interfaces)
    return out
