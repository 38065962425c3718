"""Row mappers for the device record, interfaces and interface addresses."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from network_discovery.model import FactKind, IPAddress, canonical_interface_name
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._values import speed_mbps, text

__all__ = [
    "VENDORS",
    "if_index",
    "map_eos_ip_brief",
    "map_interface_status",
    "map_interfaces_detail",
    "map_inventory",
    "map_ios_ip_interface",
    "map_ip_brief_status",
    "map_junos_interfaces",
    "map_nxos_ip_interface",
    "map_version",
]

Row = dict[str, Any]
VENDORS = {
    "cisco_ios": "Cisco",
    "cisco_nxos": "Cisco",
    "arista_eos": "Arista",
    "juniper_junos": "Juniper",
    "cisco_asa": "Cisco",
}


def if_index(row: Row) -> int | None:
    """The SNMP ifIndex a row carries (Junos ``snmp-index``, NX-OS ``ifindex``), if any."""
    value = text(row.get("snmp_index")) or text(row.get("ifindex"))
    return int(value) if value is not None and value.isdigit() else None


def _iface(ctx: DeviceContext, name: str, **fields: Any) -> Partial:
    canonical = canonical_interface_name(name, ctx.platform)
    values = {k: v for k, v in fields.items() if v is not None}
    return Partial(FactKind.INTERFACES, {"name": canonical, **values}, key=canonical)


def _address(
    ctx: DeviceContext,
    interface: str,
    address: str,
    vrf: str | None = None,
    row: Row | None = None,
) -> Partial:
    """An interface address; shared by design (an anycast gateway) when the row lists it
    among its ``virtual_addresses``."""
    shared = {str(a).split("/")[0] for a in (row or {}).get("virtual_addresses") or ()}
    ip = IPAddress(
        device=ctx.device,
        interface=canonical_interface_name(interface, ctx.platform),
        address=address,
        vrf=None if vrf in (None, "default") else vrf,
        virtual=address.split("/")[0] in shared,
    )
    return Partial(FactKind.IP_ADDRESSES, ip)


# --- version --------------------------------------------------------------------------


def map_version(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    p = ctx.platform
    fields: dict[str, Any] = {"vendor": VENDORS.get(p), "platform": p}
    if p == "cisco_ios":
        fields |= {
            "reported_hostname": text(row.get("hostname")),
            "os_version": text(row.get("version")),
            "model": text(row.get("hardware")),
            "serial": text(row.get("serial")),
            "chassis_id": text(row.get("mac_address")),
        }
    elif p == "cisco_nxos":
        version = text(row.get("os"))
        short = text(row.get("platform"))
        chassis = _CISCO_PREFIX.sub("", text(row.get("chassis")) or "") or None
        fields |= {
            "reported_hostname": text(row.get("hostname")),
            "os_version": version.split()[0] if version else None,
            # as printed ("Nexus9000 C9300v Chassis"), and the product id within it (C9300v)
            "model": chassis or short,
            "model_id": short if chassis and short and short != chassis else None,
            "serial": text(row.get("serial")),
        }
    elif p == "arista_eos":
        fields |= {
            "os_version": text(row.get("image")),
            "model": text(row.get("model")),
            "serial": text(row.get("serial_number")),
            "chassis_id": text(row.get("sys_mac")),
        }
    elif p == "juniper_junos":
        fields |= {
            "reported_hostname": text(row.get("hostname")),
            "os_version": text(row.get("junos_version")),
            "model": text(row.get("model")),
            "serial": text(row.get("serial_number")),
        }
    yield Partial(FactKind.DEVICE, {k: v for k, v in fields.items() if v is not None})


_CISCO_PREFIX = re.compile(r"^cisco\s+", re.I)
_CHASSIS = re.compile(r"chassis|^switch\s*\d*$|^\d+$|^system$", re.I)


def map_inventory(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """``show inventory``: the chassis entry's product id and serial (line cards, power
    supplies and optics are not the device)."""
    name = text(row.get("name")) or ("Chassis" if "port" in row and not row["port"] else "")
    if not _CHASSIS.search(name):  # EOS text: the system's row is the one without a port
        return
    fields = {
        "vendor": VENDORS.get(ctx.platform),
        "platform": ctx.platform,
        "model": text(row.get("pid")) or text(row.get("descr")),
        "serial": text(row.get("sn")),
    }
    yield Partial(FactKind.DEVICE, {k: v for k, v in fields.items() if v is not None})


# --- interfaces -----------------------------------------------------------------------

_STATUS = {
    # status column of "show interfaces status": (admin, oper)
    "connected": ("up", "up"),
    "up": ("up", "up"),
    "notconnect": ("up", "down"),
    "notconnec": ("up", "down"),
    "down": ("up", "down"),
    "sfpabsent": ("up", "down"),
    "xcvrabsen": ("up", "down"),
    "noopermem": ("up", "down"),
    "channeldo": ("up", "down"),
    "inactive": ("up", "down"),
    "monitoring": ("up", "up"),
    "suspended": ("up", "down"),
    "err-disabled": ("up", "down"),
    "errdisabled": ("up", "down"),
    "disabled": ("down", "down"),
}


def map_interface_status(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """IOS/NX-OS/EOS ``show interface(s) status``: mode, VLAN, LAG, speed, status."""
    admin, oper = _STATUS.get((text(row.get("status")) or "").lower(), (None, None))
    vlan = (text(row.get("vlan_id")) or "").strip()
    fields: dict[str, Any] = {"admin_status": admin, "oper_status": oper}
    if vlan.isdigit() and 1 <= int(vlan) <= 4094:
        fields |= {"mode": "access", "access_vlan": int(vlan)}
    elif vlan == "trunk":
        fields["mode"] = "trunk"
    elif vlan == "routed":
        fields["mode"] = "routed"
    elif vlan.lower().startswith(("in po", "po")):  # EOS: "in Po10"
        fields["lag"] = canonical_interface_name(vlan.split()[-1], ctx.platform)
    yield _iface(
        ctx,
        row["port"],
        description=text(row.get("name")),
        speed_mbps=speed_mbps(row.get("speed")),
        **fields,
    )


def _status_words(link: str | None, protocol: str | None) -> tuple[str | None, str | None]:
    link_l = (link or "").lower()
    if "administratively" in link_l or link_l == "disabled":
        return "down", "down"
    if not link_l:
        return None, None
    oper = (protocol or link_l).lower().split()[0]
    return "up", "up" if oper == "up" else "down"


#: Interfaces whose BW is a nominal figure, not a speed.
_VIRTUAL = re.compile(r"^(?:loopback|lo|vlan|tunnel|nve|null)\d", re.I)


def _detail_speed(name: str, row: Row) -> int | None:
    """The speed the port runs at: IOS and NX-OS print it (``10Gb/s``, ``10 Gb/s``; ``Auto-speed``
    when none is negotiated); otherwise the BW figure, except on virtual interfaces."""
    printed = text(row.get("speed"))
    if printed is not None:
        return speed_mbps(printed)
    bandwidth = text(row.get("bandwidth"))
    if bandwidth is None or _VIRTUAL.match(name):
        return None
    return speed_mbps(bandwidth, default_unit="k")


def map_interfaces_detail(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """IOS ``show interfaces``, NX-OS ``show interface``, EOS ``show interfaces``."""
    name = row["interface"]
    admin, oper = _status_words(text(row.get("link_status")), text(row.get("protocol_status")))
    if ctx.platform == "cisco_nxos":
        state = (text(row.get("admin_state")) or "").lower()
        admin = "down" if state.startswith("down") else ("up" if state else admin)
        oper = "up" if (text(row.get("link_status")) or "").lower() == "up" else "down"
    yield _iface(
        ctx,
        name,
        description=text(row.get("description")),
        admin_status=admin,
        oper_status=oper,
        mtu=int(row["mtu"]) if text(row.get("mtu")) else None,
        mac=text(row.get("mac_address")),
        speed_mbps=_detail_speed(name, row),
        if_index=if_index(row),
    )
    address = text(row.get("ip_address"))
    if address:
        prefix = text(row.get("prefix_length"))
        yield _address(ctx, name, address if "/" in address else f"{address}/{prefix}", row=row)


def map_ios_ip_interface(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """IOS ``show ip interface``: every address with its prefix length, and the VRF."""
    prefixes = row.get("prefix_length") or []
    for address, prefix in zip(row.get("ip_address") or [], prefixes, strict=False):
        if address and prefix:
            yield _address(ctx, row["interface"], f"{address}/{prefix}", text(row.get("vrf")), row)


def map_nxos_ip_interface(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """NX-OS ``show ip interface [vrf all]``: primary and secondary addresses per VRF."""
    vrf = text(row.get("vrf")) or text(row.get("vrf_name"))
    primary = text(row.get("ip_address")) or text(row.get("primary_ip_address"))
    subnet = text(row.get("subnet")) or text(row.get("primary_ip_subnet"))
    secondary = zip(
        row.get("secondary_ip_address") or [], row.get("secondary_ip_subnet") or [], strict=False
    )
    pairs = [(primary, subnet), *secondary]
    for address, net in pairs:
        if address and net and "/" in net:
            yield _address(ctx, row["interface"], f"{address}/{net.split('/')[1]}", vrf)


def map_eos_ip_brief(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """EOS ``show ip interface brief`` prints the prefix length; IOS/NX-OS do not."""
    address = text(row.get("ip_address"))
    if address and "/" in address:
        yield _address(ctx, row["interface"], address)


def map_junos_interfaces(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """Junos ``show interfaces`` (our template): physical ports and logical units."""
    name = row["interface"]
    canonical = canonical_interface_name(name, ctx.platform)
    physical = "." not in name
    flags = (text(row.get("flags")) or "").split()
    fields: dict[str, Any] = {
        "description": text(row.get("description")),
        "mac": text(row.get("mac_address")),
        "mtu": int(row["mtu"]) if (text(row.get("mtu")) or "").isdigit() else None,
        "speed_mbps": speed_mbps(row.get("speed")),
        "if_index": if_index(row),
    }
    if physical:
        state = (text(row.get("admin_state")) or "").lower()
        fields["admin_status"] = "up" if state == "enabled" else ("down" if state else None)
        link = (text(row.get("link_status")) or "").lower()
        fields["oper_status"] = link or None
    else:
        fields["oper_status"] = "up" if "Up" in flags else ("down" if "Down" in flags else None)
        base = name.split(".", 1)[0]
        if canonical != canonical_interface_name(base, ctx.platform):
            fields["parent"] = canonical_interface_name(base, ctx.platform)
        if "inet" in (row.get("protocols") or []) or "inet6" in (row.get("protocols") or []):
            fields["mode"] = "routed"
    yield _iface(ctx, name, **fields)
    for dest, local in zip(row.get("destination") or [], row.get("local") or [], strict=False):
        if "/" in dest:
            yield _address(ctx, name, f"{local}/{dest.rsplit('/', 1)[1]}")
    for local in (row.get("local") or [])[len(row.get("destination") or []) :]:
        bits = 32 if ipaddress.ip_address(local).version == 4 else 128
        yield _address(ctx, name, f"{local}/{bits}")


def map_ip_brief_status(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """IOS/NX-OS ``show ip interface brief``: status only (it prints no prefix length)."""
    status = (text(row.get("status")) or "").lower()
    proto = (text(row.get("proto")) or "").lower()
    if ctx.platform == "cisco_ios":
        admin = "down" if status.startswith("administratively") else "up"
    else:  # NX-OS prints admin-up / admin-down
        admin = "down" if "down" in status else "up"
    oper = "up" if proto.endswith("up") else "down"
    yield _iface(ctx, row["interface"], admin_status=admin, oper_status=oper)


_TAGGING = ("tagged", "untagged")


def _member(line: str, ctx: DeviceContext) -> tuple[str, int | None, str | None]:
    """``SERVERS  100  294912  0  Forwarding  untagged`` (ELS) or ``vlan200  200  tagged
    blocked by STP`` (legacy) -> name, tag (from the VLAN table when not printed), tagging."""
    tokens = line.split()
    name = tokens[0]
    tag = int(tokens[1]) if len(tokens) > 1 and tokens[1].isdigit() else ctx.vlan_tags.get(name)
    tagging = next((t for t in tokens[1:] if t in _TAGGING), None)
    return name, tag, tagging


def map_junos_switching_interface(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """Junos ``show ethernet-switching interface`` (our template): access or trunk, VLANs.

    ELS prints the port's own tagging: ``tagged`` is a trunk (its untagged member, if any,
    the native VLAN), ``untagged`` an access port (a tagged member then is a voice VLAN).
    The legacy layout does not: a port with a tagged member is a trunk."""
    members = [_member(line, ctx) for line in row.get("member") or []]
    own = text(row.get("interface_tagging"))
    tagged = [tag for _, tag, how in members if how == "tagged" and tag]
    untagged = [tag for _, tag, how in members if how != "tagged" and tag]
    trunk = own == "tagged" if own else bool(tagged)
    fields: dict[str, Any]
    if trunk:
        fields = {"mode": "trunk", "trunk_vlans": tuple(sorted(set(tagged)))}
        if untagged:
            fields["native_vlan"] = untagged[0]
    else:
        fields = {"mode": "access"}
        if untagged:
            fields["access_vlan"] = untagged[0]
        if tagged:
            fields["voice_vlan"] = tagged[0]
    yield _iface(ctx, row["interface"], **fields)
