"""Junos structured output (``show ... | display json``; ``| display xml`` is turned into the
same shape) read into the rows of the command's text template."""

from __future__ import annotations

from typing import Any

from network_discovery.parsers._json_base import Row, dig, junos_leaf, junos_list, nxapi_rows

__all__ = ['junos_arp', 'junos_interfaces', 'junos_lldp', 'junos_version']

def junos_version(doc: Any) -> list[Row]:
    """``software-information``, or the first routing engine's of a virtual chassis
    (``multi-routing-engine-results``)."""
    if "multi-routing-engine-results" in doc:
        items = junos_list(doc, "multi-routing-engine-results", "multi-routing-engine-item")
        infos = [i["software-information"][0] for i in items if i.get("software-information")]
    else:
        infos = list(dig(doc, "software-information"))
    if not infos:
        raise KeyError("software-information")
    info = infos[0]
    return [
        {
            "hostname": junos_leaf(info, "host-name"),
            "junos_version": junos_leaf(info, "junos-version"),
            "model": junos_leaf(info, "product-model"),
        }
    ]


_ADMIN = {"up": "Enabled", "down": "Disabled"}
_FAMILIES = ("inet", "inet6")


def _logical(unit: dict[str, Any]) -> Row:
    flags = (unit.get("if-config-flags") or [{}])[0]
    words = ["Up"] if "iff-up" in flags else ["Down"] if "iff-down" in flags else []
    protocols, with_mask, host_only = [], [], []
    for family in unit.get("address-family") or []:
        name = junos_leaf(family, "address-family-name")
        protocols.append(name)
        if name not in _FAMILIES:
            continue
        for address in family.get("interface-address") or []:
            local = junos_leaf(address, "ifa-local")
            destination = junos_leaf(address, "ifa-destination")
            if local and destination:
                with_mask.append((destination, local))
            elif local:
                host_only.append(local)
    return {
        "interface": junos_leaf(unit, "name"),
        "description": junos_leaf(unit, "description"),
        "flags": " ".join(words) or None,
        "protocols": [p for p in protocols if p],
        "destination": [d for d, _ in with_mask],
        # the locals that have a destination first, in the same order, then host addresses
        "local": [local for _, local in with_mask] + host_only,
    }


def junos_interfaces(doc: Any) -> list[Row]:
    """One row per physical interface and one per logical unit, as our text template."""
    rows: list[Row] = []
    for port in junos_list(doc, "interface-information", "physical-interface"):
        rows.append(
            {
                "interface": junos_leaf(port, "name"),
                "admin_state": _ADMIN.get(str(junos_leaf(port, "admin-status")).lower()),
                "link_status": str(junos_leaf(port, "oper-status") or "").capitalize() or None,
                "description": junos_leaf(port, "description"),
                "mtu": junos_leaf(port, "mtu"),
                "speed": junos_leaf(port, "speed"),
                "mac_address": junos_leaf(port, "current-physical-address"),
                "flags": None,
                "protocols": [],
                "destination": [],
                "local": [],
            }
        )
        rows.extend(_logical(unit) for unit in port.get("logical-interface") or [])
    return [row for row in rows if row["interface"]]


def junos_lldp(doc: Any) -> list[Row]:
    return [
        {
            "local_interface": junos_leaf(n, "lldp-local-port-id")
            or junos_leaf(n, "lldp-local-interface"),
            "chassis_id": junos_leaf(n, "lldp-remote-chassis-id"),
            "neighbor_interface": junos_leaf(n, "lldp-remote-port-id")
            or junos_leaf(n, "lldp-remote-port-description"),
            "neighbor_name": junos_leaf(n, "lldp-remote-system-name"),
        }
        for n in junos_list(doc, "lldp-neighbors-information", "lldp-neighbor-information")
    ]


def junos_arp(doc: Any) -> list[Row]:
    rows = []
    for entry in junos_list(doc, "arp-table-information", "arp-table-entry"):
        interface = str(junos_leaf(entry, "interface-name") or "").split()
        rows.append(
            {
                "mac_address": junos_leaf(entry, "mac-address"),
                "ip_address": junos_leaf(entry, "ip-address"),
                "interface": interface[0] if interface else None,
            }
        )
    return rows
