"""Arista EOS structured output (``show ... | json``, eAPI) read into the rows of the
command's text template."""

from __future__ import annotations

from typing import Any

from network_discovery.parsers._json_base import Row, dig, junos_leaf, junos_list, nxapi_rows

__all__ = ['eos_arp', 'eos_interfaces_status', 'eos_ip_brief', 'eos_lldp', 'eos_mac', 'eos_version', 'eos_vlan']



def eos_version(doc: Any) -> list[Row]:
    return [
        {
            "model": doc.get("modelName"),
            "serial_number": doc.get("serialNumber") or None,
            "image": doc.get("version"),
            "sys_mac": doc.get("systemMacAddress"),
        }
    ]


def eos_lldp(doc: Any) -> list[Row]:
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


def eos_arp(doc: Any) -> list[Row]:
    return [
        {
            "ip_address": n.get("address"),
            "mac_address": n.get("hwAddress"),
            "interface": n.get("interface"),
        }
        for n in dig(doc, "ipV4Neighbors")
    ]


def eos_mac(doc: Any) -> list[Row]:
    return [
        {
            "destination_address": e.get("macAddress"),
            "destination_port": e.get("interface"),
            "vlan_id": str(e["vlanId"]) if e.get("vlanId") is not None else None,
            "type": e.get("entryType"),
        }
        for e in dig(doc, "unicastTable", "tableEntries")
    ]


def eos_vlan(doc: Any) -> list[Row]:
    return [
        {"vlan_id": str(number), "vlan_name": body.get("name"), "status": body.get("status")}
        for number, body in dig(doc, "vlans").items()
    ]


def _speed(bandwidth: Any) -> str | None:
    if not isinstance(bandwidth, int) or bandwidth <= 0:
        return None
    return f"{bandwidth // 1_000_000}M"


def eos_interfaces_status(doc: Any) -> list[Row]:
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


def eos_ip_brief(doc: Any) -> list[Row]:
    rows = []
    for name, body in dig(doc, "interfaces").items():
        addr = ((body or {}).get("interfaceAddress") or {}).get("ipAddr") or {}
        if addr.get("address") and addr.get("maskLen"):  # unnumbered: 0.0.0.0/0
            rows.append({"interface": name, "ip_address": f"{addr['address']}/{addr['maskLen']}"})
    return rows
