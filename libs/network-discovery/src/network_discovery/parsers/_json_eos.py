"""Arista EOS structured output (``show ... | json``, eAPI) read into the rows of the
command's text template (ntc-templates' ``arista_eos_*``), so that one row mapper serves both.

What EOS prints in JSON and not in text is kept where a mapper has a place for it: secondary,
virtual (``ip address virtual``) and IPv6 addresses, the VRF of ARP entries and addresses, the
LLDP subtypes and capabilities.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from network_discovery.parsers._json_base import JsonOutputError, Row, dig

__all__ = [
    "eos_arp",
    "eos_interfaces",
    "eos_interfaces_status",
    "eos_inventory",
    "eos_ip_brief",
    "eos_ip_interface",
    "eos_lldp",
    "eos_lldp_brief",
    "eos_mac",
    "eos_routes",
    "eos_version",
    "eos_vlan",
]


def _table(doc: Any, *keys: str) -> dict[str, Any]:
    """A name -> entry object; :class:`JsonOutputError` when the document holds none."""
    found = dig(doc, *keys)
    if not isinstance(found, dict):
        raise JsonOutputError(f"expected an object at {'.'.join(keys)!r}")
    return {name: body for name, body in found.items() if isinstance(body, dict)}


def _entries(doc: Any, *keys: str) -> list[dict[str, Any]]:
    found = dig(doc, *keys)
    if not isinstance(found, list):
        raise JsonOutputError(f"expected a list at {'.'.join(keys)!r}")
    return [entry for entry in found if isinstance(entry, dict)]


def _number(value: Any) -> str | None:
    """An integer as the text template holds it; None for a missing or non-integer value."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return str(value)


def _positive(value: Any) -> int | None:
    """A count EOS prints as 0 where there is none (MTU, bandwidth, mask length)."""
    return value if _number(value) is not None and value > 0 else None


# --- show version ---------------------------------------------------------------------


def eos_version(doc: Any) -> list[Row]:
    if "modelName" not in doc and "version" not in doc:
        raise JsonOutputError("expected key 'modelName' (not a show version document)")
    return [
        {
            "model": doc.get("modelName"),  # as printed: "vEOS", "cEOSLab", "DCS-7050SX3-48YC8"
            "serial_number": doc.get("serialNumber") or None,
            "image": doc.get("version"),
            "sys_mac": doc.get("systemMacAddress"),
        }
    ]


# --- interfaces and addresses ---------------------------------------------------------


def _ip(entry: Any) -> str | None:
    """``{"address": "10.0.0.1", "maskLen": 24}`` -> ``10.0.0.1/24``; None where no address
    is set (EOS prints ``0.0.0.0/0``)."""
    if not isinstance(entry, dict):
        return None
    address, length = entry.get("address"), _positive(entry.get("maskLen"))
    return f"{address}/{length}" if address and length else None


def _ipv4(block: Any) -> list[str]:
    """The IPv4 addresses of one ``interfaceAddress`` block: the primary, the secondaries and
    the virtual (``ip address virtual``: an anycast gateway) ones. An unnumbered interface
    shows the address it borrows (``unnumberedIntf``): that one belongs to the other
    interface, as the text output says ("Using address of Loopback0")."""
    if not isinstance(block, dict) or block.get("unnumberedIntf"):
        return []
    secondaries = list(block.get("secondaryIpsOrderedList") or [])
    secondaries += list((block.get("secondaryIps") or {}).values())  # older releases
    found = [
        _ip(block.get("primaryIp") or block.get("ipAddr")),
        *(_ip(s) for s in secondaries),
        _ip(block.get("virtualIp")),
        *(_ip(s) for s in block.get("virtualSecondaryIpsOrderedList") or []),
    ]
    return [address for address in dict.fromkeys(found) if address]


def _ipv6(body: dict[str, Any]) -> list[str]:
    """Global unicast IPv6 addresses (``interfaceAddressIp6``); link-local ones are left out."""
    found = []
    for entry in (body.get("interfaceAddressIp6") or {}).get("globalUnicastIp6s") or []:
        address, subnet = entry.get("address"), str(entry.get("subnet") or "")
        if address and "/" in subnet:
            found.append(f"{address}/{subnet.rsplit('/', 1)[1]}")
    return found


