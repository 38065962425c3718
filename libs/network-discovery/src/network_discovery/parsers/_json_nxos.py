"""Cisco NX-OS structured output (``show ... | json`` / ``| json native``, NX-API's
``TABLE_x``/``ROW_x`` documents) read into the rows of the command's text template.

A table is ``{"TABLE_x": {"ROW_x": row}}`` with one row, ``{"ROW_x": [rows]}`` with several;
NX-OS 7 ``| json`` also prints a table as a list of such ``{"ROW_x": ...}`` objects (``show ip
interface`` gives its VRFs that way, one per interface, next to the interfaces). Values are
strings or, in ``| json native``, numbers; what is not advertised is ``"not advertised"``.
"""

from __future__ import annotations

import re
from typing import Any

from network_discovery.parsers._json_base import JsonOutputError, Row, dig
from network_discovery.parsers._values import is_mac

__all__ = [
    "nxos_arp",
    "nxos_cdp",
    "nxos_cdp_brief",
    "nxos_interface",
    "nxos_interface_brief",
    "nxos_inventory",
    "nxos_ip_interface",
    "nxos_lldp",
    "nxos_lldp_brief",
    "nxos_mac",
    "nxos_route",
    "nxos_version",
    "nxos_vlan",
]

#: "NX-OSv Chassis", "Nexus9000 C9300v Chassis", "cisco Nexus 3048 Chassis" -> the model word
#: the text template takes (NX-OSv, C9300v, 3048).
_NXOS_MODEL = re.compile(r"^(?:cisco\s+)?(?:Nexus\d*\s+)?(?P<model>[\w-]+)")


def _groups(doc: Any, table: str, row: str) -> list[list[Row]]:
    """The rows of a table, in the blocks the device printed them in."""
    found = dig(doc, table)
    blocks = found if isinstance(found, list) else [found]
    groups: list[list[Row]] = []
    for block in blocks:
        rows = dig(block, row)
        groups.append([rows] if isinstance(rows, dict) else list(rows))
    return groups


def _rows(doc: Any, table: str, row: str) -> list[Row]:
    return [r for group in _groups(doc, table, row) for r in group]


def _optional(doc: Row, table: str, row: str) -> list[Row]:
    """A table that the device leaves out when it is empty."""
    return _rows(doc, table, row) if table in doc else []


def _first(row: Row, *keys: str) -> Any:
    for key in keys:
        if row.get(key) not in (None, ""):
            return row[key]
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _advertised(value: Any) -> Any:
    if value in (None, "") or "not advertised" in str(value):
        return None
    return value


def _first_line(value: Any) -> str | None:
    lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
    return lines[0] if lines else None


def _words(value: Any) -> list[str]:
    """A list printed as one value (``"router"``) or several (``["router", "switch"]``)."""
    items = value if isinstance(value, list) else [value]
    return [str(item).strip() for item in items if item not in (None, "")]


# --- device, interfaces, addresses ---------------------------------------------------------


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
            "chassis": chassis or None,
            "serial": doc.get("proc_board_id"),
        }
    ]


#: Keys only ``show interface`` prints, and keys only ``show interface brief`` prints: both
#: documents are a TABLE_interface, and one must not be read as the other.
_DETAIL_KEYS = frozenset({"admin_state", "eth_hw_addr", "eth_mtu", "eth_bw", "svi_line_proto"})
_BRIEF_KEYS = frozenset({"portmode", "ratemode", "portchan", "ip_addr", "state_rsn"})


def _interface_rows(doc: Any, wrong: frozenset[str], other: str) -> list[Row]:
    rows = _rows(doc, "TABLE_interface", "ROW_interface")
    if any(wrong.intersection(row) for row in rows):
        raise JsonOutputError(f"this is the output of {other!r}")
    return rows


def nxos_interface(doc: Any) -> list[Row]:
    """``show interface``: Ethernet, management, port-channel and loopback rows (``eth_*``) and
    SVIs (``svi_*``); ``mode`` and ``bundle`` (the port-channel of a member) go beyond what
    the text template reads."""
    rows = []
    for r in _interface_rows(doc, _BRIEF_KEYS, "show interface brief"):
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
                "prefix_length": _str(mask),
                "mtu": _str(_first(r, "eth_mtu", "svi_mtu")),
                "speed": r.get("eth_speed"),
                "bandwidth": f"{bandwidth} Kbit" if bandwidth is not None else None,
                "mode": r.get("eth_mode"),
                "bundle": _str(r.get("eth_bundle")),
            }
        )
    return rows


