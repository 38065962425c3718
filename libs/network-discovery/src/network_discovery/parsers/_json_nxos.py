"""Cisco NX-OS structured output (``show ... | json`` / ``| json native``, NX-API's
``TABLE_x``/``ROW_x`` documents) read into the rows of the command's text template."""

from __future__ import annotations

import re
from typing import Any

from network_discovery.parsers._json_base import Row, dig, junos_leaf, junos_list, nxapi_rows

__all__ = ['nxos_arp', 'nxos_interface', 'nxos_lldp', 'nxos_mac', 'nxos_version', 'nxos_vlan']



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




def _advertised(value: Any) -> Any:
    return None if value in (None, "", "not advertised") else value


def nxos_lldp(doc: Any) -> list[Row]:
    return [
        {
            "local_interface": r.get("l_port_id"),
            "neighbor_name": r.get("sys_name"),
            "neighbor_interface": r.get("port_id"),
            "chassis_id": r.get("chassis_id"),
            "mgmt_address": _advertised(r.get("mgmt_addr")),
            "neighbor_description": r.get("sys_desc"),
            "capabilities": r.get("enabled_capability"),
        }
        for r in nxapi_rows(doc, "TABLE_nbor_detail", "ROW_nbor_detail")
    ]


def nxos_arp(doc: Any) -> list[Row]:
    rows = []
    for vrf in nxapi_rows(doc, "TABLE_vrf", "ROW_vrf"):
        if "TABLE_adj" not in vrf:
            continue
        for adj in nxapi_rows(vrf, "TABLE_adj", "ROW_adj"):
            rows.append(
                {
                    "ip_address": adj.get("ip-addr-out"),
                    "mac_address": adj.get("mac"),
                    "interface": adj.get("intf-out"),
                    "vrf": vrf.get("vrf-name-out"),
                }
            )
    return rows


def nxos_mac(doc: Any) -> list[Row]:
    return [
        {
            "mac_address": r.get("disp_mac_addr"),
            "ports": r.get("disp_port"),
            "vlan_id": str(r.get("disp_vlan") or "").strip().strip("-") or None,
            "type": "static"
            if str(r.get("disp_is_static", "")).lower() in ("enabled", "1", "true")
            else "dynamic",
        }
        for r in nxapi_rows(doc, "TABLE_mac_address", "ROW_mac_address")
    ]


def nxos_vlan(doc: Any) -> list[Row]:
    return [
        {
            "vlan_id": str(r.get("vlanshowbr-vlanid")),
            "vlan_name": r.get("vlanshowbr-vlanname"),
            "status": r.get("vlanshowbr-vlanstate"),
        }
        for r in nxapi_rows(doc, "TABLE_vlanbrief", "ROW_vlanbrief")
    ]
