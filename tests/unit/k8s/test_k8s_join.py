"""The joins on graph rows given directly: what links a node, what only names candidates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from meshq_graph_engine.k8s import GraphFacts, place_nodes, wanted
from network_discovery.k8s import ClusterInventory, K8sNode


def _facts(**rows: list[dict[str, Any]]) -> GraphFacts:
    base: dict[str, list[dict[str, Any]]] = {"devices": [], "addresses": [], "macs": []}
    base.update(rows)
    return GraphFacts.from_rows(base)


def _cluster(*nodes: K8sNode) -> ClusterInventory:
    return ClusterInventory(
        cluster="c", collected_at=datetime(2026, 3, 1, tzinfo=UTC), source="api", nodes=nodes
    )


def _node(name: str, ip: str = "", macs: tuple[str, ...] = ()) -> K8sNode:
    return K8sNode(name=name, addresses=(("InternalIP", ip),) if ip else (), macs=macs)


def test_an_address_links_the_device_that_holds_it() -> None:
    facts = _facts(
        devices=[
            {"device": "srv-1", "management_ip": "10.0.0.5"},
            {"device": "sw-1", "management_ip": None},
        ],
    )
    [place] = place_nodes([_cluster(_node("worker-a", "10.0.0.5"))], facts)
    assert (place.device, place.evidence, place.candidates) == ("srv-1", ("address",), ())


def test_evidence_naming_two_devices_links_neither() -> None:
    facts = _facts(
        devices=[
            {"device": "srv-1", "management_ip": "10.0.0.5"},
            {"device": "worker-a", "management_ip": None},
        ],
    )
    [place] = place_nodes([_cluster(_node("worker-a", "10.0.0.5"))], facts)
    assert place.device is None and place.candidates == ("srv-1", "worker-a")
    assert place.ports == () and place.redundancy == "unknown"


def test_a_mac_and_an_interface_address_agree() -> None:
    facts = _facts(
        devices=[{"device": "srv-1", "management_ip": None}],
        addresses=[{"device": "srv-1", "ip": "10.1.0.7"}],
        macs=[{"device": "srv-1", "mac": "02:00:00:00:00:07"}],
    )
    node = _node("w", "10.1.0.7", ("02:00:00:00:00:07",))
    [place] = place_nodes([_cluster(node)], facts)
    assert (place.device, place.evidence) == ("srv-1", ("address", "mac"))


def test_ports_come_from_links_mac_table_and_arp_never_the_node_itself() -> None:
    facts = _facts(devices=[{"device": "w", "management_ip": None}])
    node = _node("w", "10.1.0.7", ("02:00:00:00:00:07",))
    assert wanted([_cluster(node)], facts) == {
        "macs": ["02:00:00:00:00:07"],
        "ips": ["10.1.0.7"],
        "ids": ["w"],
    }
    facts.add_places(
        [{"mac": "02:00:00:00:00:07", "switch": "leaf-1", "interface": "Ethernet7"}],
        [{"ip": "10.1.0.7", "switch": "leaf-1", "interface": "Ethernet7"}],
        [
            {"device": "w", "switch": "leaf-2", "port": "Ethernet7", "evidence": "lldp_both"},
            {"device": "w", "switch": "w", "port": "lo", "evidence": "lldp_one"},
        ],
    )
    [place] = place_nodes([_cluster(node)], facts)
    assert [(p.switch, p.interface, p.evidence) for p in place.ports] == [
        ("leaf-1", "Ethernet7", "arp"),
        ("leaf-1", "Ethernet7", "mac_table"),
        ("leaf-2", "Ethernet7", "lldp_both"),
    ]
    assert place.switches == ("leaf-1", "leaf-2") and place.redundancy == "redundant"
