"""Junos structured output (``show ... | display json``; ``| display xml`` is turned into the
same shape) read into the rows of the command's text template: the device's identity
(``show version``, ``show system information``, ``show chassis hardware``), its interfaces,
LLDP neighbours and ARP table. The switching, BGP and routing tables are in ``_map_junos``.

Every leaf is ``"key": [{"data": value}]``; a key that is missing or empty is None in the row.
A document that is not the command's output raises :class:`JsonOutputError` or KeyError.
"""

from __future__ import annotations

import re
from typing import Any

from network_discovery.parsers._json_base import Row, dig, junos_leaf, junos_list
from network_discovery.parsers._map_junos import (
    junos_bgp_summary,
    junos_mac_table,
    junos_route,
    junos_vlans,
    leaf,
    leaves,
)

__all__ = [
    "junos_arp",
    "junos_bgp_summary",
    "junos_chassis_hardware",
    "junos_interfaces",
    "junos_lldp",
    "junos_lldp_detail",
    "junos_mac_table",
    "junos_route",
    "junos_system_information",
    "junos_version",
    "junos_vlans",
]


# --- identity ----------------------------------------------------------------------------


def _per_engine(doc: Any, key: str) -> list[dict[str, Any]]:
    """The ``key`` blocks of the document, or of each routing engine or node of a virtual
    chassis or chassis cluster (``multi-routing-engine-results``), the first engine first."""
    if isinstance(doc, dict) and key in doc:
        return list(dig(doc, key))
    items = junos_list(doc, "multi-routing-engine-results", "multi-routing-engine-item")
    blocks = [block for item in items for block in item.get(key) or []]
    if not blocks:
        raise KeyError(key)
    return blocks


#: Older releases (a vSRX on 12.1X46) print no ``junos-version``, only the packages'
#: comments: ``JUNOS Software Release [12.1X46-D15.3]``.
_RELEASE = re.compile(r"\[([^\]]+)\]")


def _package_release(info: dict[str, Any]) -> str | None:
    for package in info.get("package-information") or []:
        found = _RELEASE.search(leaf(package, "comment") or "")
        if found:
            return found.group(1)
    return None


def junos_version(doc: Any) -> list[Row]:
    """``software-information``, or the first routing engine's of a virtual chassis
    (``multi-routing-engine-results``)."""
    info = _per_engine(doc, "software-information")[0]
    return [
        {
            "hostname": junos_leaf(info, "host-name"),
            "junos_version": junos_leaf(info, "junos-version") or _package_release(info),
            "model": junos_leaf(info, "product-model"),
        }
    ]


def junos_system_information(doc: Any) -> list[Row]:
    """``show system information``: model, release, serial number and host name as printed
    (the first node's on a chassis cluster)."""
    info = _per_engine(doc, "system-information")[0]
    return [
        {
            "hostname": leaf(info, "host-name"),
            "junos_version": leaf(info, "os-version"),
            "model": leaf(info, "hardware-model"),
            "serial_number": leaf(info, "serial-number"),
            "os_name": leaf(info, "os-name"),
        }
    ]


def junos_chassis_hardware(doc: Any) -> list[Row]:
    """``show chassis hardware``: the chassis line's description (the model, as printed:
    ``MX960``, ``FIREFLY-PERIMETER``) and serial number; the first node's on a cluster."""
    for inventory in _per_engine(doc, "chassis-inventory"):
        for chassis in inventory.get("chassis") or []:
            return [
                {
                    "model": leaf(chassis, "description"),
                    "serial_number": leaf(chassis, "serial-number"),
                }
            ]
    return []


# --- interfaces --------------------------------------------------------------------------

_ADMIN = {"up": "Enabled", "down": "Disabled"}
_FAMILIES = ("inet", "inet6")


def _logical(unit: dict[str, Any]) -> Row:
    flags = (unit.get("if-config-flags") or [{}])[0]
    state = "Up" if "iff-up" in flags else "Down" if "iff-down" in flags else None
    state = state or (leaf(unit, "oper-status") or "").capitalize() or None  # terse form
    protocols, with_mask, host_only = [], [], []
    for family in unit.get("address-family") or []:
        name = leaf(family, "address-family-name")
        protocols.append(name)
        if name not in _FAMILIES:
            continue
        for address in family.get("interface-address") or []:
            local = leaf(address, "ifa-local")
            destination = leaf(address, "ifa-destination")
            if local and "/" in local:  # the terse form: 172.17.19.1/24
                destination, local = local, local.split("/", 1)[0]
            if local and destination:
                with_mask.append((destination, local))
            elif local:
                host_only.append(local)
    return {
        "interface": leaf(unit, "name"),
        "description": leaf(unit, "description"),
        "flags": state,
        "snmp_index": leaf(unit, "snmp-index"),
        "protocols": [p for p in protocols if p],
        "destination": [d for d, _ in with_mask],
        # the locals that have a destination first, in the same order, then host addresses
        "local": [local for _, local in with_mask] + host_only,
    }