def nxos_interface_brief(doc: Any) -> list[Row]:
    """``show interface brief``: one table for every kind of interface; SVIs print their
    status as ``svi_admin_state`` (it is the line state, as in the text)."""
    return [
        {
            "interface": r["interface"],
            "status": _first(r, "state", "svi_admin_state"),
            "reason": _first(r, "state_rsn_desc", "svi_rsn_desc", "state_rsn"),
            "vlan_id": _str(r.get("vlan")),
            "mode": r.get("portmode"),
            "speed": _str(r.get("speed")),
            "mtu": _str(r.get("mtu")),
            "portch": _str(r.get("portchan")),
            "description": r.get("desc"),
        }
        for r in _interface_rows(doc, _DETAIL_KEYS, "show interface")
    ]


def _subnet(network: Any, length: Any) -> str | None:
    if network in (None, ""):
        return None
    return str(network) if "/" in str(network) or length is None else f"{network}/{length}"


def _vrf_of_blocks(doc: Any, intf_groups: list[list[Row]]) -> list[str | None]:
    """NX-OS 7 prints the VRF of each block of interfaces in a TABLE_vrf beside TABLE_intf."""
    if "TABLE_vrf" not in doc:
        return [None] * len(intf_groups)
    names = [v.get("vrf-name-out") for v in _rows(doc, "TABLE_vrf", "ROW_vrf")]
    if len(names) == len(intf_groups):
        return names
    return [names[0] if len(set(names)) == 1 else None] * len(intf_groups)


def nxos_ip_interface(doc: Any) -> list[Row]:
    """``show ip interface [vrf all]``: primary and secondary addresses with their VRF."""
    groups = _groups(doc, "TABLE_intf", "ROW_intf")
    rows = []
    for group, outer_vrf in zip(groups, _vrf_of_blocks(doc, groups), strict=True):
        for r in group:
            extra = _optional(r, "TABLE_secondary_address", "ROW_secondary_address")
            rows.append(
                {
                    "interface": r["intf-name"],
                    "vrf": r.get("vrf-name-out") or outer_vrf,
                    "ip_address": r.get("prefix"),
                    "subnet": _subnet(r.get("subnet"), r.get("masklen")),
                    "secondary_ip_address": [s.get("prefix1") for s in extra],
                    "secondary_ip_subnet": [
                        _subnet(s.get("subnet1"), s.get("masklen1")) for s in extra
                    ],
                }
            )
    return rows


# --- neighbours ------------------------------------------------------------------------------


def _neighbours(doc: Any, table: str, row: str) -> list[Row]:
    """Neighbour tables are left out when there are none; the count is still printed."""
    tables = [key for key in doc if key.startswith("TABLE_")]
    if not tables and ("neigh_count" in doc or "neigh_hdr" in doc):
        return []
    return _rows(doc, table, row)


def _lldp(r: Row, name: Any, chassis: Any, port_description: Any) -> Row:
    mgmt = _advertised(r.get("mgmt_addr"))
    if mgmt is None and str(r.get("mgmt_addr_ipv6_type") or "").upper() == "IPV6":
        mgmt = _advertised(r.get("mgmt_addr_ipv6"))
    return {
        "local_interface": r["l_port_id"],
        "neighbor_name": _advertised(name),
        "chassis_id": chassis,
        "chassis_id_subtype": r.get("chassis_type") if chassis is not None else None,
        "neighbor_port_id": _advertised(r.get("port_id")),
        "neighbor_port_id_subtype": _advertised(r.get("port_type")),
        "neighbor_interface": _advertised(port_description),
        "mgmt_address": mgmt,
        "neighbor_description": _first_line(_advertised(r.get("sys_desc"))),
        "capabilities": _advertised(r.get("enabled_capability")),
    }


def nxos_lldp(doc: Any) -> list[Row]:
    """``show lldp neighbors detail``: the system description is kept to its first line, as
    the text template keeps it."""
    return [
        _lldp(r, r.get("sys_name"), _advertised(r.get("chassis_id")), r.get("port_desc"))
        for r in _neighbours(doc, "TABLE_nbor_detail", "ROW_nbor_detail")
    ]


