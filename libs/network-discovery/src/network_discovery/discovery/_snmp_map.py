"""MIB tables walked from one device -> its facts in the model (the same lists the CLI parsers
fill): SNMPv2-MIB system, IF-MIB, IP-MIB, LLDP-MIB, BRIDGE-MIB / Q-BRIDGE-MIB and the ARP
tables."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from network_discovery.model import (
    VLAN,
    ArpEntry,
    Device,
    FactKind,
    Interface,
    InterfaceStatus,
    IPAddress,
    MacEntryType,
    MacTableEntry,
    NeighborObservation,
    NeighborProtocol,
    canonical_interface_name,
    lldp_port,
    normalise_hostname,
    port_id_subtype,
)
from network_discovery.parsers import DeviceFacts

__all__ = ["OIDS", "facts_from_tables"]

Index = tuple[int, ...]
Tables = Mapping[str, Mapping[Index, Any]]

#: Table column -> numeric OID, walked one by one.
OIDS = {
    "sysDescr": "1.3.6.1.2.1.1.1",
    "sysName": "1.3.6.1.2.1.1.5",
    "ifDescr": "1.3.6.1.2.1.2.2.1.2",
    "ifMtu": "1.3.6.1.2.1.2.2.1.4",
    "ifSpeed": "1.3.6.1.2.1.2.2.1.5",
    "ifPhysAddress": "1.3.6.1.2.1.2.2.1.6",
    "ifAdminStatus": "1.3.6.1.2.1.2.2.1.7",
    "ifOperStatus": "1.3.6.1.2.1.2.2.1.8",
    "ifName": "1.3.6.1.2.1.31.1.1.1.1",
    "ifHighSpeed": "1.3.6.1.2.1.31.1.1.1.15",
    "ifAlias": "1.3.6.1.2.1.31.1.1.1.18",
    "ipAdEntIfIndex": "1.3.6.1.2.1.4.20.1.2",
    "ipAdEntNetMask": "1.3.6.1.2.1.4.20.1.3",
    "ipNetToMediaPhysAddress": "1.3.6.1.2.1.4.22.1.2",
    "ipNetToPhysicalPhysAddress": "1.3.6.1.2.1.4.35.1.4",
    "lldpLocPortId": "1.0.8802.1.1.2.1.3.7.1.3",
    "lldpRemChassisIdSubtype": "1.0.8802.1.1.2.1.4.1.1.4",
    "lldpRemChassisId": "1.0.8802.1.1.2.1.4.1.1.5",
    "lldpRemPortIdSubtype": "1.0.8802.1.1.2.1.4.1.1.6",
    "lldpRemPortId": "1.0.8802.1.1.2.1.4.1.1.7",
    "lldpRemPortDesc": "1.0.8802.1.1.2.1.4.1.1.8",
    "lldpRemSysName": "1.0.8802.1.1.2.1.4.1.1.9",
    "lldpRemSysDesc": "1.0.8802.1.1.2.1.4.1.1.10",
    "lldpRemManAddrIfSubtype": "1.0.8802.1.1.2.1.4.2.1.3",
    "dot1dBasePortIfIndex": "1.3.6.1.2.1.17.1.4.1.2",
    "dot1dTpFdbPort": "1.3.6.1.2.1.17.4.3.1.2",
    "dot1dTpFdbStatus": "1.3.6.1.2.1.17.4.3.1.3",
    "dot1qTpFdbPort": "1.3.6.1.2.1.17.7.1.2.2.1.2",
    "dot1qTpFdbStatus": "1.3.6.1.2.1.17.7.1.2.2.1.3",
    "dot1qVlanStaticName": "1.3.6.1.2.1.17.7.1.4.3.1.1",
}
_FDB_STATUS = {1: MacEntryType.OTHER, 3: MacEntryType.DYNAMIC, 5: MacEntryType.STATIC}
_STATUS = {1: InterfaceStatus.UP, 2: InterfaceStatus.DOWN}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip().strip("\x00")
    return text or None


def _mac(value: Any) -> str | None:
    if isinstance(value, bytes) and len(value) == 6 and any(value):
        return ":".join(f"{b:02x}" for b in value)
    return None


def _scalar(tables: Tables, name: str) -> Any:
    table = tables.get(name) or {}
    return table.get((0,)) if (0,) in table else next(iter(table.values()), None)


def _if_names(tables: Tables) -> dict[int, str]:
    names: dict[int, str] = {}
    for (index, *_), raw in (tables.get("ifDescr") or {}).items():
        if text := _text(raw):
            names[index] = text
    for (index, *_), raw in (tables.get("ifName") or {}).items():
        if text := _text(raw):
            names[index] = text
    return {i: canonical_interface_name(n) for i, n in names.items()}


def _interfaces(device: str, tables: Tables, names: dict[int, str]) -> list[Interface]:
    out = []
    for index, name in sorted(names.items()):
        high = (tables.get("ifHighSpeed") or {}).get((index,))
        low = (tables.get("ifSpeed") or {}).get((index,))
        speed = high if high else (low // 1_000_000 if low else None)
        mtu = (tables.get("ifMtu") or {}).get((index,))
        out.append(
            Interface(
                device=device,
                name=name,
                description=_text((tables.get("ifAlias") or {}).get((index,))),
                admin_status=_STATUS.get((tables.get("ifAdminStatus") or {}).get((index,), 0)),
                oper_status=_STATUS.get((tables.get("ifOperStatus") or {}).get((index,), 0)),
                speed_mbps=speed or None,
                mtu=mtu if mtu and 1 <= mtu <= 65535 else None,
                mac=_mac((tables.get("ifPhysAddress") or {}).get((index,))),
            )
        )
    return out


def _addresses(device: str, tables: Tables, names: dict[int, str]) -> list[IPAddress]:
    out = []
    masks = tables.get("ipAdEntNetMask") or {}
    for index, if_index in (tables.get("ipAdEntIfIndex") or {}).items():
        if len(index) != 4 or if_index not in names:
            continue
        ip = ".".join(str(p) for p in index)
        mask = masks.get(index)
        mask_text = ".".join(str(b) for b in mask) if isinstance(mask, bytes) else str(mask)
        try:
            iface = ipaddress.ip_interface(f"{ip}/{mask_text}")
        except ValueError:
            continue
        out.append(IPAddress(device=device, interface=names[if_index], address=str(iface)))
    return out


def _arp(device: str, tables: Tables, names: dict[int, str]) -> list[ArpEntry]:
    found: dict[str, ArpEntry] = {}
    for index, raw in (tables.get("ipNetToMediaPhysAddress") or {}).items():
        if len(index) == 5 and (mac := _mac(raw)):
            ip = ".".join(str(p) for p in index[1:])
            found[ip] = ArpEntry(device=device, interface=names.get(index[0]), ip=ip, mac=mac)
    for index, raw in (tables.get("ipNetToPhysicalPhysAddress") or {}).items():
        # ifIndex, address type (1 IPv4, 2 IPv6), length, address octets
        if len(index) < 3 or not (mac := _mac(raw)) or len(index) != 3 + index[2]:
            continue
        octets = bytes(index[3:])
        try:
            ip = str(ipaddress.ip_address(octets))
        except ValueError:
            continue
        found.setdefault(ip, ArpEntry(device=device, interface=names.get(index[0]), ip=ip, mac=mac))
    return list(found.values())


def _port_id(subtype: int | None, raw: Any, description: Any) -> tuple[str | None, str | None]:
    """(port name, raw id): LLDP-MIB subtype 3 is a MAC, 7 a locally assigned id (often
    the ifIndex), 1 and 5 names; see :func:`~network_discovery.model.lldp_port`."""
    text = _mac(raw) if subtype == 3 else _text(raw)
    name, kept, _ = lldp_port(text, subtype, _text(description))
    return (canonical_interface_name(name) if name else None), kept


def _neighbors(device: str, tables: Tables, names: dict[int, str]) -> list[NeighborObservation]:
    local_ports = {
        index[0]: canonical_interface_name(text)
        for index, raw in (tables.get("lldpLocPortId") or {}).items()
        if (text := _text(raw))
    }
    managed: dict[Index, str] = {}
    for index, _ in (tables.get("lldpRemManAddrIfSubtype") or {}).items():
        # timeMark, localPortNum, remIndex, address subtype (1 IPv4, 2 IPv6), length, octets
        if len(index) > 5 and index[3] in (1, 2) and len(index) == 5 + index[4]:
            try:
                managed.setdefault(index[:3], str(ipaddress.ip_address(bytes(index[5:]))))
            except ValueError:
                continue
    out = []
    column = {name: tables.get(name) or {} for name in OIDS if name.startswith("lldpRem")}
    for key in column["lldpRemSysName"].keys() | column["lldpRemChassisId"].keys():
        local = local_ports.get(key[1]) or names.get(key[1])
        if local is None:
            continue
        chassis_raw = column["lldpRemChassisId"].get(key)
        chassis = (
            _mac(chassis_raw)
            if column["lldpRemChassisIdSubtype"].get(key) == 4
            else _text(chassis_raw)
        )
        name = _text(column["lldpRemSysName"].get(key))
        if not (name or chassis):
            continue
        subtype = column["lldpRemPortIdSubtype"].get(key)
        port, raw_id = _port_id(
            subtype, column["lldpRemPortId"].get(key), column["lldpRemPortDesc"].get(key)
        )
        out.append(
            NeighborObservation(
                protocol=NeighborProtocol.LLDP,
                device=device,
                interface=local,
                remote_system_name=name,
                remote_port=port,
                remote_port_id=raw_id,
                remote_port_id_subtype=port_id_subtype(subtype) if raw_id is not None else None,
                remote_port_description=_text(column["lldpRemPortDesc"].get(key)),
                remote_chassis_id=chassis,
                remote_management_address=managed.get(key),
                remote_description=_text(column["lldpRemSysDesc"].get(key)),
            )
        )
    return out


def _mac_table(device: str, tables: Tables, names: dict[int, str]) -> list[MacTableEntry]:
    bridge_ports = {index[0]: v for index, v in (tables.get("dot1dBasePortIfIndex") or {}).items()}
    out: dict[tuple[int, str], MacTableEntry] = {}
    q_ports, q_status = tables.get("dot1qTpFdbPort") or {}, tables.get("dot1qTpFdbStatus") or {}
    rows = [(index[0], index[1:], port, q_status.get(index)) for index, port in q_ports.items()]
    if not rows:
        ports, status = tables.get("dot1dTpFdbPort") or {}, tables.get("dot1dTpFdbStatus") or {}
        rows = [(0, index, port, status.get(index)) for index, port in ports.items()]
    for vlan, octets, port, state in rows:
        kind = _FDB_STATUS.get(state or 3)
        interface = names.get(bridge_ports.get(port, -1))
        if kind is None or interface is None or len(octets) != 6:
            continue  # the switch's own addresses (self), or a port we cannot name
        mac = ":".join(f"{b:02x}" for b in octets)
        entry = MacTableEntry(
            device=device, interface=interface, vlan=vlan or None, mac=mac, type=kind
        )
        out[(vlan, mac)] = entry
    return list(out.values())


def _vlans(device: str, tables: Tables) -> list[VLAN]:
    return [
        VLAN(vlan=index[0], name=_text(raw), device=device)
        for index, raw in (tables.get("dot1qVlanStaticName") or {}).items()
        if len(index) == 1 and 1 <= index[0] <= 4094
    ]


def facts_from_tables(
    hostname: str | None,
    tables: Tables,
    *,
    platform: str | None,
    meta: Mapping[str, Any],
) -> DeviceFacts:
    """One device's facts; a fact kind is claimed when its MIB answered."""
    sys_name = _text(_scalar(tables, "sysName"))
    name = hostname or sys_name
    if not name:
        raise ValueError("the agent reports no sysName and the inventory names no host")
    device = normalise_hostname(name)
    names = _if_names(tables)
    facts = DeviceFacts(device=device)
    record = {
        k: meta[k]
        for k in ("role", "site", "tenant", "rack", "criticality", "tags", "management_ip")
        if meta.get(k) is not None
    }
    facts.record = Device(
        hostname=name, platform=platform, description=_text(_scalar(tables, "sysDescr")), **record
    )
    facts.kinds.add(FactKind.DEVICE)
    facts.interfaces = _interfaces(device, tables, names)
    facts.ip_addresses = _addresses(device, tables, names)
    facts.arp = _arp(device, tables, names)
    facts.neighbors = _neighbors(device, tables, names)
    facts.mac_table = _mac_table(device, tables, names)
    facts.vlans = _vlans(device, tables)
    claims = (
        (FactKind.INTERFACES, bool(names)),
        (FactKind.IP_ADDRESSES, bool(tables.get("ipAdEntIfIndex"))),
        (FactKind.ARP, bool(facts.arp)),
        (FactKind.LLDP, bool(tables.get("lldpLocPortId")) or bool(facts.neighbors)),
        (FactKind.MAC_TABLE, bool(tables.get("dot1dBasePortIfIndex"))),
        (FactKind.VLANS, bool(facts.vlans)),
    )
    facts.kinds.update(kind for kind, claimed in claims if claimed)
    return facts
