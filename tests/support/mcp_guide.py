"""The integration guide's MCP tool table (section 8): the catalogue and MCP tests hold the
product to it.

A category listed here is built in part or whole: its tools that exist are served under
their names, the others not at all. Categories not listed here are not built: no tool of
theirs may appear, and ``NOT_YET`` holds the name prefixes that would give one away (none
now: every category of the table is built).
"""

from __future__ import annotations

__all__ = ["GUIDE_TOOLS", "NOT_YET"]

GUIDE_TOOLS = {
    "Topology": {
        "device_neighbors",
        "interface_neighbors",
        "topology_edges",
        "topology_neighborhood",
        "lldp_neighbors",
    },
    "Endpoints": {"locate_endpoint_by_ip", "locate_endpoint_by_mac", "endpoints_on_interface"},
    "Blast Radius": {
        "blast_radius_interface",
        "blast_radius_device",
        "blast_radius_vlan",
        "blast_radius_subnet",
    },
    "Addressing": {"ips_in_subnet", "subnets_on_device", "orphaned_ips"},
    "Hygiene": {
        "devices_without_neighbors",
        "interfaces_without_ips",
        "endpoints_without_location",
        "devices_missing_os_version",
        "devices_missing_hostname",
        "interfaces_no_description",
        "duplicate_ip_addresses",
    },
    "Inventory": {"all_devices", "summary_stats", "update_device_metadata"},
    "Firewall": {
        "firewall_rules_by_device",
        "firewall_rules_by_zone_pair",
        "path_analysis",
        "all_firewall_devices",
        "deny_rules_summary",
    },
    "Routing": {"bgp_peers", "bgp_topology", "bgp_peers_down"},
    "InfiniBand / GPU": {"ib_topology", "ib_ports_down", "dcgm_gpu_health"},
    "NCCL / Training": {"nccl_jobs", "nccl_flows_by_job", "nccl_top_talkers"},
    "Metrics": {"interface_metrics", "link_utilization"},
    "Flows": {
        "meshq_flows_top_talkers",
        "meshq_flows_conversations",
        "meshq_flows_status",
        "meshq_flows_interfaces",
    },
    "Vulnerabilities": {"meshq_vuln_scan", "meshq_vuln_by_device"},
    "Kubernetes": {"meshq_k8s_pods", "meshq_k8s_services", "meshq_k8s_nodes"},
    "Compliance": {
        "meshq_compliance_run",
        "meshq_compliance_results",
        "meshq_compliance_export",
    },
    "Alerts": {
        "meshq_alerts_list",
        "meshq_alerts_acknowledge",
        "meshq_alerts_rules_get",
        "meshq_alerts_stream",
    },
    "Synthetic": {"meshq_synthetic_probes", "meshq_synthetic_results"},
}
NOT_YET: tuple[str, ...] = ()
