"""Row mappers for neighbours, ARP, MAC tables, VLANs and BGP sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from network_discovery.model import (
    VLAN,
    ArpEntry,
    BGPPeer,
    FactKind,
    MacEntryType,
    MacTableEntry,
    NeighborObservation,
    NeighborProtocol,
    lldp_port,
)
from network_discovery.parsers._context import DeviceContext, MissingContext, Partial
from network_discovery.parsers._values import (
    bgp_state,
    capabilities,
    clean_system_name,
    is_mac,
    text,
    uptime_seconds,
)

__all__ = [
    "NOT_A_PORT",
    "map_arp",
    "map_bgp_summary",
    "map_cdp",
    "map_junos_lldp_detail",
    "map_lldp",
    "map_mac_table",
    "map_vlan",
]

Row = dict[str, Any]

#: MAC-table destinations that are not ports: the supervisor, the CPU, drops, routed MACs.
NOT_A_PORT = re.compile(r"^(?:cpu|drop|router|switch|sup-eth\d*|.*\(r\))$", re.I)


def _neighbor(ctx: DeviceContext, protocol: NeighborProtocol, **fields: Any) -> Partial:
    values = {k: v for k, v in fields.items() if v is not None}
    chassis = values.get("remote_chassis_id")
    if chassis is not None and not is_mac(chassis) and protocol is NeighborProtocol.CDP:
        values.pop("remote_chassis_id")  # NX-OS CDP puts the device id there
    address = values.get("remote_management_address")
    if address is not None and is_mac(address):
        values.pop("remote_management_address")  # EOS may advertise a MAC here
    observation = NeighborObservation(protocol=protocol, device=ctx.device, **values)
    return Partial(FactKind(protocol.value), observation)


def _port(value: object) -> str | None:
    port = text(value)
    if port is None or "not advertised" in port:
        return None
    return port


def map_lldp(row: Row, ctx: DeviceContext, *, brief: bool = False) -> Iterator[Partial]:
    """LLDP neighbour entries, detail or brief, on every platform. The far port follows the
    port-id subtype (``neighbor_port_id_subtype``, as the device prints it): a locally
    assigned id or a MAC is kept as the raw id, never taken for an interface name."""
    name = text(row.get("neighbor_name"))
    if name and "not advertised" in name:
        name = None
    raw_port = _port(row.get("neighbor_port_id"))
    description = text(row.get("neighbor_interface"))
    if raw_port is None:
        port, raw, subtype = lldp_port(_port(description), None, None)
        description = None
    else:
        port, raw, subtype = lldp_port(
            raw_port, text(row.get("neighbor_port_id_subtype")), _port(description)
        )
    local = text(row.get("local_interface"))
    if local is None:
        raise ValueError("neighbour entry without a local interface")
    yield _neighbor(
        ctx,
        NeighborProtocol.LLDP,
        interface=local,
        remote_system_name=name,
        remote_port=port,
        remote_port_description=description,
        remote_port_id=raw,
        remote_port_id_subtype=subtype,
        remote_chassis_id=text(row.get("chassis_id")),
        remote_management_address=text(row.get("mgmt_address")),
        remote_description=text(row.get("neighbor_description")),
        remote_platform=text(row.get("platform")),
        capabilities=capabilities(row.get("capabilities"), "lldp"),
    )


def map_lldp_brief(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    yield from map_lldp(row, ctx, brief=True)


#: Junos spells capabilities out; a few take more than one word.
_JUNOS_CAPABILITY_PHRASES = (
    (re.compile(r"wlan[\s-]+access[\s-]+point|access[\s-]+point", re.I), "wlan_access_point"),
    (re.compile(r"docsis[\s-]+cable[\s-]+device", re.I), "docsis_cable_device"),
    (re.compile(r"station[\s-]+only", re.I), "station"),
)


def _junos_capabilities(value: object) -> str | None:
    raw = text(value)
    if raw is None:
        return None
    for pattern, word in _JUNOS_CAPABILITY_PHRASES:
        raw = pattern.sub(word, raw)
    return raw


def map_junos_lldp_detail(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """Junos "show lldp neighbors interface <name>" blocks: the enabled capabilities (else
    the supported ones), the first line of the system description (as the other platforms'
    templates keep it), the first management address."""
    lines = [ln.strip() for ln in row.get("neighbor_description") or [] if ln.strip()]
    if not row.get("neighbor_port_id_subtype") and row.get("port_type"):
        row = {**row, "neighbor_port_id_subtype": row["port_type"]}  # the text's "Port type"
    caps = _junos_capabilities(row.get("capabilities")) or _junos_capabilities(
        row.get("supported_capabilities")
    )
    yield from map_lldp(
        {
            **row,
            "neighbor_description": lines[0] if lines else None,
            "capabilities": caps,
            "mgmt_address": text(row.get("mgmt_address")),
        },
        ctx,
    )


def map_cdp(row: Row, ctx: DeviceContext, *, brief: bool = False) -> Iterator[Partial]:
    """CDP neighbour entries (IOS and NX-OS), detail or brief."""
    name = clean_system_name(row.get("neighbor_name")) or clean_system_name(row.get("chassis_id"))
    local = text(row.get("local_interface"))
    if local is None:
        raise ValueError("neighbour entry without a local interface")
    yield _neighbor(
        ctx,
        NeighborProtocol.CDP,
        interface=local,
        remote_system_name=name,
        remote_port=_port(row.get("neighbor_interface")),
        remote_management_address=text(row.get("mgmt_address")),
        remote_description=None if brief else text(row.get("neighbor_description")),
        remote_platform=text(row.get("platform")),
        capabilities=capabilities(row.get("capabilities"), "cdp", letters=brief),
    )


def map_cdp_brief(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    yield from map_cdp(row, ctx, brief=True)


def map_arp(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """ARP tables; incomplete entries (no MAC yet) are skipped."""
    mac = text(row.get("mac_address"))
    if mac is None or not is_mac(mac):
        return
    interface = text(row.get("interface"))
    if interface:
        interface = interface.split(",")[0].strip()  # EOS: "Vlan100, Ethernet10"
    vrf = text(row.get("vrf"))
    yield Partial(
        FactKind.ARP,
        ArpEntry(
            device=ctx.device,
            ip=row["ip_address"],
            mac=mac,
            interface=interface or None,
            vrf=None if vrf in (None, "default") else vrf,
        ),
    )


_MAC_TYPES = {"dynamic": MacEntryType.DYNAMIC, "static": MacEntryType.STATIC}


def map_mac_table(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """MAC address tables; entries pointing at the CPU/supervisor are not port facts."""
    mac = text(row.get("destination_address")) or text(row.get("mac_address"))
    port = (
        text(row.get("destination_port"))
        or text(row.get("ports"))
        or text(row.get("logical_interface"))
    )
    if mac is None or port is None or NOT_A_PORT.match(port):
        return
    vlan_text = text(row.get("vlan_id"))
    vlan: int | None = int(vlan_text) if vlan_text and vlan_text.isdigit() else None
    if vlan is None and row.get("vlan_name"):
        vlan = ctx.vlan_tags.get(text(row.get("vlan_name")) or "")
    kind = (text(row.get("type")) or text(row.get("mac_flag")) or "").lower()
    if ctx.platform == "juniper_junos":
        entry_type = MacEntryType.STATIC if "s" in kind.replace("se", "") else MacEntryType.DYNAMIC
    elif "secure" in kind:
        entry_type = MacEntryType.SECURE
    else:
        entry_type = _MAC_TYPES.get(kind, MacEntryType.OTHER)
    yield Partial(
        FactKind.MAC_TABLE,
        MacTableEntry(
            device=ctx.device,
            interface=port,
            vlan=vlan if vlan and 1 <= vlan <= 4094 else None,
            mac=mac,
            type=entry_type,
        ),
    )


def map_vlan(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """VLAN tables; IOS's act/unsup FDDI and Token Ring placeholders are left out."""
    if (text(row.get("status")) or "").lower() == "act/unsup":
        return
    number = text(row.get("vlan_id")) or text(row.get("tag"))
    if number is None or not number.isdigit():
        return
    yield Partial(
        FactKind.VLANS, VLAN(device=ctx.device, vlan=int(number), name=text(row.get("vlan_name")))
    )


