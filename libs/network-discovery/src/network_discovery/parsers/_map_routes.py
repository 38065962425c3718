"""Routing-table rows (``show ip route`` on IOS, NX-OS, EOS; ``show route`` on Junos) into
route partials. Rows of one route (ECMP next hops on several rows) share a key and are
merged into one :class:`~network_discovery.model.Route` when the device's facts are stored."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from network_discovery.model import FactKind, ids
from network_discovery.parsers._context import DeviceContext, Partial

__all__ = ["map_eos_route", "map_ios_route", "map_junos_route", "map_nxos_route"]

_IOS = {"C": "connected", "L": "local", "S": "static", "O": "ospf", "B": "bgp", "D": "eigrp",
        "i": "isis", "R": "rip"}  # fmt: skip
_EOS = {"C": "connected", "S": "static", "O": "ospf", "B": "bgp", "I": "isis", "R": "rip",
        "A": "aggregate"}  # fmt: skip
_NAMED = {"direct": "connected", "local": "local", "static": "static", "ospf": "ospf",
          "ospf3": "ospf", "ospfv3": "ospf", "bgp": "bgp", "eigrp": "eigrp", "isis": "isis",
          "is-is": "isis", "rip": "rip", "ripng": "rip", "aggregate": "aggregate"}  # fmt: skip
_DISCARD = {"null0", "discard", "reject"}
_JUNOS_TABLE = re.compile(r"^(?:(?P<vrf>.+)\.)?inet6?\.0$")
_JUNOS_HOP = re.compile(r"^(?:Local\s+)?(?:to\s+(?P<address>\S+)\s+)?via\s+(?P<interface>\S+)")


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _route(
    ctx: DeviceContext,
    vrf: str | None,
    prefix: str,
    protocol: str,
    hops: list[dict[str, str]],
    distance: Any = None,
    metric: Any = None,
) -> Partial:
    network = str(ipaddress.ip_network(prefix, strict=False))
    vrf = None if not vrf or vrf == ids.DEFAULT_VRF else vrf
    value = {
        "device": ctx.device,
        "vrf": vrf,
        "prefix": network,
        "protocol": protocol,
        "next_hops": hops,
        "distance": _int(distance),
        "metric": _int(metric),
    }
    return Partial(FactKind.ROUTES, value, key=ids.route_id(ctx.device, network, protocol, vrf))


def _hop(
    address: str | None, interface: str | None, vrf: str | None = None
) -> list[dict[str, str]]:
    if interface and interface.lower() in _DISCARD:
        return []
    hop = {k: v for k, v in (("address", address), ("interface", interface), ("vrf", vrf)) if v}
    return [hop] if address or interface else []


def map_ios_route(row: dict[str, Any], ctx: DeviceContext) -> Iterator[Partial]:
    if not row["prefix_length"]:
        return
    prefix = f"{row['network']}/{row['prefix_length']}"
    protocol = _IOS.get(row["protocol"], "other")
    hops = _hop(row["nexthop_ip"] or None, row["nexthop_if"] or None, row["nexthop_vrf"] or None)
    yield _route(ctx, row["vrf"], prefix, protocol, hops, row["distance"], row["metric"])


def map_nxos_route(row: dict[str, Any], ctx: DeviceContext) -> Iterator[Partial]:
    if not row["network"] or not row["protocol"]:
        return
    prefix = f"{row['network']}/{row['prefix_length']}"
    protocol = _NAMED.get(row["protocol"].split("-", 1)[0].lower(), "other")
    # a directly connected route names the device's own address as "via": not a gateway
    address = None if protocol in ("connected", "local") else row["nexthop_ip"] or None
    hops = _hop(address, row["nexthop_if"] or None, row["nexthop_vrf"] or None)
    yield _route(ctx, row["vrf"], prefix, protocol, hops, row["distance"], row["metric"])


def map_eos_route(row: dict[str, Any], ctx: DeviceContext) -> Iterator[Partial]:
    prefix = f"{row['network']}/{row['prefix_length']}"
    code = (row["protocol"] or "").strip()
    protocol = _EOS.get(code[:1], "other")
    hops: list[dict[str, str]] = []
    for address, interface in zip(row["next_hop"], row["interface"], strict=False):
        hops += _hop(None if address == "connected" else address, interface.strip() or None)
    yield _route(ctx, row["vrf"], prefix, protocol, hops, row["distance"], row["metric"])


def map_junos_route(row: dict[str, Any], ctx: DeviceContext) -> Iterator[Partial]:
    """Active routes of the unicast tables (``inet.0``, ``inet6.0``, ``<vrf>.inet.0``)."""
    table = _JUNOS_TABLE.match(row["table"] or "")
    # "*" active, "+" the one in use, "#" forwarding use only ("@", routing use only, is not
    # forwarded); ":vxlan.inet.0" and other ":" tables are the box's own, not a VRF
    if table is None or row["active"] not in ("*", "+", "#"):
        return
    if (table["vrf"] or "").startswith(":"):
        return
    hops: list[dict[str, str]] = []
    for text in row["hop"]:
        match = _JUNOS_HOP.match(text)
        if match:
            hops += _hop(match["address"], match["interface"])
        elif text not in ("Discard", "Reject"):
            return  # multicast receive, next table, indirect: no forwarding next hop
    protocol = _NAMED.get(row["protocol"].lower(), "other")
    yield _route(ctx, table["vrf"], row["prefix"], protocol, hops, row["preference"], row["metric"])
