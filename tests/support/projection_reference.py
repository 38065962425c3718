"""The graph engine's previous projection: the whole graph derived at once, from models.

Kept to check the incremental projection (``meshq_graph_engine.live``) against: every fact is
validated into its model, the shared derivations (``meshq_graph_engine.derive``) run over the
facts of the whole graph, and the graph is shaped from their results, as the engine did on
every snapshot before it derived only what a snapshot touches.

The same rules, with the choices that depended on the order facts were met in made fixed
(the engine keeps to them too): fact sets are read in key order; a device's own record wins
over an unmanaged device made from neighbour entries with the same id; an interface's device
exists whenever the interface does; a sighting's interface exists whether or not its SEES
relationship is drawn; relationships drawn only where their device exists (SEES, HAS_VLAN,
HAS_BGP_PEER, policy) look at the final set of devices.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from meshq_graph_engine.derive import derive_all
from meshq_graph_engine.facts import FactStore
from meshq_graph_engine.projection import NODE_PROPS, Projection
from network_discovery.model import (
    VLAN,
    ArpEntry,
    BGPPeer,
    Device,
    Endpoint,
    FactKind,
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    Interface,
    IPAddress,
    Link,
    MacTableEntry,
    NeighborObservation,
    Route,
    Subnet,
    interface_id,
)

__all__ = ["reference_projection"]


def _derive(store: FactStore) -> dict[str, Any]:
    def models(kind: FactKind | str, cls: Any) -> list[Any]:
        return store.models_of_kind(kind, cls)

    devices = []
    for device in models(FactKind.DEVICE, Device):
        changes = store.patches.get(device.id)
        devices.append(
            Device.model_validate({**device.model_dump(), **changes}) if changes else device
        )

    class Facts:
        pass

    facts: Any = Facts()
    facts.devices = devices
    facts.interfaces = models(FactKind.INTERFACES, Interface)
    facts.ip_addresses = models(FactKind.IP_ADDRESSES, IPAddress)
    facts.neighbors = models(FactKind.LLDP, NeighborObservation) + models(
        FactKind.CDP, NeighborObservation
    )
    facts.arp = models(FactKind.ARP, ArpEntry)
    facts.mac_table = models(FactKind.MAC_TABLE, MacTableEntry)
    facts.links = models(FactKind.LINKS, Link)
    result = derive_all(facts)
    arp_times = [when for (_, k), when in store.seen.items() if k == "arp"]
    endpoints: dict[str, Endpoint] = {}
    for ep in result.endpoints:
        seen = store.seen.get((ep.device, "mac_table")) if ep.device else None
        if seen is None:
            seen = max(arp_times) if arp_times else None
        when = datetime.fromisoformat(seen) if seen else ep.last_seen
        endpoints[ep.id] = ep.model_copy(update={"last_seen": when, "first_seen": when})
    for ep in models(FactKind.ENDPOINTS, Endpoint):
        endpoints.setdefault(ep.id, ep)
    return {
        "devices": devices,
        "unmanaged": result.unmanaged,
        "interfaces": facts.interfaces,
        "ip_addresses": facts.ip_addresses,
        "subnets": result.subnets,
        "vlans": models(FactKind.VLANS, VLAN),
        "links": result.links,
        "endpoints": sorted(endpoints.values(), key=lambda e: e.id),
        "bgp_peers": models(FactKind.BGP, BGPPeer),
        "sightings": result.sightings,
    }


def reference_projection(store: FactStore, previous: Projection | None = None) -> Projection:
    """The graph for the current facts; ``previous`` keeps endpoints' first-seen times."""
    derived = _derive(store)
    out = Projection()
    interfaces: dict[str, Interface] = {i.id: i for i in derived["interfaces"]}
    devices: dict[str, Device] = {d.id: d for d in derived["unmanaged"]}
    devices.update({d.id: d for d in derived["devices"]})

    def ensure_interface(device: str, name: str) -> str:
        iface = Interface(device=device, name=name)
        if iface.id not in interfaces:
            interfaces[iface.id] = iface
        return iface.id

    rels: list[tuple[str, str, str, dict[str, Any]]] = []
    for link in derived["links"]:
        a = ensure_interface(link.a.device, link.a.interface)
        b = ensure_interface(link.b.device, link.b.interface)
        rels.append(
            ("CONNECTED_TO", a, b, {"evidence": str(link.evidence), "confidence": link.confidence})
        )
    sightings = []
    for seen in derived["sightings"]:
        sightings.append((ensure_interface(seen.device, seen.interface), seen))
    for ip in derived["ip_addresses"]:
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
        rels.append(("HAS_IP", iface, ip.id, {}))
        rels.append(("IN_SUBNET", ip.id, ip.subnet_id, {}))
    for subnet in derived["subnets"]:
        out.add_node(
            "Subnet", {**subnet.model_dump(mode="json"), "id": subnet.id, "version": subnet.version}
        )
    first_seen = NODE_PROPS["Endpoint"].index("first_seen")
    prev_endpoints = previous.nodes["Endpoint"] if previous else {}
    for ep in derived["endpoints"]:
        row = {**ep.model_dump(mode="json"), "id": ep.id}
        before = prev_endpoints.get(ep.id)
        if (
            before
            and before[first_seen]
            and (not row.get("first_seen") or before[first_seen] < row["first_seen"])
        ):
            row["first_seen"] = before[first_seen]
        out.add_node("Endpoint", row)
        if ep.device and ep.interface:
            rels.append(("LOCATED_AT", ep.id, ensure_interface(ep.device, ep.interface), {}))
    # an interface's device exists with it
    for interface in interfaces.values():
        if interface.device not in devices:
            devices[interface.device] = Device(hostname=interface.device, managed=False)
    for iface, seen in sightings:
        if seen.remote in devices:
            rels.append(
                (
                    "SEES",
                    iface,
                    seen.remote,
                    {
                        "protocol": seen.protocol.value,
                        "port_id": seen.port_id,
                        "confidence": seen.confidence,
                    },
                )
            )
    for vlan in derived["vlans"]:
        out.add_node("VLAN", {**vlan.model_dump(mode="json"), "id": vlan.id})
        if vlan.device and vlan.device in devices:
            rels.append(("HAS_VLAN", vlan.device, vlan.id, {}))
    for peer in derived["bgp_peers"]:
        out.add_node(
            "BGPPeer", {**peer.model_dump(mode="json"), "id": peer.id, "external": peer.external}
        )
        if peer.device in devices:
            rels.append(("HAS_BGP_PEER", peer.device, peer.id, {}))
    neighbours: dict[str, set[str]] = defaultdict(set)
    for link in derived["links"]:
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
        rels.append(("HAS_INTERFACE", interface.device, interface.id, {}))
    for ip in derived["ip_addresses"]:
        if ip.subnet_id not in out.nodes["Subnet"]:
            subnet = Subnet.of(ip)
            out.add_node(
                "Subnet",
                {**subnet.model_dump(mode="json"), "id": subnet.id, "version": subnet.version},
            )
    for name, src, dst, props in rels:
        out.add_rel(name, src, dst, **props)
    _policy(store, out, devices, interfaces)
    return out


