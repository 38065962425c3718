"""Structured ``show version`` and interface listings of Cisco NX-OS (``| json``) and Junos
(``| display json``), read into the rows their text templates yield.

Field names follow NX-API (``host_name``, ``TABLE_interface``/``ROW_interface`` with ``eth_*``
and ``svi_*`` columns) and Junos' XML-derived JSON (``software-information``,
``interface-information``/``physical-interface``/``logical-interface``), as the samples under
``tests/fixtures/discovery/public-json`` print them.
"""

from __future__ import annotations

import re
from typing import Any

from network_discovery.parsers._json_base import (
    Row,
    dig,
    junos_leaf,
    junos_list,
    nxapi_rows,
)

__all__ = ["junos_interfaces", "junos_version", "nxos_interface", "nxos_version"]

#: "NX-OSv Chassis", "Nexus9000 C9300v Chassis", "cisco Nexus 3048 Chassis" -> the model word
#: the text template takes (NX-OSv, C9300v, 3048).
_NXOS_MODEL = re.compile(r"^(?:cisco\s+)?(?:Nexus\d*\s+)?(?P<model>[\w-]+)")


def nxos_version(doc: Any) -> list[Row]:
    version = doc.get("nxos_ver_str") or doc.get("sys_ver_str") or doc.get("kickstart_ver_str")
    chassis = str(doc.get("chassis_id") or "")
    match = _NXOS_MODEL.match(chassis)
    if version is None and doc.get("host_name") is None:
        raise KeyError("host_name")  # not a show version document
    return [
        {
            "hostname": doc.get("host_name"),
            "os": version,
            "platform": match["model"] if match else None,
            "serial": doc.get("proc_board_id"),
        }
    ]


def _first(row: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if row.get(key) not in (None, ""):
            return row[key]
    return None


def nxos_interface(doc: Any) -> list[Row]:
    """Ethernet, management, port-channel and loopback rows (``eth_*``) and SVIs (``svi_*``)."""
    rows = []
    for r in nxapi_rows(doc, "TABLE_interface", "ROW_interface"):
        bandwidth = _first(r, "eth_bw", "svi_bw")
        mask = _first(r, "eth_ip_mask", "svi_ip_mask")
        rows.append(
            {
                "interface": r["interface"],
                "admin_state": _first(r, "admin_state", "svi_admin_state"),
                "link_status": _first(r, "state", "svi_line_proto"),
                "mac_address": _first(r, "eth_hw_addr", "svi_mac"),
                "description": _first(r, "desc", "svi_desc"),
                "ip_address": _first(r, "eth_ip_addr", "svi_ip_addr"),
                "prefix_length": str(mask) if mask is not None else None,
                "mtu": str(_first(r, "eth_mtu", "svi_mtu") or "") or None,
                "speed": r.get("eth_speed"),
                "bandwidth": f"{bandwidth} Kbit" if bandwidth is not None else None,
            }
        )
    return rows


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