def nxos_lldp_brief(doc: Any) -> list[Row]:
    """``show lldp neighbors``: ``chassis_id`` holds the Device ID column, which is the
    neighbour's system name (``chassis_type`` then says ``Locally Assigned`` whatever the
    neighbour sent) or, when it sent none, its chassis ID."""
    rows = []
    for r in _neighbours(doc, "TABLE_nbor", "ROW_nbor"):
        shown = _advertised(r.get("chassis_id"))
        if "sys_name" in r:
            rows.append(_lldp(r, r.get("sys_name"), shown, None))
            continue
        kind = str(r.get("chassis_type") or "").lower()
        chassis = shown if shown is not None and (is_mac(str(shown)) or "mac" in kind) else None
        rows.append(_lldp(r, None if chassis else shown, chassis, None))
    return rows


#: CDP capabilities as NX-OS' JSON names them -> the letters its text brief prints.
_CDP_LETTERS = {
    "router": "R",
    "trans-bridge": "T",
    "sr-bridge": "B",
    "switch": "S",
    "host": "H",
    "igmp_cnd_filtering": "I",
    "repeater": "r",
    "supports-stp-dispute": "s",
}
#: ... and the words its text detail prints, where they differ.
_CDP_WORDS = {"igmp_cnd_filtering": "IGMP Filtering"}


_NO_ADDRESS = frozenset({"0.0.0.0", "::"})  # noqa: S104 - an address printed, not bound


def _ipv4(value: Any) -> str | None:
    """The first address of a list that may be one value; ``0.0.0.0`` is no address."""
    return next((w for w in _words(value) if w not in _NO_ADDRESS), None)


def nxos_cdp(doc: Any) -> list[Row]:
    """``show cdp neighbors detail``: Device ID (``name(SERIAL)``), System Name, addresses."""
    rows = []
    for r in _neighbours(doc, "TABLE_cdp_neighbor_detail_info", "ROW_cdp_neighbor_detail_info"):
        caps = [_CDP_WORDS.get(w.lower(), w) for w in _words(r.get("capability"))]
        rows.append(
            {
                "local_interface": r["intf_id"],
                "chassis_id": r.get("device_id"),
                "neighbor_name": r.get("sysname"),
                "mgmt_address": _ipv4(r.get("v4mgmtaddr")) or _ipv4(r.get("v4addr")),
                "platform": r.get("platform_id"),
                "neighbor_interface": r.get("port_id"),
                "neighbor_description": _first_line(r.get("version")),
                "capabilities": " ".join(caps) or None,
            }
        )
    return rows


def nxos_cdp_brief(doc: Any) -> list[Row]:
    """``show cdp neighbors``: capabilities as the letters of the text brief."""
    rows = []
    for r in _neighbours(doc, "TABLE_cdp_neighbor_brief_info", "ROW_cdp_neighbor_brief_info"):
        caps = [_CDP_LETTERS.get(w.lower(), w) for w in _words(r.get("capability"))]
        rows.append(
            {
                "neighbor_name": r.get("device_id"),
                "local_interface": r["intf_id"],
                "capabilities": " ".join(caps) or None,
                "platform": r.get("platform_id"),
                "neighbor_interface": r.get("port_id"),
            }
        )
    return rows


# --- tables --------------------------------------------------------------------------------


def nxos_arp(doc: Any) -> list[Row]:
    """``show ip arp [detail] [vrf all]``: every VRF's adjacencies. With ``vrf all`` NX-OS 9.3
    prints one table named ``all`` and no VRF per entry: those entries get none."""
    rows = []
    for vrf in _rows(doc, "TABLE_vrf", "ROW_vrf"):
        if "TABLE_adj" not in vrf and "cnt-total" not in vrf:
            raise JsonOutputError("expected an ARP table (TABLE_adj or cnt-total) in ROW_vrf")
        name = vrf.get("vrf-name-out")
        for adj in _optional(vrf, "TABLE_adj", "ROW_adj"):
            rows.append(
                {
                    "ip_address": adj.get("ip-addr-out"),
                    "mac_address": adj.get("mac"),
                    "interface": adj.get("intf-out"),
                    "physical_interface": adj.get("phy-intf"),
                    "vrf": _first(adj, "vrf-name-out", "vrf-name")
                    or (None if name == "all" else name),
                }
            )
    return rows


def nxos_mac(doc: Any) -> list[Row]:
    """``show mac address-table``. NX-OS 9 says ``disp_type`` dynamic or static; NX-OS 7 puts
    the entry's flag there (``*``, ``G``) and says ``disp_is_static`` enabled or disabled.
    Remote VXLAN ports are kept as printed (``nve1(10.0.0.134)``)."""
    if "TABLE_mac_address" not in doc and "header" in doc:
        return []  # NX-OS 7 prints the legend even when the table is empty
    rows = []
    for r in _rows(doc, "TABLE_mac_address", "ROW_mac_address"):
        kind = str(r.get("disp_type") or "").lower()
        if kind not in ("dynamic", "static"):
            static = str(r.get("disp_is_static") or "").lower() in ("enabled", "1", "true", "t")
            kind = "static" if static else "dynamic"
        rows.append(
            {
                "mac_address": r.get("disp_mac_addr"),
                "ports": r.get("disp_port"),
                "vlan_id": str(r.get("disp_vlan") or "").strip().strip("-") or None,
                "type": kind,
            }
        )
    return rows


