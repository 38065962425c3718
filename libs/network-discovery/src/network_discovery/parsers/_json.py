"""Structured output: a command's JSON (``show ... | json`` on Arista EOS and Cisco NX-OS,
``show ... | display json`` on Junos) read into the same rows its TextFSM template yields, so
one set of row mappers serves text and JSON alike.

A saved JSON output is named like a text one with ``.json``: ``show_lldp_neighbors_detail.json``
holds what ``show lldp neighbors detail | json`` printed. Where both files are there, the
JSON one is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from network_discovery.parsers._json_base import (
    JsonOutputError,
    Row,
    dig,
    junos_leaf,
    junos_list,
    load_document,
    nxapi_rows,
)
from network_discovery.parsers._json_devices import (
    junos_interfaces,
    junos_version,
    nxos_interface,
    nxos_version,
)

__all__ = ["JSON_ADAPTERS", "JsonOutputError", "json_rows"]


def _eos_version(doc: Any) -> list[Row]:
    return [
        {
            "model": doc.get("modelName"),
            "serial_number": doc.get("serialNumber") or None,
            "image": doc.get("version"),
            "sys_mac": doc.get("systemMacAddress"),
        }
    ]


def _eos_lldp(doc: Any) -> list[Row]:
    rows = []
    for local, body in dig(doc, "lldpNeighbors").items():
        for entry in (body or {}).get("lldpNeighborInfo") or []:
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
                    "neighbor_port_id": port_id or None,
                    "neighbor_interface": port.get("interfaceDescription") or None,
                    "mgmt_address": addresses[0] if addresses else None,
                    "neighbor_description": entry.get("systemDescription"),
                }
            )
    return rows


def _eos_arp(doc: Any) -> list[Row]:
    return [
        {
            "ip_address": n.get("address"),
            "mac_address": n.get("hwAddress"),
            "interface": n.get("interface"),
        }
        for n in dig(doc, "ipV4Neighbors")
    ]


def _eos_mac(doc: Any) -> list[Row]:
    return [
        {
            "destination_address": e.get("macAddress"),
            "destination_port": e.get("interface"),
            "vlan_id": str(e["vlanId"]) if e.get("vlanId") is not None else None,
            "type": e.get("entryType"),
        }
        for e in dig(doc, "unicastTable", "tableEntries")
    ]


def _eos_vlan(doc: Any) -> list[Row]:
    return [
        {"vlan_id": str(number), "vlan_name": body.get("name"), "status": body.get("status")}
        for number, body in dig(doc, "vlans").items()
    ]


def _speed(bandwidth: Any) -> str | None:
    if not isinstance(bandwidth, int) or bandwidth <= 0:
        return None
    return f"{bandwidth // 1_000_000}M"


def _eos_interfaces_status(doc: Any) -> list[Row]:
    rows = []
    for port, body in dig(doc, "interfaceStatuses").items():
        vlan_info = body.get("vlanInformation") or {}
        mode = vlan_info.get("interfaceMode")
        if vlan_info.get("interfaceForwardingModel") == "routed" or mode == "routed":
            vlan = "routed"
        elif mode == "trunk":
            vlan = "trunk"
        elif vlan_info.get("vlanId") is not None:
            vlan = str(vlan_info["vlanId"])
        else:
            vlan = None
        rows.append(
            {
                "port": port,
                "name": body.get("description") or None,
                "status": body.get("linkStatus"),
                "vlan_id": vlan,
                "speed": _speed(body.get("bandwidth")),
            }
        )
    return rows


def _eos_ip_brief(doc: Any) -> list[Row]:
    rows = []
    for name, body in dig(doc, "interfaces").items():
        addr = ((body or {}).get("interfaceAddress") or {}).get("ipAddr") or {}
        if addr.get("address") and addr.get("maskLen"):  # unnumbered: 0.0.0.0/0
            rows.append({"interface": name, "ip_address": f"{addr['address']}/{addr['maskLen']}"})
    return rows


def _advertised(value: Any) -> Any:
    return None if value in (None, "", "not advertised") else value


def _nxos_lldp(doc: Any) -> list[Row]:
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


def _nxos_arp(doc: Any) -> list[Row]:
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


def _nxos_mac(doc: Any) -> list[Row]:
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


def _nxos_vlan(doc: Any) -> list[Row]:
    return [
        {
            "vlan_id": str(r.get("vlanshowbr-vlanid")),
            "vlan_name": r.get("vlanshowbr-vlanname"),
            "status": r.get("vlanshowbr-vlanstate"),
        }
        for r in nxapi_rows(doc, "TABLE_vlanbrief", "ROW_vlanbrief")
    ]


def _junos_lldp(doc: Any) -> list[Row]:
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


def _junos_arp(doc: Any) -> list[Row]:
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


#: Platform -> command -> the adapter from its JSON to template rows.
JSON_ADAPTERS: dict[str, dict[str, Callable[[Any], list[Row]]]] = {
    "arista_eos": {
        "show version": _eos_version,
        "show lldp neighbors detail": _eos_lldp,
        "show ip arp": _eos_arp,
        "show mac address-table": _eos_mac,
        "show vlan": _eos_vlan,
        "show interfaces status": _eos_interfaces_status,
        "show ip interface brief": _eos_ip_brief,
    },
    "cisco_nxos": {
        "show version": nxos_version,
        "show interface": nxos_interface,
        "show lldp neighbors detail": _nxos_lldp,
        "show ip arp": _nxos_arp,
        "show mac address-table": _nxos_mac,
        "show vlan": _nxos_vlan,
    },
    "juniper_junos": {
        "show version": junos_version,
        "show interfaces": junos_interfaces,
        "show lldp neighbors": _junos_lldp,
        "show arp no-resolve": _junos_arp,
    },
}


def json_rows(platform: str, command: str, text: str) -> list[Row]:
    """The template rows of a JSON output; :class:`JsonOutputError` says what is wrong."""
    adapter = JSON_ADAPTERS.get(platform, {}).get(command)
    if adapter is None:
        raise JsonOutputError(f"no JSON mapping for {command!r} on {platform}; save it as text")
    try:
        doc = load_document(text)
    except ValueError as exc:
        raise JsonOutputError(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise JsonOutputError("expected a JSON object")
    try:
        return adapter(doc)
    except (AttributeError, TypeError, KeyError) as exc:
        raise JsonOutputError(f"unexpected JSON layout ({type(exc).__name__}: {exc})") from None