def junos_interfaces(doc: Any) -> list[Row]:
    """One row per physical interface and one per logical unit, as our text template, with
    the SNMP ifIndex (``snmp_index``) that LLDP neighbours may send as a port id."""
    rows: list[Row] = []
    for port in junos_list(doc, "interface-information", "physical-interface"):
        rows.append(
            {
                "interface": leaf(port, "name"),
                "admin_state": _ADMIN.get(str(leaf(port, "admin-status")).lower()),
                "link_status": str(leaf(port, "oper-status") or "").capitalize() or None,
                "description": leaf(port, "description"),
                "mtu": leaf(port, "mtu"),
                "speed": leaf(port, "speed"),
                "mac_address": leaf(port, "current-physical-address"),
                "snmp_index": leaf(port, "snmp-index"),
                "flags": None,
                "protocols": [],
                "destination": [],
                "local": [],
            }
        )
        rows.extend(_logical(unit) for unit in port.get("logical-interface") or [])
    return [row for row in rows if row["interface"]]


# --- LLDP --------------------------------------------------------------------------------

_LLDP = ("lldp-neighbors-information", "lldp-neighbor-information")


def _remote(entry: dict[str, Any]) -> Row:
    """What both forms print of the neighbour: the port id with its subtype as printed
    (``Locally assigned`` is the sender's ifIndex, the description then names the port)."""
    return {
        "parent_interface": leaf(entry, "lldp-local-parent-interface-name"),
        "chassis_id": leaf(entry, "lldp-remote-chassis-id"),
        "chassis_id_subtype": leaf(entry, "lldp-remote-chassis-id-subtype"),
        "neighbor_port_id": leaf(entry, "lldp-remote-port-id"),
        "neighbor_port_id_subtype": leaf(entry, "lldp-remote-port-id-subtype"),
        "neighbor_interface": leaf(entry, "lldp-remote-port-description"),
        "neighbor_name": leaf(entry, "lldp-remote-system-name"),
    }


def _name_not_index(value: str | None) -> str | None:
    return value if value and not value.isdigit() else None


def junos_lldp(doc: Any) -> list[Row]:
    """``show lldp neighbors``: the brief form names the local port in ``lldp-local-port-id``
    (older releases in ``lldp-local-interface``)."""
    return [
        {
            "local_interface": _name_not_index(leaf(entry, "lldp-local-port-id"))
            or leaf(entry, "lldp-local-interface"),
            **_remote(entry),
        }
        for entry in junos_list(doc, *_LLDP)
    ]


def _system_description(entry: dict[str, Any]) -> str | None:
    for block in entry.get("lldp-system-description") or []:
        found = leaf(block, "lldp-remote-system-description")
        if found:
            return found
    return leaf(entry, "lldp-remote-system-description")


def junos_lldp_detail(doc: Any) -> list[Row]:
    """``show lldp neighbors detail`` / ``interface <name>``: the local port is
    ``lldp-local-interface`` (``lldp-local-port-id`` is its SNMP index there), with the
    system description's lines, the capabilities and every management address."""
    rows: list[Row] = []
    for entry in junos_list(doc, *_LLDP):
        description = _system_description(entry)
        rows.append(
            {
                "local_interface": leaf(entry, "lldp-local-interface")
                or _name_not_index(leaf(entry, "lldp-local-port-id")),
                **_remote(entry),
                "neighbor_description": description.splitlines() if description else [],
                "capabilities": leaf(entry, "lldp-remote-system-capabilities-enabled"),
                "supported_capabilities": leaf(entry, "lldp-remote-system-capabilities-supported"),
                "mgmt_address": leaves(entry, "lldp-remote-management-address"),
            }
        )
    return rows


# --- ARP ---------------------------------------------------------------------------------


def junos_arp(doc: Any) -> list[Row]:
    """``show arp [no-resolve]``: the logical interface first (``irb.10 [xe-0/0/2.0]`` names
    the IRB unit and the port behind it) and the flags (``none``, ``permanent``...)."""
    rows = []
    for entry in junos_list(doc, "arp-table-information", "arp-table-entry"):
        interface = (leaf(entry, "interface-name") or "").split()
        flags = [
            key
            for block in entry.get("arp-table-entry-flags") or []
            for key in block
            if key != "attributes"
        ]
        rows.append(
            {
                "mac_address": leaf(entry, "mac-address"),
                "ip_address": leaf(entry, "ip-address"),
                "interface": interface[0] if interface else None,
                "flags": " ".join(flags) or None,
            }
        )
    return rows
