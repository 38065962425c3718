"""The network graph model and the native snapshot format.

- :mod:`~network_discovery.model.entities`: devices, interfaces, links, IP addresses,
  subnets, VLANs, endpoints and BGP peers (frozen pydantic models, each with an ``id``).
- :mod:`~network_discovery.model.observations`: LLDP/CDP neighbour entries, ARP and MAC-table
  entries, from which links and endpoints are derived.
- :mod:`~network_discovery.model.firewall`: firewall zones, rule sets (with their bindings
  and default action), rules (objects and groups resolved) and the objects themselves.
- :mod:`~network_discovery.model.routing`: routes per device and VRF with their next hops.
- :mod:`~network_discovery.model.snapshot`: :class:`Snapshot`, what a collection run
  publishes, with its scope; :mod:`~network_discovery.model.patch`: :class:`MetadataPatch`.
- :mod:`~network_discovery.model.ids` and :mod:`~network_discovery.model.normalise`: ids from
  natural keys; MAC, host name, address and interface-name normalisation.
"""

from network_discovery.model.entities import (
    VLAN,
    WELL_KNOWN_ROLES,
    BGPPeer,
    Device,
    Endpoint,
    Interface,
    InterfaceRef,
    IPAddress,
    Link,
    Subnet,
)
from network_discovery.model.fields import (
    BGPState,
    Criticality,
    InterfaceMode,
    InterfaceStatus,
    LinkEvidence,
    MacEntryType,
    NeighborProtocol,
)
from network_discovery.model.firewall import (
    BindingDirection,
    FirewallObject,
    FirewallRule,
    FirewallRuleset,
    FirewallZone,
    ObjectKind,
    PortRange,
    RuleAction,
    RulesetBinding,
    RulesetKind,
    Service,
    normalise_protocol,
)
from network_discovery.model.ids import (
    bgp_peer_id,
    device_id,
    endpoint_id,
    firewall_object_id,
    firewall_rule_id,
    firewall_ruleset_id,
    firewall_zone_id,
    interface_id,
    ip_id,
    link_id,
    route_id,
    subnet_id,
    vlan_id,
)
from network_discovery.model.normalise import (
    canonical_interface_name,
    normalise_address,
    normalise_asn,
    normalise_hostname,
    normalise_interface_address,
    normalise_mac,
    normalise_network,
    parse_vlan_ranges,
    short_hostname,
)
from network_discovery.model.observations import ArpEntry, MacTableEntry, NeighborObservation
from network_discovery.model.patch import (
    NETBOX_ONLY_FIELDS,
    PATCHABLE_FIELDS,
    MetadataPatch,
    NetBoxField,
    PatchField,
    PatchSource,
)
from network_discovery.model.routing import NextHop, Route, RouteProtocol
from network_discovery.model.snapshot import (
    SNAPSHOT_FORMAT_VERSION,
    SUPPORTED_FACT_KINDS,
    FactKind,
    ScopeEntry,
    Snapshot,
)

__all__ = [
    "NETBOX_ONLY_FIELDS",
    "PATCHABLE_FIELDS",
    "SNAPSHOT_FORMAT_VERSION",
    "SUPPORTED_FACT_KINDS",
    "VLAN",
    "WELL_KNOWN_ROLES",
    "ArpEntry",
    "BGPPeer",
    "BGPState",
    "BindingDirection",
    "Criticality",
    "Device",
    "Endpoint",
    "FactKind",
    "FirewallObject",
    "FirewallRule",
    "FirewallRuleset",
    "FirewallZone",
    "IPAddress",
    "Interface",
    "InterfaceMode",
    "InterfaceRef",
    "InterfaceStatus",
    "Link",
    "LinkEvidence",
    "MacEntryType",
    "MacTableEntry",
    "MetadataPatch",
    "NeighborObservation",
    "NeighborProtocol",
    "NetBoxField",
    "NextHop",
    "ObjectKind",
    "PatchField",
    "PatchSource",
    "PortRange",
    "Route",
    "RouteProtocol",
    "RuleAction",
    "RulesetBinding",
    "RulesetKind",
    "ScopeEntry",
    "Service",
    "Snapshot",
    "Subnet",
    "bgp_peer_id",
    "canonical_interface_name",
    "device_id",
    "endpoint_id",
    "firewall_object_id",
    "firewall_rule_id",
    "firewall_ruleset_id",
    "firewall_zone_id",
    "interface_id",
    "ip_id",
    "link_id",
    "normalise_address",
    "normalise_asn",
    "normalise_hostname",
    "normalise_interface_address",
    "normalise_mac",
    "normalise_network",
    "normalise_protocol",
    "parse_vlan_ranges",
    "route_id",
    "short_hostname",
    "subnet_id",
    "vlan_id",
]