def _virtual(body: dict[str, Any]) -> list[str]:
    """The shared (anycast, ``ip address virtual``) addresses among an interface's."""
    blocks = body.get("interfaceAddress")
    if isinstance(blocks, dict):
        blocks = [blocks]
    found = []
    for block in blocks or []:
        if isinstance(block, dict) and not block.get("unnumberedIntf"):
            found.append(_ip(block.get("virtualIp")))
            found += [_ip(v) for v in block.get("virtualSecondaryIpsOrderedList") or []]
    return [address for address in found if address]


def _addresses(body: dict[str, Any]) -> list[str]:
    blocks = body.get("interfaceAddress")
    if isinstance(blocks, dict):  # "show ip interface": one block, not a list
        blocks = [blocks]
    v4 = [address for block in blocks or [] for address in _ipv4(block)]
    return list(dict.fromkeys([*v4, *_ipv6(body)]))


def _link_words(status: Any) -> str | None:
    """``interfaceStatus`` as the text's first line says it ("Ethernet1 is up, ..."):
    ``disabled`` is "administratively down", ``connected`` "up", anything else "down"."""
    if not status:
        return None
    if status == "disabled":
        return "administratively down"
    return "up" if status == "connected" else "down"


_MEMBER = re.compile(r"member of\s+(?P<lag>\S+)", re.I)


def eos_interfaces(doc: Any) -> list[Row]:
    """``show interfaces``: one row per interface as the text template gives it (the primary
    address), then one row per further address naming only the interface and the address."""
    rows: list[Row] = []
    for name, body in _table(doc, "interfaces").items():
        status, protocol = body.get("interfaceStatus"), body.get("lineProtocolStatus")
        bandwidth = _positive(body.get("bandwidth"))  # bit/s
        member = _MEMBER.search(str(body.get("interfaceMembership") or ""))
        addresses = _addresses(body)
        rows.append(
            {
                "interface": name,
                "link_status": _link_words(status),
                # the text: "line protocol is up (connected)"
                "protocol_status": f"{protocol} ({status})" if protocol and status else protocol,
                "description": body.get("description"),
                "mtu": _number(_positive(body.get("mtu"))),
                "mac_address": body.get("physicalAddress"),
                # the text prints "BW 1000000 kbit" only where it is not 0
                "bandwidth": f"{bandwidth // 1000} kbit" if bandwidth else None,
                "ip_address": addresses[0] if addresses else None,
                "lag": member["lag"] if member else None,
                "virtual_addresses": _virtual(body),
            }
        )
        rows.extend(
            {"interface": name, "ip_address": address, "virtual_addresses": _virtual(body)}
            for address in addresses[1:]
        )
    return rows


def eos_ip_interface(doc: Any) -> list[Row]:
    """``show ip interface``: every address of every routed interface, with its VRF, as the
    rows of ``map_ios_ip_interface`` (lists of addresses and prefix lengths)."""
    rows: list[Row] = []
    for name, body in _table(doc, "interfaces").items():
        addresses = [a.split("/") for a in _addresses(body)]
        if addresses:
            rows.append(
                {
                    "interface": name,
                    "ip_address": [address for address, _ in addresses],
                    "prefix_length": [length for _, length in addresses],
                    "vrf": body.get("vrf"),
                    "virtual_addresses": _virtual(body),
                }
            )
    return rows


def eos_ip_brief(doc: Any) -> list[Row]:
    """``show ip interface brief``: ``interfaceAddress.ipAddr``; an unnumbered interface
    (``0.0.0.0/0`` with ``unnumberedIntf``) has none of its own."""
    return [
        {"interface": name, "ip_address": address}
        for name, body in _table(doc, "interfaces").items()
        for address in _ipv4(body.get("interfaceAddress"))[:1]
    ]