#: ``show vlan brief`` prints TABLE_vlanbriefxbrief (NX-OS 7.0(3) and later) or, like
#: ``show vlan``, TABLE_vlanbrief.
_VLAN_TABLES = (
    ("TABLE_vlanbriefxbrief", "ROW_vlanbriefxbrief"),
    ("TABLE_vlanbrief", "ROW_vlanbrief"),
)
#: ``Ethernet1/6-10``, ``port-channel10-13``: a run of ports in the member list.
_PORT_RUN = re.compile(r"^(?P<base>.*?)(?P<first>\d+)-(?P<last>\d+)$")
_MAX_RUN = 4096


def _members(value: Any) -> list[str]:
    """``vlanshowplist-ifidx``: one string, or a list of them when it is long, of ports and
    runs of ports, e.g. ``port-channel1-2,Ethernet1/3,Ethernet1/6-10``."""
    ports: list[str] = []
    for item in ",".join(_words(value)).split(","):
        item = item.strip()
        run = _PORT_RUN.match(item)
        if run and 0 <= int(run["last"]) - int(run["first"]) < _MAX_RUN:
            first, last = int(run["first"]), int(run["last"])
            ports.extend(f"{run['base']}{n}" for n in range(first, last + 1))
        elif item:
            ports.append(item)
    return ports


def nxos_vlan(doc: Any) -> list[Row]:
    """``show vlan`` and ``show vlan brief``. ``vlanshowbr-vlanid`` is not always the VLAN
    number (some releases print 16777216 for VLAN 1): ``vlanshowbr-vlanid-utf`` is."""
    table = next((t for t in _VLAN_TABLES if t[0] in doc), None)
    if table is None:
        raise JsonOutputError("expected TABLE_vlanbrief or TABLE_vlanbriefxbrief")
    return [
        {
            "vlan_id": _str(_first(r, "vlanshowbr-vlanid-utf", "vlanshowbr-vlanid")),
            "vlan_name": r.get("vlanshowbr-vlanname"),
            "status": r.get("vlanshowbr-vlanstate"),
            "interfaces": _members(r.get("vlanshowplist-ifidx")),
        }
        for r in _rows(doc, *table)
    ]


def _best(path: Row) -> bool:
    """A unicast best path; a path that says neither ``ubest`` nor ``mbest`` is kept."""
    if "ubest" not in path and "mbest" not in path:
        return True
    return str(path.get("ubest")).lower() == "true"


def nxos_route(doc: Any) -> list[Row]:
    """``show ip route [vrf all]``: one row per best next hop, as the text template."""
    rows = []
    for vrf in _rows(doc, "TABLE_vrf", "ROW_vrf"):
        for family in _rows(vrf, "TABLE_addrf", "ROW_addrf"):
            for prefix in _optional(family, "TABLE_prefix", "ROW_prefix"):
                network, _, length = str(prefix["ipprefix"]).partition("/")
                for path in _optional(prefix, "TABLE_path", "ROW_path"):
                    if not _best(path):
                        continue
                    rows.append(
                        {
                            "vrf": vrf.get("vrf-name-out"),
                            "protocol": path.get("clientname"),
                            "network": network,
                            "prefix_length": length,
                            "distance": _str(path.get("pref")),
                            "metric": _str(path.get("metric")),
                            "nexthop_ip": path.get("ipnexthop") or "",
                            "nexthop_if": path.get("ifname") or "",
                            "nexthop_vrf": path.get("nexthop-vrf-name") or "",
                        }
                    )
    return rows


def nxos_inventory(doc: Any) -> list[Row]:
    """``show inventory``: TABLE_inv/ROW_inv (NX-OS quotes the name and description)."""
    return [
        {
            "name": str(r.get("name") or "").strip().strip('"').strip(),
            "descr": str(r.get("desc") or "").strip().strip('"').strip() or None,
            "pid": r.get("productid"),
            "sn": r.get("serialnum"),
        }
        for r in _rows(doc, "TABLE_inv", "ROW_inv")
    ]
