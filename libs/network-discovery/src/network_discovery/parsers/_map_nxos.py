"""Row mappers for what only NX-OS prints: ``show interface brief`` (text and JSON rows) and
the switchport mode and port-channel of ``show interface``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from network_discovery.model import FactKind, canonical_interface_name
from network_discovery.parsers import _map_inventory as inv
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._values import speed_mbps, text

__all__ = ["map_nxos_interface", "map_nxos_interface_brief"]

Row = dict[str, Any]
_MODES = frozenset({"access", "trunk", "routed"})
#: ``10G(D)``, ``a-1000(S)``: the rate mode (dedicated, shared) after the speed.
_RATE_MODE = re.compile(r"\([A-Za-z]\)$")
#: ``Ethernet1/3.2`` -> ``Ethernet1/3``.
_SUBINTERFACE = re.compile(r"^(?P<parent>.*\d)\.\d+$")


def _iface(ctx: DeviceContext, name: str, **fields: Any) -> Partial:
    canonical = canonical_interface_name(name, ctx.platform)
    values = {k: v for k, v in fields.items() if v is not None}
    return Partial(FactKind.INTERFACES, {"name": canonical, **values}, key=canonical)


def _lag(value: object, ctx: DeviceContext) -> str | None:
    """The port-channel a member belongs to: ``3``, ``Po3`` or ``port-channel3``."""
    raw = text(value)
    if raw is None:
        return None
    return canonical_interface_name(f"port-channel{raw}" if raw.isdigit() else raw, ctx.platform)


def _mode(value: object) -> str | None:
    mode = (text(value) or "").lower()
    return mode if mode in _MODES else None


def _states(status: str | None, reason: str | None) -> tuple[str | None, str | None]:
    """(admin, oper) from the brief's Status and Reason columns: a port is down by its
    own configuration only when the reason says so."""
    state = (status or "").lower()
    if not state:
        return None, None
    oper = "up" if state == "up" else "down"
    admin_down = "administratively" in (reason or "").lower() or state.startswith("admin")
    return ("down" if admin_down else "up"), ("down" if admin_down else oper)


def _vlan(value: object) -> int | None:
    raw = text(value) or ""
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 4094 else None


def map_nxos_interface_brief(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """``show interface brief``: status, speed, MTU, switchport mode (the VLAN column is the
    access VLAN of an access port, the native VLAN of a trunk), port-channel membership."""
    name = row["interface"]
    canonical = canonical_interface_name(name, ctx.platform)
    admin, oper = _states(text(row.get("status")), text(row.get("reason")))
    mode = _mode(row.get("mode"))
    vlan = _vlan(row.get("vlan_id"))
    speed = _RATE_MODE.sub("", text(row.get("speed")) or "")
    mtu = text(row.get("mtu")) or ""
    sub = _SUBINTERFACE.match(canonical)
    lag = _lag(row.get("portch"), ctx)
    yield _iface(
        ctx,
        name,
        description=text(row.get("description")),
        admin_status=admin,
        oper_status=oper,
        speed_mbps=speed_mbps(speed),
        mtu=int(mtu) if mtu.isdigit() else None,
        mode=mode,
        access_vlan=vlan if mode == "access" else None,
        native_vlan=vlan if mode == "trunk" else None,
        lag=lag if lag != canonical else None,
        parent=sub["parent"] if sub else None,
    )


def map_nxos_interface(row: Row, ctx: DeviceContext) -> Iterator[Partial]:
    """``show interface`` (text or JSON): what the shared mapper reads, and the switchport
    mode (``Port mode is trunk``, ``eth_mode``) and the port-channel (``eth_bundle``)."""
    yield from inv.map_interfaces_detail(row, ctx)
    canonical = canonical_interface_name(row["interface"], ctx.platform)
    lag = _lag(row.get("bundle"), ctx)
    fields = {"mode": _mode(row.get("mode")), "lag": lag if lag != canonical else None}
    if any(v is not None for v in fields.values()):
        yield _iface(ctx, canonical, **fields)
