"""Arguments that make each catalogue query answer rows on the bundled demo network.

Shared by the row-model test (every row validated against its row model) and the MCP tests
(every tool called through the official client, which validates the answer against the
tool's output schema). Several cases where rows differ in shape (unmanaged devices, IPv6, a
site filter). A query not named here runs with the ``examples`` of its required parameters.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEMO_CASES", "demo_cases"]

DEMO_CASES: dict[str, list[dict[str, Any]]] = {
    "all_devices": [{}, {"managed_only": False}],
    "summary_stats": [{}, {"site": "dc1"}],
    "update_device_metadata": [{"device": "hq-dist-02", "rack": "R7", "tags": ["a", "b"]}],
    "device_neighbors": [{"device": "hq-core-01"}, {"device": "dc-leaf-01"}],
    "interface_neighbors": [{"device": "hq-core-01", "interface": "Ethernet1/47"}],
    "topology_edges": [{}],
    "topology_neighborhood": [{"device": "hq-core-01", "depth": 6}],
    "lldp_neighbors": [{}, {"protocol": "cdp"}],
    "locate_endpoint_by_ip": [{"ip": "10.1.10.20"}],
    "locate_endpoint_by_mac": [{"mac": "d4:be:d9:00:01:01"}],
    "endpoints_on_interface": [{"device": "hq-a-acc-01", "interface": "Gi1/0/1"}],
    "ips_in_subnet": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}],
    "subnets_on_device": [{"device": "hq-core-01"}, {"device": "hq-border-02"}],
    "orphaned_ips": [{}],
    "devices_missing_hostname": [{}],
    "bgp_peers": [{}],
    "bgp_peers_down": [{}],
    "bgp_topology": [{}],
    "blast_radius_device": [{"device": "hq-dist-01"}, {"device": "hq-core-01", "depth": 6}],
    "blast_radius_interface": [{"device": "hq-a-acc-01", "interface": "Te1/1/1"}],
    "blast_radius_vlan": [{"vlan": 110}],
    "blast_radius_subnet": [{"cidr": "10.0.0.0/8"}],
    # no routes in the demo: the walk goes over shared subnets
    "path_analysis": [
        {"source": "10.1.10.20", "destination": "10.110.0.50", "protocol": "tcp", "port": 443}
    ],
    "traceroute": [
        {"source": "10.1.10.20", "destination": "10.110.0.50", "protocol": "tcp", "port": 443}
    ],
    "path_analysis_bulk": [
        {
            "flows": [
                {"source": "10.1.10.20", "destination": "10.110.0.50", "protocol": "icmp"},
                {
                    "source": "10.1.10.20",
                    "destination": "10.110.0.50",
                    "protocol": "udp",
                    "port": 53,
                },
            ]
        }
    ],
    "route_lookup": [{"device": "hq-core-01", "destination": "10.110.0.50"}],
    "layer3_edges": [{}, {"device": "hq-border-01"}],
    "test_filter": [
        {
            "device": "fw-edge-01",
            "filter": "security",
            "source": "10.1.10.20",
            "destination": "93.184.216.34",
            "protocol": "tcp",
            "port": 443,
            "src_zone": "trust",
            "dst_zone": "untrust",
        }
    ],
}


def demo_cases(name: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """The argument sets for query ``name``; ``parameters`` is its published JSON Schema."""
    if name in DEMO_CASES:
        return DEMO_CASES[name]
    props = parameters.get("properties", {})
    return [{k: props[k]["examples"][0] for k in parameters.get("required", [])}]
