"""Where a cluster's nodes sit in the graph: the ``Device`` each node is, and the switch
ports its NICs are cabled to; pods and service endpoints then sit where their node sits.

Nothing is joined that the evidence does not name:

- node ↔ Device: a node address that is a device's management address or one of its
  interface addresses (``address``); a node NIC MAC (``meshoptixiq.io/macs``) that is one of a
  device's interface MACs (``mac``); the node's name, or its ``Hostname`` address, naming a
  device (``name``: ``fabric._hosts`` rules, case-insensitive, first label). When the evidence
  names more than one device, none is linked and ``device_candidates`` lists them.
- node ↔ switch port: the node's own Device linked to a switch interface (``CONNECTED_TO``:
  LLDP/CDP from lldpd on the node, or declared), with that link's evidence; a node MAC in a
  switch's MAC table (a located ``Endpoint``: ``mac_table``); a node address on a located
  ``Endpoint`` (``arp``: the address resolved to a MAC the switch learned on that port).
- a pod runs on its node (``spec.nodeName``); its IPs are endpoints of that node, so it
  reaches the network through the node's ports. A node with no known port says so
  (``redundancy`` is ``unknown``), never "single".
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from network_discovery.k8s import ClusterInventory, K8sNode

from meshq_graph_engine.fabric._hosts import MAX_CANDIDATES, HostIndex

__all__ = [
    "ENDPOINTS_BY_IP",
    "ENDPOINTS_BY_MAC",
    "GRAPH_QUERIES",
    "LINKS",
    "GraphFacts",
    "NodePlace",
    "Port",
    "place_nodes",
    "wanted",
]

#: What the joins read from the graph: every device's addresses and MACs (to name nodes),
#: then only the located endpoints and the links of the nodes at hand (``$macs``, ``$ips``,
#: ``$ids``).
GRAPH_QUERIES = {
    "devices": "MATCH (d:Device) RETURN d.id AS device, d.management_ip AS management_ip",
    "addresses": (
        "MATCH (d:Device)-[:HAS_INTERFACE]->(:Interface)-[:HAS_IP]->(a:IPAddress) "
        "RETURN d.id AS device, a.ip AS ip"
    ),
    "macs": (
        "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE i.mac IS NOT NULL "
        "RETURN d.id AS device, i.mac AS mac"
    ),
}
ENDPOINTS_BY_MAC = (
    "MATCH (e:Endpoint)-[:LOCATED_AT]->(i:Interface)<-[:HAS_INTERFACE]-(d:Device) "
    "WHERE e.mac IN $macs RETURN e.mac AS mac, d.id AS switch, i.name AS interface"
)
ENDPOINTS_BY_IP = (
    "MATCH (e:Endpoint)-[:LOCATED_AT]->(i:Interface)<-[:HAS_INTERFACE]-(d:Device) "
    "UNWIND e.ips AS ip WITH e, ip, d, i WHERE ip IN $ips "
    "RETURN ip, d.id AS switch, i.name AS interface"
)
LINKS = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface)-[l:CONNECTED_TO]-(j:Interface)"
    "<-[:HAS_INTERFACE]-(s:Device) WHERE d.id IN $ids AND d.id <> s.id "
    "RETURN d.id AS device, s.id AS switch, j.name AS port, l.evidence AS evidence"
)


def _ip(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        return str(ipaddress.ip_interface(text).ip)
    except ValueError:
        return None


@dataclass(frozen=True, order=True)
class Port:
    """A switch port a node is cabled to, and what says so."""

    switch: str
    interface: str
    evidence: str


@dataclass
class GraphFacts:
    """The graph's addressing, indexed for the joins."""

    devices: list[str]
    by_address: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_mac: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    ports_by_mac: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    ports_by_ip: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    links: dict[str, set[Port]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def from_rows(cls, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> GraphFacts:
        facts = cls(devices=sorted({r["device"] for r in rows["devices"]}))
        for r in rows["devices"]:
            if (ip := _ip(r.get("management_ip"))) is not None:
                facts.by_address[ip].add(r["device"])
        for r in rows["addresses"]:
            if (ip := _ip(r.get("ip"))) is not None:
                facts.by_address[ip].add(r["device"])
        for r in rows["macs"]:
            facts.by_mac[str(r["mac"]).lower()].add(r["device"])
        return facts

    def add_places(
        self,
        by_mac: Iterable[Mapping[str, Any]],
        by_ip: Iterable[Mapping[str, Any]],
        links: Iterable[Mapping[str, Any]],
    ) -> None:
        """The located endpoints (``ENDPOINTS_BY_MAC``, ``ENDPOINTS_BY_IP``) and the links
        (``LINKS``) of the nodes at hand."""
        for r in by_mac:
            self.ports_by_mac[str(r["mac"]).lower()].add((r["switch"], r["interface"]))
        for r in by_ip:
            if (ip := _ip(r.get("ip"))) is not None:
                self.ports_by_ip[ip].add((r["switch"], r["interface"]))
        for r in links:
            self.links[r["device"]].add(
                Port(r["switch"], r["port"], str(r.get("evidence") or "link"))
            )


@dataclass(frozen=True)
class NodePlace:
    """One node: the Device it is (or the candidates), and its switch ports."""

    cluster: str
    node: K8sNode
    device: str | None
    evidence: tuple[str, ...]
    candidates: tuple[str, ...]
    ports: tuple[Port, ...]

    @property
    def switches(self) -> tuple[str, ...]:
        return tuple(sorted({p.switch for p in self.ports}))

    @property
    def redundancy(self) -> str:
        count = len(self.switches)
        return "unknown" if count == 0 else "single" if count == 1 else "redundant"


def _device_of(
    node: K8sNode, facts: GraphFacts, names: HostIndex
) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    found: dict[str, set[str]] = defaultdict(set)
    for ip in node.ips:
        for device in facts.by_address.get(ip, ()):
            found[device].add("address")
    for mac in node.macs:
        for device in facts.by_mac.get(mac, ()):
            found[device].add("mac")
    for name in {node.name, node.hostname} - {None}:
        match = names.match(name)
        if match.device is not None:
            found[match.device].add("name")
        for device in match.candidates:
            found[device].add("name")
    if len(found) == 1:
        device, evidence = next(iter(found.items()))
        return device, tuple(sorted(evidence)), ()
    return None, (), tuple(sorted(found)[:MAX_CANDIDATES])


def _ports(node: K8sNode, device: str | None, facts: GraphFacts) -> tuple[Port, ...]:
    ports: set[Port] = set()
    if device is not None:
        ports |= facts.links.get(device, set())
    for mac in node.macs:
        ports |= {Port(s, i, "mac_table") for s, i in facts.ports_by_mac.get(mac, ())}
    for ip in node.ips:
        ports |= {Port(s, i, "arp") for s, i in facts.ports_by_ip.get(ip, ())}
    # the node's own device is never its own switch
    return tuple(sorted(p for p in ports if p.switch != device))


def wanted(inventories: Iterable[ClusterInventory], facts: GraphFacts) -> dict[str, list[str]]:
    """What to look up for ``add_places``: the nodes' ``macs``, ``ips`` and devices (``ids``)."""
    names = HostIndex(facts.devices)
    macs: set[str] = set()
    ips: set[str] = set()
    ids: set[str] = set()
    for inventory in inventories:
        for node in inventory.nodes:
            macs.update(node.macs)
            ips.update(node.ips)
            device, _, _ = _device_of(node, facts, names)
            if device is not None:
                ids.add(device)
    return {"macs": sorted(macs), "ips": sorted(ips), "ids": sorted(ids)}


def place_nodes(inventories: Iterable[ClusterInventory], facts: GraphFacts) -> list[NodePlace]:
    """Every node of every inventory, placed in the graph (``add_places`` done first)."""
    names = HostIndex(facts.devices)
    places = []
    for inventory in inventories:
        for node in inventory.nodes:
            device, evidence, candidates = _device_of(node, facts, names)
            places.append(
                NodePlace(
                    inventory.cluster,
                    node,
                    device,
                    evidence,
                    candidates,
                    _ports(node, device, facts),
                )
            )
    return places
