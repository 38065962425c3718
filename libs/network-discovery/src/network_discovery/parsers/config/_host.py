"""A host described as JSON: its name, interfaces with their address and default gateway,
and the packet filter file it runs (the host format of Batfish snapshots)::

    {"hostname": "host1", "iptablesFile": "iptables/host1.iptables",
     "hostInterfaces": {"eth0": {"name": "eth0", "prefix": "2.128.0.101/24",
                                  "gateway": "2.128.0.1"}}}

Facts: the device, each interface (up unless ``"shutdown": true``) with its address and
``otherPrefixes``, the connected subnets, and a default route through each ``gateway``,
marked ``derived``. ``iptablesFile`` is read by the directory reader (see
:mod:`network_discovery.parsers._layout`), not here.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from network_discovery.model import FactKind
from network_discovery.parsers._context import DeviceContext, Partial
from network_discovery.parsers._map_inventory import _address, _iface
from network_discovery.parsers._map_routes import _hop, _route

__all__ = ["read_host_json"]

Problems = list[tuple[int, str]]
#: More interfaces than this in one host file is not a host.
MAX_INTERFACES = 4096


def _derived(route: Partial) -> Partial:
    return Partial(route.kind, {**route.value, "origin": "derived"}, key=route.key)


def _interface(ctx: DeviceContext, key: str, spec: Any, problems: Problems) -> list[Partial]:
    if not isinstance(spec, dict):
        problems.append((1, f"hostInterfaces.{key[:64]}: expected an object"))
        return []
    name = str(spec.get("name") or key)[:64]
    down = spec.get("shutdown") is True
    out = [_iface(ctx, name, admin_status="down" if down else "up")]
    prefixes = [spec.get("prefix"), *(spec.get("otherPrefixes") or [])]
    for prefix in prefixes:
        if prefix is None:
            continue
        try:
            address = ipaddress.ip_interface(str(prefix))
        except ValueError:
            problems.append(
                (1, f"hostInterfaces.{name}: {str(prefix)[:64]!r} is not an address/len")
            )
            continue
        out.append(_address(ctx, name, address.with_prefixlen))
        if not down:
            route = _route(ctx, None, str(address.network), "connected", _hop(None, name), "0")
            out.append(_derived(route))
    gateway = spec.get("gateway")
    if gateway is not None and not down:
        try:
            hop = ipaddress.ip_address(str(gateway))
        except ValueError:
            problems.append(
                (1, f"hostInterfaces.{name}: gateway {str(gateway)[:64]!r} is not an address")
            )
        else:
            default = "0.0.0.0/0" if hop.version == 4 else "::/0"
            route = _route(ctx, None, default, "static", _hop(str(hop), name), "1")
            out.append(_derived(route))
    return out


def read_host_json(text: str, ctx: DeviceContext) -> tuple[list[Partial], Problems]:
    problems: Problems = []
    try:
        data = json.loads(text)
    except ValueError as exc:
        return [], [(getattr(exc, "lineno", 1), f"not valid JSON: {exc}")]
    if not isinstance(data, dict) or not isinstance(data.get("hostInterfaces", {}), dict):
        return [], [(1, "expected an object with hostInterfaces")]
    out: list[Partial] = []
    hostname = data.get("hostname")
    device = {
        "platform": ctx.platform,
        "reported_hostname": str(hostname)[:255] if hostname else None,
    }
    out.append(Partial(FactKind.DEVICE, {k: v for k, v in device.items() if v}))
    interfaces = data.get("hostInterfaces") or {}
    if len(interfaces) > MAX_INTERFACES:
        return [], [(1, f"{len(interfaces)} interfaces: more than {MAX_INTERFACES}")]
    for key, spec in interfaces.items():
        out += _interface(ctx, str(key), spec, problems)
    return out, problems
