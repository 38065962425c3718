"""What path analysis walks over: layer-3 interfaces, endpoints, routes and policies.

Built once from the graph (see ``catalogue/firewall``) and kept while the graph does not
change. Addresses are indexed for owner lookups, subnets for "who is connected to this
address", and a device graph over shared subnets serves as the fallback where a device has
no routing table.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from meshq_graph_engine.firewall._endpoints import (
    EndpointAddress,
    Endpoints,
    EndpointTable,
)
from meshq_graph_engine.firewall._intervals import _v4
from meshq_graph_engine.firewall.policy import Decision, Flow, RuleSet
from meshq_graph_engine.firewall.routes import RouteTable, vrf_name

__all__ = [
    "Binding",
    "DevicePolicy",
    "EndpointAddress",
    "EndpointTable",
    "Endpoints",
    "L3Interface",
    "Topology",
]


@dataclass(frozen=True, slots=True)
class L3Interface:
    device: str
    interface: str
    ip: str
    network: str
    vrf: str = "default"


@dataclass(frozen=True)
class Binding:
    """Where a rule set applies. ``in``/``out``: traffic entering/leaving through
    ``interface`` (every interface when None); ``transit``: every flow through the device,
    judged by its zones; ``local_in``/``local_out``: traffic to/from the device itself.

    An iptables built-in chain also names its ``table`` and ``hook`` (and the address
    ``family`` it sees): a device with such bindings is judged chain by chain in the
    kernel's order (``netfilter``), not by direction."""

    rule_set: RuleSet
    direction: str = "transit"
    interface: str | None = None
    table: str | None = None
    hook: str | None = None
    family: int | None = None


@dataclass
class DevicePolicy:
    device: str
    zones: dict[str, str] = field(default_factory=dict)  # interface -> zone
    bindings: Sequence[Binding] = ()

    def zone_of(self, interface: str | None) -> str | None:
        return self.zones.get(interface) if interface else None

    @property
    def netfilter(self) -> bool:
        """Whether its rule sets are netfilter chains (judged by ``firewall.netfilter``)."""
        return any(b.hook is not None for b in self.bindings)

    def chains(self, table: str, hook: str, family: int) -> list[Binding]:
        """The built-in chain ``hook`` of ``table`` for packets of ``family`` (4 or 6)."""
        return [
            b
            for b in self.bindings
            if b.table == table and b.hook == hook and b.family in (None, family)
        ]

    def applicable(
        self, ingress: str | None, egress: str | None, *, to_self: bool, from_self: bool
    ) -> list[Binding]:
        """In evaluation order: ingress filters, then the device's own policy (transit, or
        local in/out), then egress filters. A packet the device sends itself crosses no
        ingress filter, and (as on IOS) no outbound ACL either. Netfilter chains (bindings
        with a hook) are not among them: ``firewall.netfilter`` orders those."""

        def on(b: Binding, interface: str | None) -> bool:
            return interface is not None and b.interface in (None, interface)

        middle = {"local_in"} if to_self else {"local_out"} if from_self else {"transit"}
        if to_self and from_self:
            middle = {"local_out", "local_in"}
        bindings = [b for b in self.bindings if b.hook is None]
        first = [b for b in bindings if b.direction == "in" and on(b, ingress)]
        mid = [b for b in bindings if b.direction in middle]
        last = [b for b in bindings if b.direction == "out" and on(b, egress) and not from_self]
        return first + mid + last

    def evaluate(
        self,
        flow: Flow,
        ingress: str | None,
        egress: str | None,
        *,
        to_self: bool = False,
        from_self: bool = False,
    ) -> list[Decision]:
        """Each applicable rule set's decision, in order; a deny ends the list."""
        flow = flow.in_zones(self.zone_of(ingress), self.zone_of(egress))
        out: list[Decision] = []
        for binding in self.applicable(ingress, egress, to_self=to_self, from_self=from_self):
            decision = binding.rule_set.evaluate(flow)
            out.append(decision)
            if not decision.allowed:
                break
        return out


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text, strict=False)


Span = tuple[int, int, int, int, str]


