"""Ids of graph entities, derived only from their natural keys.

The same observation always yields the same id, so ingesting a snapshot twice merges into the
same nodes and edges instead of duplicating them. Ids are plain strings; ``|`` separates the
parts (host names and interface names may not contain it).

- device: the normalised host name (``hq-core-01``); a device seen without a name is
  ``chassis:<mac>`` or ``ip:<address>``
- interface: ``<device>|<canonical name>`` (``hq-core-01|Ethernet1/49``)
- link: the two interface ids, sorted, joined by ``<->``
- ip address: ``<device>|<interface>|<address/prefix length>`` (``r1|Vlan10|10.1.10.2/24``)
- subnet: ``<cidr>``, or ``<vrf>|<cidr>`` outside the default VRF
- vlan: ``<device>|vlan:<id>`` or ``site:<site>|vlan:<id>``
- endpoint: the normalised MAC (``00:50:56:01:02:03``)
- bgp peer: ``<device>|bgp|<vrf>|<remote address>``
- firewall zone, rule set, object: ``<device>|zone|<name>``, ``<device>|ruleset|<name>``,
  ``<device>|object|<address or service>|<name>``
- firewall rule: ``<device>|rule|<rule set>|<position>``
- route: ``<device>|route|<vrf>|<prefix>|<protocol>``
"""

from __future__ import annotations

from network_discovery.model.normalise import (
    canonical_interface_name,
    hostname_slug,
    normalise_address,
    normalise_hostname,
    normalise_interface_address,
    normalise_mac,
    normalise_network,
)

__all__ = [
    "DEFAULT_VRF",
    "LINK_SEPARATOR",
    "bgp_peer_id",
    "device_id",
    "endpoint_id",
    "firewall_object_id",
    "firewall_rule_id",
    "firewall_ruleset_id",
    "firewall_zone_id",
    "interface_id",
    "ip_id",
    "link_id",
    "route_id",
    "subnet_id",
    "vlan_id",
]

LINK_SEPARATOR = "<->"
DEFAULT_VRF = "default"


def device_id(
    hostname: str | None = None,
    *,
    chassis_id: str | None = None,
    management_ip: str | None = None,
) -> str:
    """A device's id: its normalised host name.

    A device known only from a neighbour entry without a system name is keyed by its chassis
    id (a MAC when it is one), else by its management address. A neighbour's system name that
    is no valid host name (``HP ProCurve 2510``) gives way to those, and is used as a slug
    (``hp-procurve-2510``) when there is nothing else.
    """
    named = None
    if hostname is not None and hostname.strip():
        if len(hostname) > 255:
            normalise_hostname(hostname)  # refused, saying why, before any other work
        try:
            return normalise_hostname(hostname)
        except ValueError:
            named = hostname_slug(hostname)  # a neighbour's free-text name; used last
    if chassis_id is not None and chassis_id.strip():
        try:
            return "chassis:" + normalise_mac(chassis_id)
        except ValueError:
            chassis = hostname_slug(chassis_id)
            if chassis is not None:
                return "chassis:" + chassis
    if management_ip is not None and management_ip.strip():
        return "ip:" + normalise_address(management_ip)
    if named is not None:
        return named
    raise ValueError("a device needs a host name, a chassis id or a management address")


def interface_id(device: str, interface: str, platform: str | None = None) -> str:
    """``<device id>|<canonical interface name>``."""
    return f"{normalise_hostname(device)}|{canonical_interface_name(interface, platform)}"


def link_id(a: str, b: str) -> str:
    """The two interface ids in sorted order, joined by ``<->``: the same either way round."""
    if a == b:
        raise ValueError(f"a link joins two different interfaces, got {a!r} twice")
    low, high = sorted((a, b))
    return f"{low}{LINK_SEPARATOR}{high}"


def ip_id(device: str, interface: str, address: str) -> str:
    """``<device>|<interface>|<address with prefix length>``."""
    return f"{interface_id(device, interface)}|{normalise_interface_address(address)}"


def subnet_id(cidr: str, vrf: str | None = None) -> str:
    """The subnet in CIDR form, prefixed by ``<vrf>|`` outside the default VRF."""
    network = normalise_network(cidr)
    if vrf is None or not vrf.strip() or vrf.strip() == DEFAULT_VRF:
        return network
    return f"{vrf.strip()}|{network}"


def vlan_id(vlan: int, *, device: str | None = None, site: str | None = None) -> str:
    """A VLAN as configured on one device, or as defined for a whole site."""
    if not 1 <= vlan <= 4094:
        raise ValueError(f"invalid VLAN {vlan!r}: must be between 1 and 4094")
    if (device is None) == (site is None):
        raise ValueError("a VLAN belongs to exactly one of a device or a site")
    if device is not None:
        return f"{normalise_hostname(device)}|vlan:{vlan}"
    return f"site:{normalise_hostname(str(site))}|vlan:{vlan}"


def endpoint_id(mac: str) -> str:
    """The endpoint's MAC, normalised (``aa:bb:cc:dd:ee:ff``)."""
    return normalise_mac(mac)


def bgp_peer_id(device: str, remote_address: str, vrf: str | None = None) -> str:
    """``<device>|bgp|<vrf>|<remote address>``; the VRF defaults to ``default``."""
    vrf_name = (vrf or "").strip() or DEFAULT_VRF
    return f"{normalise_hostname(device)}|bgp|{vrf_name}|{normalise_address(remote_address)}"


def _vrf(vrf: str | None) -> str:
    return (vrf or "").strip() or DEFAULT_VRF


def firewall_zone_id(device: str, name: str) -> str:
    """``<device>|zone|<zone name>``."""
    return f"{normalise_hostname(device)}|zone|{name.strip()}"


def firewall_ruleset_id(device: str, name: str) -> str:
    """``<device>|ruleset|<rule set name>``."""
    return f"{normalise_hostname(device)}|ruleset|{name.strip()}"


def firewall_rule_id(device: str, ruleset: str, position: int) -> str:
    """``<device>|rule|<rule set name>|<position>``."""
    return f"{normalise_hostname(device)}|rule|{ruleset.strip()}|{position}"


def firewall_object_id(device: str, kind: str, name: str) -> str:
    """``<device>|object|<kind>|<name>`` (kind: address or service)."""
    return f"{normalise_hostname(device)}|object|{kind}|{name.strip()}"


def route_id(
    device: str, prefix: str, protocol: str, vrf: str | None = None, origin: str = "collected"
) -> str:
    """``<device>|route|<vrf>|<prefix>|<protocol>``; the VRF defaults to ``default``. A route
    worked out from a configuration ends in ``|derived``: a device may hold both the route it
    printed and the one its configuration implies."""
    key = f"{normalise_hostname(device)}|route|{_vrf(vrf)}|{normalise_network(prefix)}|{protocol}"
    return f"{key}|derived" if origin == "derived" else key