def map_bgp_summary(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """BGP summaries; the local AS comes from the output or, on Junos, from meta.yaml."""
    local_asn = text(row.get("local_as")) or ctx.meta.get("bgp_asn") or ctx.local_asn
    if local_asn is None:
        raise MissingContext(
            "BGP sessions left out: Junos prints no local AS in its summary; save "
            "'show bgp neighbor' or the configuration with it, or set bgp_asn in meta.yaml"
        )
    remote = text(row.get("bgp_neighbor")) or text(row.get("bgp_neigh")) or text(row["peer_ip"])
    remote_asn = text(row.get("neighbor_as")) or text(row.get("neigh_as")) or row.get("peer_as")
    if ctx.platform == "arista_eos":
        state, prefixes = bgp_state(row.get("state"))
        pfx = text(row.get("state_pfxrcd"))
        prefixes = int(pfx) if pfx and pfx.isdigit() else prefixes
    elif ctx.platform == "juniper_junos":
        state, _ = bgp_state(row.get("state"))
        received = [int(n) for n in row.get("received") or []]
        prefixes = sum(received) if received else None
    else:
        state, prefixes = bgp_state(
            row.get("state_or_prefixes_received") or row.get("state_pfxrcd")
        )
    vrf = text(row.get("vrf"))
    yield Partial(
        FactKind.BGP,
        BGPPeer(
            device=ctx.device,
            vrf=None if vrf in (None, "default") else vrf,
            local_asn=local_asn,  # text, validated by the model
            remote_address=str(remote),
            remote_asn=remote_asn,  # text, validated by the model
            state=state,
            prefixes_received=prefixes,
            uptime_seconds=uptime_seconds(row.get("up_down")),
            description=text(row.get("description")),
        ),
    )