@lru_cache(maxsize=65_536)
def _span(text: str) -> Span:
    """(IP version, first address, last address, prefix length, the network written as
    ``ipaddress`` writes it) of a subnet; plain IPv4 read without ``ipaddress``."""
    fast = _v4(text)
    if fast is not None:
        first, last = fast
        length = 32 - (last - first).bit_length()
        dotted = ".".join(str(first >> s & 255) for s in (24, 16, 8, 0))
        return 4, first, last, length, f"{dotted}/{length}"
    n = _net(text)
    return n.version, int(n.network_address), int(n.broadcast_address), n.prefixlen, str(n)


def _interface_order(i: L3Interface) -> tuple[str, str, str, str, str]:
    return (i.device, i.interface, i.ip, i.network, i.vrf)


class Topology:
    """Interfaces and endpoints indexed for lookups, with each device's routes and policy.

    Every list an index holds is kept in one order (device, interface, address), so that a
    topology built whole and one brought up to date change by change (:meth:`replace_devices`,
    :meth:`replace_endpoints`) answer alike."""

    def __init__(
        self,
        interfaces: Iterable[L3Interface],
        endpoints: Iterable[EndpointAddress] = (),
        routes: dict[str, RouteTable] | None = None,
        policies: dict[str, DevicePolicy] | None = None,
        *,
        endpoint_table: EndpointTable | None = None,
    ) -> None:
        self.routes = routes or {}
        self.policies = policies or {}
        self.by_ip: dict[str, list[L3Interface]] = defaultdict(list)
        self.by_device: dict[str, list[L3Interface]] = defaultdict(list)
        self.by_network: dict[tuple[str, str], list[L3Interface]] = defaultdict(list)
        #: per device: (version, first, last, prefix length, interface) of each subnet
        self._spans: dict[str, list[tuple[int, int, int, int, L3Interface]]] = defaultdict(list)
        # interfaces by (version, prefix length) and network, for "who is connected to this"
        self._nets: dict[int, dict[int, list[L3Interface]]] = defaultdict(lambda: defaultdict(list))
        self._net_keys: list[int] = []
        self._adjacent: dict[str, list[tuple[str, L3Interface, L3Interface]]] | None = None
        self.endpoints = Endpoints(endpoint_table)
        self.replace_devices((), interfaces)
        self.replace_endpoints((), endpoints)

    @property
    def interfaces(self) -> list[L3Interface]:
        return [i for device in sorted(self.by_device) for i in self.by_device[device]]

    def replace_devices(self, devices: Iterable[str], interfaces: Iterable[L3Interface]) -> None:
        """Drop the layer-3 interfaces of ``devices`` and add ``interfaces`` (theirs now)."""
        gone = set(devices)
        ips: set[str] = set()
        networks: set[tuple[str, str]] = set()
        nets: set[tuple[int, int]] = set()
        for device in gone:
            for i, (version, first, _, length, _) in zip(
                self.by_device.pop(device, ()), self._spans.pop(device, ()), strict=True
            ):
                ips.add(i.ip)
                networks.add((i.network, i.vrf))
                nets.add((version * 1000 + length, first))
        for ip in ips:
            self.by_ip[ip] = [i for i in self.by_ip[ip] if i.device not in gone]
        for network in networks:
            self.by_network[network] = [i for i in self.by_network[network] if i.device not in gone]
        for k, base in nets:
            self._nets[k][base] = [i for i in self._nets[k][base] if i.device not in gone]
        devices_now: set[str] = set()
        for given in interfaces:
            version, _, _, length, text = _span(given.network)
            i = L3Interface(given.device, given.interface, given.ip, text, vrf_name(given.vrf))
            devices_now.add(i.device)
            self.by_ip[i.ip].append(i)
            ips.add(i.ip)
            self.by_device[i.device].append(i)
            self.by_network[(i.network, i.vrf)].append(i)
            networks.add((i.network, i.vrf))
            slot = (version * 1000 + length, _span(text)[1])
            self._nets[slot[0]][slot[1]].append(i)
            nets.add(slot)
        for device in devices_now:
            self.by_device[device].sort(key=_interface_order)
            spans: list[tuple[int, int, int, int, L3Interface]] = []
            for i in self.by_device[device]:
                version, first, last, length, _ = _span(i.network)
                spans.append((version, first, last, length, i))
            self._spans[device] = spans
        for ip in ips:
            if self.by_ip[ip]:
                self.by_ip[ip].sort(key=_interface_order)
            else:
                del self.by_ip[ip]
        for network in networks:
            if self.by_network[network]:
                self.by_network[network].sort(key=_interface_order)
            else:
                del self.by_network[network]
        for k, base in nets:
            members = self._nets[k][base]
            if members:
                members.sort(key=_interface_order)
            else:
                del self._nets[k][base]
                if not self._nets[k]:
                    del self._nets[k]
        self._net_keys = sorted(self._nets, reverse=True)
        self._adjacent = None

    def replace_endpoints(self, macs: Iterable[str], endpoints: Iterable[EndpointAddress]) -> None:
        """Drop the addresses of the endpoints ``macs`` and add ``endpoints`` (theirs now)."""
        self.endpoints.replace(macs, endpoints)

    # --- lookups ----------------------------------------------------------------------

    def containing(self, address: str, vrf: str | None = None) -> list[L3Interface]:
        """Interfaces whose subnet contains ``address``: only the most specific subnets."""
        ip = ipaddress.ip_address(address)
        for key in self._net_keys:
            version, length = divmod(key, 1000)
            if version != ip.version:
                continue
            shift = ip.max_prefixlen - length
            members = self._nets[key].get((int(ip) >> shift) << shift if length else 0, ())
            found = [i for i in members if vrf is None or i.vrf == vrf]
            if found:
                return sorted(found, key=lambda i: (i.device, i.interface))
        return []

    def owners(self, address: str, vrf: str | None = None) -> list[L3Interface]:
        found = self.by_ip.get(address, [])
        same = [i for i in found if vrf is None or i.vrf == vrf]
        return same or list(found)

    def device_interface(self, device: str, name: str | None) -> L3Interface | None:
        return next((i for i in self.by_device.get(device, ()) if i.interface == name), None)

    def connected(self, device: str, address: str, vrf: str) -> L3Interface | None:
        """The device's interface, in ``vrf``, whose subnet is the most specific for address."""
        ip = ipaddress.ip_address(address)
        version, value = ip.version, int(ip)
        best: L3Interface | None = None
        best_len = -1
        for v, first, last, length, i in self._spans.get(device, ()):
            if v == version and first <= value <= last and length > best_len and i.vrf == vrf:
                best, best_len = i, length
        return best

    # --- the shared-subnet fallback -----------------------------------------------------

    def adjacent(self, device: str) -> list[tuple[str, L3Interface, L3Interface]]:
        """(neighbour, own interface, neighbour's interface) for every shared subnet."""
        if self._adjacent is None:
            adj: dict[str, list[tuple[str, L3Interface, L3Interface]]] = defaultdict(list)
            for (network, _), members in self.by_network.items():
                if _net(network).num_addresses == 1:
                    continue  # a /32 or /128 (a loopback, a duplicated one) is no shared link
                for a in members:
                    for b in members:
                        if a.device != b.device:
                            adj[a.device].append((b.device, a, b))
            for items in adj.values():
                items.sort(key=lambda t: (t[0], _interface_order(t[1]), _interface_order(t[2])))
            self._adjacent = adj
        return self._adjacent.get(device, [])

    def prepare(self) -> None:
        """Build now what the first question would otherwise build (the shared-subnet map)."""
        self.adjacent("")

    def distances_to(self, targets: set[str]) -> dict[str, int]:
        """Hops over shared subnets from every device to the nearest of ``targets``."""
        dist = dict.fromkeys(targets, 0)
        queue = deque(sorted(targets))
        while queue:
            device = queue.popleft()
            for neighbour, _, _ in self.adjacent(device):
                if neighbour not in dist:
                    dist[neighbour] = dist[device] + 1
                    queue.append(neighbour)
        return dist

    def describe_owner(self, address: str) -> dict[str, Any]:
        out: dict[str, Any] = dict.fromkeys(("device", "interface", "vrf", "mac"))
        owners = self.by_ip.get(address)
        if owners:
            o = owners[0]
            out.update(kind="interface", device=o.device, interface=o.interface, vrf=o.vrf)
        elif eps := self.endpoints.get(address):
            e = eps[0]
            out.update(kind="endpoint", mac=e.mac, device=e.device, interface=e.interface)
        else:
            out["kind"] = "unknown"
        out["gateways"] = []
        return out