def eos_interfaces_status(doc: Any) -> list[Row]:
    """``show interfaces status``: the Vlan column is a VLAN, ``trunk``, ``routed``, or the
    aggregate a member port is in (``in Po10``, ``vlanExplanation``)."""
    rows = []
    for port, body in _table(doc, "interfaceStatuses").items():
        vlan_info = body.get("vlanInformation") or {}
        mode = vlan_info.get("interfaceMode")
        explanation = str(vlan_info.get("vlanExplanation") or "")
        speed = _positive(body.get("bandwidth"))
        if vlan_info.get("interfaceForwardingModel") == "routed" or mode == "routed":
            vlan = "routed"
        elif mode == "trunk":
            vlan = "trunk"
        elif vlan_info.get("vlanId") is not None:
            vlan = str(vlan_info["vlanId"])
        elif explanation.lower().startswith("in "):
            vlan = explanation
        else:
            vlan = None
        rows.append(
            {
                "port": port,
                "name": body.get("description") or None,
                "status": body.get("linkStatus"),
                "vlan_id": vlan,
                "speed": f"{speed // 1_000_000}M" if speed else None,
            }
        )
    return rows


# --- neighbours -----------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _capabilities(value: Any) -> str | None:
    """``{"bridge": true, "router": true, "wlanAccessPoint": false}`` -> the enabled ones,
    as words the mapper reads (``bridge, router``)."""
    if not isinstance(value, dict):
        return None
    enabled = [_CAMEL.sub("_", name).lower() for name, on in value.items() if on]
    return ", ".join(enabled) or None


def _first_line(value: Any) -> str | None:
    """The first line of a system description, as the text templates keep it."""
    lines = str(value or "").strip().splitlines()
    return lines[0] if lines else None


def eos_lldp(doc: Any) -> list[Row]:
    """``show lldp neighbors detail``; the port-id and chassis-id subtypes as EOS names them
    (``interfaceName``, ``local``, ``macAddress``)."""
    rows = []
    for local, body in _table(doc, "lldpNeighbors").items():
        for entry in body.get("lldpNeighborInfo") or []:
            port = entry.get("neighborInterfaceInfo") or {}
            port_id = port.get("interfaceId_v2") or str(port.get("interfaceId") or "").strip('"')
            addresses = [
                a.get("address")
                for a in entry.get("managementAddresses") or []
                if a.get("addressType") in ("ipv4", "ipv6")
            ]
            rows.append(
                {
                    "local_interface": local,
                    "neighbor_name": entry.get("systemName"),
                    "chassis_id": entry.get("chassisId"),
                    "chassis_id_subtype": entry.get("chassisIdType"),
                    "neighbor_port_id": port_id or None,
                    "neighbor_port_id_subtype": port.get("interfaceIdType"),
                    "neighbor_interface": port.get("interfaceDescription") or None,
                    "mgmt_address": addresses[0] if addresses else None,
                    "neighbor_description": _first_line(entry.get("systemDescription")),
                    "capabilities": _capabilities(entry.get("systemCapabilities")),
                }
            )
    return rows


def eos_lldp_brief(doc: Any) -> list[Row]:
    """``show lldp neighbors``: a list of port, neighbour device and neighbour port."""
    return [
        {
            "local_interface": n.get("port"),
            "neighbor_name": n.get("neighborDevice"),
            "neighbor_interface": n.get("neighborPort"),
        }
        for n in _entries(doc, "lldpNeighbors")
    ]


# --- tables ---------------------------------------------------------------------------


def eos_arp(doc: Any) -> list[Row]:
    """``show ip arp`` (one table: ``ipV4Neighbors``) and ``show arp vrf all`` (one per VRF,
    under ``vrfs``). The interface stays as printed ("Vlan10, Port-Channel3": the routed
    interface, then the port the MAC is on); the mapper keeps the routed one."""
    tables: list[tuple[str | None, list[dict[str, Any]]]]
    if isinstance(doc, dict) and "vrfs" in doc:
        tables = [
            (vrf, _entries(body, "ipV4Neighbors")) for vrf, body in _table(doc, "vrfs").items()
        ]
    else:
        tables = [(None, _entries(doc, "ipV4Neighbors"))]
    return [
        {
            "ip_address": n.get("address"),
            "mac_address": n.get("hwAddress"),
            "interface": n.get("interface"),
            "vrf": vrf,
        }
        for vrf, entries in tables
        for n in entries
    ]