def _policy(
    store: FactStore, out: Projection, devices: dict[str, Any], interfaces: dict[str, Any]
) -> None:
    def owned(label: str, rel: str, device: str, row: dict[str, Any]) -> None:
        out.add_node(label, row)
        if device in devices:
            out.add_rel(rel, device, row["id"])

    for zone in store.models_of_kind("firewall:zones", FirewallZone):
        owned(
            "FirewallZone", "HAS_ZONE", zone.device, {**zone.model_dump(mode="json"), "id": zone.id}
        )
        for name in zone.interfaces:
            iface = interface_id(zone.device, name)
            if iface in interfaces:
                out.add_rel("IN_ZONE", iface, zone.id)
    rulesets: set[str] = set()
    for ruleset in store.models_of_kind("firewall:rulesets", FirewallRuleset):
        rulesets.add(ruleset.id)
        row = {
            **ruleset.model_dump(mode="json"),
            "id": ruleset.id,
            "bindings": [str(b) for b in ruleset.bindings],
        }
        owned("FirewallRuleset", "HAS_RULESET", ruleset.device, row)
        directions: dict[str, set[str]] = defaultdict(set)
        for binding in ruleset.bindings:
            if binding.interface is not None:
                directions[interface_id(ruleset.device, binding.interface)].add(binding.direction)
        for iface, seen in directions.items():
            if iface in interfaces:
                out.add_rel("APPLIED_TO", ruleset.id, iface, direction=",".join(sorted(seen)))
    for rule in store.models_of_kind("firewall:rules", FirewallRule):
        row = {
            **rule.model_dump(mode="json"),
            "id": rule.id,
            "services": [str(s) for s in rule.services],
            "nat": str(rule.nat) if rule.nat is not None else None,
        }
        owned("FirewallRule", "HAS_FIREWALL_RULE", rule.device, row)
        if rule.ruleset_id in rulesets:
            out.add_rel("HAS_RULE", rule.ruleset_id, rule.id)
    for obj in store.models_of_kind("firewall:objects", FirewallObject):
        row = {
            **obj.model_dump(mode="json"),
            "id": obj.id,
            "services": [str(s) for s in obj.services],
        }
        owned("FirewallObject", "HAS_FIREWALL_OBJECT", obj.device, row)
    for route in store.models_of_kind("routes", Route):
        row = {
            **route.model_dump(mode="json"),
            "id": route.id,
            "next_hops": [hop.address or "" for hop in route.next_hops],
            "interfaces": [hop.interface or "" for hop in route.next_hops],
            "prefix_length": route.prefix_length,
            "version": route.version,
        }
        owned("Route", "HAS_ROUTE", route.device, row)