def eos_mac(doc: Any) -> list[Row]:
    """``show mac address-table [unicast]``: the unicast table (multicast entries name
    groups, not hosts)."""
    return [
        {
            "destination_address": e.get("macAddress"),
            "destination_port": e.get("interface"),
            "vlan_id": _number(e.get("vlanId")),
            "type": e.get("entryType"),
        }
        for e in _entries(doc, "unicastTable", "tableEntries")
    ]


def eos_vlan(doc: Any) -> list[Row]:
    return [
        {"vlan_id": str(number), "vlan_name": body.get("name"), "status": body.get("status")}
        for number, body in _table(doc, "vlans").items()
    ]


# --- routes ---------------------------------------------------------------------------

#: ``routeType`` (lower case, letters and digits) -> the code the text prints ("B E", "O E2").
_ROUTE_CODES = {"connected": "C", "static": "S", "kernel": "K", "ospf": "O", "ospfintraarea": "O",
    "ospfinterarea": "O IA", "ospfexternaltype1": "O E1", "ospfexternaltype2": "O E2",
    "ospfnssaexternaltype1": "O N1", "ospfnssaexternaltype2": "O N2", "ospfv3": "O3",
    "ibgp": "B I", "ebgp": "B E", "bgp": "B", "bgpaggregate": "A B", "ospfsummary": "A O",
    "isislevel1": "I L1", "isislevel2": "I L2", "isis": "I", "rip": "R",
    "nexthopgroupstaticroute": "NG", "vcs": "V", "dhcp": "DH", "martian": "M",
    "dynamicpolicy": "DP"}  # fmt: skip


def _route_code(route_type: Any) -> str:
    word = re.sub(r"[^a-z0-9]", "", str(route_type or "").lower())
    if word in _ROUTE_CODES:
        return _ROUTE_CODES[word]
    for family, code in (("ospf", "O"), ("isis", "I"), ("rip", "R")):
        if word.startswith(family):
            return code
    return "B" if "bgp" in word else "?"


def _gateway(value: Any) -> str | None:
    """A via's gateway; none for ``""`` or the unspecified ``0.0.0.0`` (a connected route)."""
    try:
        return None if ipaddress.ip_address(value).is_unspecified else str(value)
    except ValueError:
        return None


def eos_routes(doc: Any) -> list[Row]:
    """``show ip route [vrf all]``: ``vrfs`` -> ``routes`` -> prefix -> route. A via names a
    gateway and an interface, an interface alone (directly connected), or a VXLAN tunnel
    endpoint (EVPN: ``vtepAddr``, no interface); a route with no via (a discard) has none."""
    rows: list[Row] = []
    for vrf, table in _table(doc, "vrfs").items():
        routes = table.get("routes") or {}
        for prefix, route in routes.items():
            network, _, length = str(prefix).partition("/")
            # an MLAG pair behind one VTEP is two vias (two router MACs) and one next hop
            vias = [
                (
                    _gateway(via.get("nexthopAddr")) or via.get("vtepAddr"),
                    via.get("interface") or "",
                )
                for via in route.get("vias") or []
            ]
            hops = [(a or "connected", i) for a, i in dict.fromkeys(vias) if a or i]
            rows.append(
                {
                    "vrf": vrf,
                    "protocol": _route_code(route.get("routeType")),
                    "network": network,
                    "prefix_length": length,
                    "distance": _number(route.get("preference")),
                    "metric": _number(route.get("metric")),
                    "direct": "directly" if route.get("directlyConnected") else "",
                    "next_hop": [address for address, _ in hops],
                    "interface": [interface for _, interface in hops],
                }
            )
    return rows


def eos_inventory(doc: Any) -> list[Row]:
    """``show inventory``: the system's own entry (``systemInformation``)."""
    system = dig(doc, "systemInformation")
    if not isinstance(system, dict):
        raise JsonOutputError("expected an object at 'systemInformation'")
    return [
        {
            "name": "Chassis",
            "descr": system.get("description") or None,
            "pid": system.get("name") or None,
            "sn": system.get("serialNum") or None,
        }
    ]
