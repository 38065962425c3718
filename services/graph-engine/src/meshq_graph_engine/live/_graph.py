"""The graph kept up to date from fact-set changes: derive again only what a change touches.

:meth:`LiveGraph.update` takes the fact sets a snapshot replaced (their rows before and
after) and re-derives the keys they reach:

- the device index (collected devices, their MACs and addresses), and from it the neighbour
  entries that resolve against a changed name, MAC, address or device;
- the links, sightings and degree of every pair of devices whose entries (either way) or
  declared links changed, and the unmanaged devices those entries describe;
- every MAC whose placement may move: its MAC-table or ARP entries changed, a port it is on
  changed status (uplink, trunk, LAG) or count, it or one of its addresses became the
  network's own, or its collection time moved;
- the subnets of changed addresses; interfaces and devices whose sources changed (facts,
  references from links, addresses and endpoints, unmanaged neighbours); VLANs, BGP peers and
  policy of changed devices, and relationships drawn only where a device or interface exists.

It writes the projection in place and keeps each touched key's row from before the change,
so the change's :class:`~meshq_graph_engine.diff.GraphDiff` covers the touched keys only.
:meth:`LiveGraph.build` runs the same derivation over every fact set at once.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meshq_graph_engine._gc import collector_paused
from meshq_graph_engine._policy import POLICY_KINDS, device_policy
from meshq_graph_engine.diff import GraphDiff, diff_touched
from meshq_graph_engine.fabric import FABRIC_KINDS, FabricView
from meshq_graph_engine.facts import FactKey, FactRow, FactStore
from meshq_graph_engine.live._endpoints import EndpointIndex, PortView
from meshq_graph_engine.live._index import (
    Claim,
    DeviceEntry,
    IndexChanges,
    ObserverIndex,
    ResolutionIndex,
)
from meshq_graph_engine.live._neighbours import EMPTY, PairOut, derive_pair, unmanaged_device
from meshq_graph_engine.live._rows import (
    address_row,
    bgp_row,
    device_row,
    implicit_device,
    implicit_interface,
    json_time,
    unmanaged_row,
)
from meshq_graph_engine.projection import (
    NODE_PROPS,
    REL_PROPS,
    NodeRow,
    Projection,
    RelKey,
    RelRow,
    shape_node,
)

__all__ = ["FactChange", "LiveGraph"]

#: A fact set a change declared: its rows and collection time before the change.
FactChange = tuple[tuple[FactRow, ...], str | None]
Pair = tuple[str, str]

_EP = {p: i for i, p in enumerate(NODE_PROPS["Endpoint"])}
_INDEXED = ("device", "interfaces", "ip_addresses")


_intern = sys.intern


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


@dataclass
class _Pass:
    """What one update has to derive again."""

    index: IndexChanges = field(default_factory=IndexChanges)
    pairs: set[Pair] = field(default_factory=set)
    uplinks: set[Pair] = field(default_factory=set)
    unmanaged: set[str] = field(default_factory=set)
    macs: set[str] = field(default_factory=set)
    ports: set[str] = field(default_factory=set)
    subnets: set[str] = field(default_factory=set)
    ifaces: set[str] = field(default_factory=set)
    iface_facts: dict[str, FactRow] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    sees: set[RelKey] = field(default_factory=set)
    own: set[str] = field(default_factory=set)
    #: devices and interfaces that appeared or disappeared
    appeared: set[str] = field(default_factory=set)
    iface_devices: set[str] = field(default_factory=set)


@dataclass
class _Own:
    """The nodes and relationships one device's VLANs, BGP peers and policy gave."""

    nodes: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    rels: dict[str, set[RelKey]] = field(default_factory=lambda: defaultdict(set))


class LiveGraph:
    """The projection of a :class:`FactStore`, with what it takes to keep it up to date."""

    def __init__(self, facts: FactStore) -> None:
        self.facts = facts
        self.projection = Projection()
        self.index = ResolutionIndex(facts)
        self.observers = ObserverIndex()
        self.endpoints = EndpointIndex(self.index, facts)
        #: observer -> remote device -> its resolved entries toward it (in entry order)
        self.claims: dict[str, dict[str, list[Claim]]] = {}
        #: remote device -> observers with entries toward it
        self.seen_by: dict[str, set[str]] = {}
        #: pair -> (declaring device, place in its set) -> declared link
        self.declared: dict[Pair, dict[tuple[str, int], FactRow]] = {}
        self.pairs: dict[Pair, PairOut] = {}
        self.pair_uplinks: dict[Pair, tuple[str, ...]] = {}
        #: device -> devices it has a link with
        self.linked: dict[str, set[str]] = {}
        self.unmanaged: dict[str, NodeRow] = {}
        self.iface_refs: dict[str, int] = {}
        #: interfaces whose row is not (or no longer) from an interface fact
        self.implicit: set[str] = set()
        self.iface_count: dict[str, int] = {}
        #: subnet -> address node -> (the address's place, the subnet row it gives)
        self.subnets: dict[str, dict[str, tuple[tuple[str, int], NodeRow]]] = {}
        #: MAC -> (declaring device, place) -> a declared endpoint's row
        self.declared_endpoints: dict[str, dict[tuple[str, int], NodeRow]] = {}
        self.unlocated: set[str] = set()
        self.arp_times: dict[str, int] = {}
        self.sightings: dict[RelKey, RelRow] = {}
        self.sightings_by_remote: dict[str, set[RelKey]] = {}
        self.own: dict[str, _Own] = {}
        self.fabric = FabricView()
        self._previous: Projection | None = None
        self._recording = False
        self._before_nodes: dict[str, dict[str, NodeRow | None]] = defaultdict(dict)
        self._before_rels: dict[str, dict[RelKey, RelRow | None]] = defaultdict(dict)

    # --- entry points -----------------------------------------------------------------

    @classmethod
    def build(cls, facts: FactStore, previous: Projection | None = None) -> LiveGraph:
        """The graph of every fact at once; ``previous`` keeps endpoints' first-seen times."""
        graph = cls(facts)
        graph._previous = previous
        try:
            with collector_paused():
                graph._run({key: ((), None) for key in facts.sets}, ())
        finally:
            graph._previous = None
        return graph

    def empty(self) -> bool:
        """Whether the graph holds nothing (no node, no relationship)."""
        return not any(self.projection.nodes.values()) and not any(self.projection.rels.values())

    def update(
        self, changes: Mapping[FactKey, FactChange], patched: Iterable[str] = ()
    ) -> GraphDiff:
        """Apply fact-set changes already made in the fact store (``changes``: each
        declared set's rows and time before) and patches of ``patched`` devices; the
        difference, over the keys they touched."""
        self._recording = True
        self._before_nodes.clear()
        self._before_rels.clear()
        try:
            with collector_paused():
                self._run(changes, patched)
                return diff_touched(self._before_nodes, self._before_rels, self.projection)
        finally:
            self._recording = False
            self._before_nodes.clear()
            self._before_rels.clear()

    # --- writes -----------------------------------------------------------------------

    def _rows(self, device: str, kind: str) -> tuple[FactRow, ...]:
        return self.facts.sets.get((device, kind), ())

    def _set_node(self, label: str, node_id: str, row: NodeRow | None) -> None:
        nodes = self.projection.nodes[label]
        current = nodes.get(node_id)
        if current == row:
            return
        if self._recording:
            self._before_nodes[label].setdefault(node_id, current)
        if row is None:
            del nodes[node_id]
        else:
            nodes[node_id] = row

    def _set_rel(self, name: str, key: RelKey, row: RelRow | None) -> None:
        rels = self.projection.rels[name]
        current = rels.get(key)
        if current == row:
            return
        if self._recording:
            self._before_rels[name].setdefault(key, current)
        if row is None:
            del rels[key]
        else:
            rels[key] = row

    def _ref(self, iface: str, step: int, st: _Pass) -> None:
        count = self.iface_refs.get(iface, 0) + step
        if count:
            self.iface_refs[iface] = count
        else:
            self.iface_refs.pop(iface, None)
        st.ifaces.add(iface)

    # --- the pass ---------------------------------------------------------------------

    def _run(self, changes: Mapping[FactKey, FactChange], patched: Iterable[str]) -> None:
        st = _Pass()
        st.devices.update(patched)
        sets, seen = self.facts.sets, self.facts.seen
        moved: dict[str, dict[str, tuple[tuple[FactRow, ...], tuple[FactRow, ...]]]] = {}
        latest_arp = max(self.arp_times) if self.arp_times else None
        for (device, kind), (old, old_seen) in changes.items():
            new = sets.get((device, kind), ())
            if kind == "arp":
                self._arp_time(old_seen if old else None, seen.get((device, kind)) if new else None)
            if old != new:
                moved.setdefault(device, {})[kind] = (old, new)
            elif kind == "mac_table" and new and old_seen != seen.get((device, kind)):
                st.macs.update(r.mac for r in new)  # re-collected: endpoints' times move
        # the device index, then every entry resolved against what it changed
        for device, kinds in moved.items():
            if any(k in kinds for k in _INDEXED):
                entry = DeviceEntry.of(
                    self._rows(device, "device"),
                    self._rows(device, "interfaces"),
                    self._rows(device, "ip_addresses"),
                )
                self.index.set_entry(device, entry, st.index)
            if "interfaces" in kinds:
                st.index.targets.add(device)
        observers = {d for d, kinds in moved.items() if "lldp" in kinds or "cdp" in kinds}
        observers |= self.observers.affected(st.index)
        for observer in observers:
            self._resolve(observer, st)
        for device, kinds in moved.items():
            if "links" in kinds:
                self._declared_links(device, *kinds["links"], st)
        for device in st.index.managed:
            st.uplinks.update(_pair(device, other) for other in self.linked.get(device, ()))
        for pair in st.pairs:
            self._derive_pair(pair, st)
        for pair in st.uplinks - st.pairs:
            self._count_uplinks(pair, st)
        for device in st.unmanaged:
            self._derive_unmanaged(device, st)
        # a device's own facts
        for device, kinds in moved.items():
            if "device" in kinds:
                st.devices.add(device)
            if "interfaces" in kinds:
                self._interfaces(device, *kinds["interfaces"], st)
            if "ip_addresses" in kinds:
                self._addresses(device, *kinds["ip_addresses"], st)
            if "endpoints" in kinds:
                self._declared_endpoints(device, *kinds["endpoints"], st)
            if "mac_table" in kinds:
                st.macs |= self.endpoints.replace_mac_table(device, *kinds["mac_table"])
            if "arp" in kinds:
                st.macs |= self.endpoints.replace_arp(device, *kinds["arp"])
            if any(k in kinds for k in ("vlans", "bgp", *POLICY_KINDS)):
                st.own.add(device)
        # MACs whose placement may have moved
        for mac in st.index.own_macs:
            st.macs.add(mac)
            st.ports.update(self.endpoints.ports_of(mac))
        for ip in st.index.own_ips:
            st.macs |= self.endpoints.arp_macs(ip)
        if (max(self.arp_times) if self.arp_times else None) != latest_arp:
            st.macs |= self.unlocated
        ports: set[str] = set()
        for port in st.ports:
            ports |= self.endpoints.group(port)
        st.macs |= self.endpoints.macs_on(ports)
        self.endpoints.deriving(st.macs)
        for mac in st.macs:
            self._endpoint(mac, st)
        for subnet in st.subnets:
            self._subnet(subnet)
        for iface in st.ifaces:
            self._interface(iface, st)
        for device in st.devices:
            self._device(device, st)
        if any(kind in FABRIC_KINDS for _, kind in changes) or (
            st.appeared and not self.fabric.empty
        ):  # the InfiniBand fabric, merged over every collector (meshq_graph_engine.fabric)
            self.fabric.refresh(
                self.facts, self.projection.nodes["Device"], self._set_node, self._set_rel
            )
        # relationships drawn only where their device or interface exists
        for device in st.appeared:
            st.sees |= self.sightings_by_remote.get(device, set())
        devices = self.projection.nodes["Device"]
        for key in st.sees:
            row = self.sightings.get(key)
            self._set_rel("SEES", key, row if row is not None and key[1] in devices else None)
        st.own |= st.appeared
        st.own |= {d for d in st.iface_devices if any(self._rows(d, k) for k in POLICY_KINDS)}
        for device in st.own:
            self._own(device)
        self.index.clear_caches()
        self.endpoints.clear_caches()

    # --- neighbours -------------------------------------------------------------------

    def _resolve(self, observer: str, st: _Pass) -> None:
        old = self.claims.pop(observer, {})
        new: dict[str, list[Claim]] = {}
        entries = (*self._rows(observer, "lldp"), *self._rows(observer, "cdp"))
        for seq, obs in enumerate(entries):
            claim = self.index.claim(obs, seq)
            new.setdefault(claim.remote, []).append(claim)
        if new:
            self.claims[observer] = new
        self.observers.register(observer, (c for cs in new.values() for c in cs))
        for remote in old.keys() | new.keys():
            before, after = old.get(remote), new.get(remote)
            if before == after:
                continue
            st.pairs.add(_pair(observer, remote))
            if any(not c.managed for c in (*(before or ()), *(after or ()))):
                st.unmanaged.add(remote)
            if after is None:
                group = self.seen_by[remote]
                group.discard(observer)
                if not group:
                    del self.seen_by[remote]
            elif before is None:
                self.seen_by.setdefault(remote, set()).add(observer)

    def _declared_links(
        self, device: str, old: Sequence[FactRow], new: Sequence[FactRow], st: _Pass
    ) -> None:
        for pos, row in enumerate(old):
            pair = _pair(row.a["device"], row.b["device"])
            links = self.declared[pair]
            del links[(device, pos)]
            if not links:
                del self.declared[pair]
            st.pairs.add(pair)
        for pos, row in enumerate(new):
            pair = _pair(row.a["device"], row.b["device"])
            self.declared.setdefault(pair, {})[(device, pos)] = row
            st.pairs.add(pair)

    def _derive_pair(self, pair: Pair, st: _Pass) -> None:
        a, b = pair
        claims = list(self.claims.get(a, {}).get(b, ()))
        if a != b:
            claims += self.claims.get(b, {}).get(a, ())
        declared = self.declared.get(pair, {})
        out = derive_pair(claims, [declared[k] for k in sorted(declared)])
        old = self.pairs.get(pair, EMPTY)
        if out.links or out.sightings or out.refs:
            self.pairs[pair] = out
        else:
            self.pairs.pop(pair, None)
        for key in old.links.keys() - out.links.keys():
            self._set_rel("CONNECTED_TO", key, None)
        for key, props in out.links.items():
            self._set_rel("CONNECTED_TO", key, props)
        for iface in old.refs - out.refs:
            self._ref(iface, -1, st)
        for iface in out.refs - old.refs:
            self._ref(iface, 1, st)
        for key in old.sightings.keys() - out.sightings.keys():
            del self.sightings[key]
            group = self.sightings_by_remote[key[1]]
            group.discard(key)
            if not group:
                del self.sightings_by_remote[key[1]]
            st.sees.add(key)
        for key, seen in out.sightings.items():
            if self.sightings.get(key) != seen:
                self.sightings[key] = seen
                self.sightings_by_remote.setdefault(key[1], set()).add(key)
                st.sees.add(key)
        if bool(old.links) != bool(out.links):
            for x, y in ((a, b), (b, a)):
                if out.links:
                    self.linked.setdefault(x, set()).add(y)
                elif x in self.linked:
                    partners = self.linked[x]
                    partners.discard(y)
                    if not partners:
                        del self.linked[x]
            st.devices.update(pair)
        self._count_uplinks(pair, st)

    def _count_uplinks(self, pair: Pair, st: _Pass) -> None:
        old = self.pair_uplinks.pop(pair, ())
        out = self.pairs.get(pair)
        managed = self.index.managed
        new = tuple(iface for _, iface, far in out.ends if far in managed) if out else ()
        for port in old:
            if self.endpoints.add_uplink(port, -1):
                st.ports.add(port)
        for port in new:
            if self.endpoints.add_uplink(port, 1):
                st.ports.add(port)
        if new:
            self.pair_uplinks[pair] = new

    def _derive_unmanaged(self, device: str, st: _Pass) -> None:
        claims = [
            c
            for observer in sorted(self.seen_by.get(device, ()))
            for c in self.claims[observer][device]
            if not c.managed
        ]
        data = unmanaged_device(claims) if claims else None
        row = unmanaged_row(data) if data is not None else None
        if row != self.unmanaged.get(device):
            if row is None:
                del self.unmanaged[device]
            else:
                self.unmanaged[device] = row
            st.devices.add(device)

    # --- a device's own facts ---------------------------------------------------------

    def _interfaces(
        self, device: str, old: Sequence[FactRow], new: Sequence[FactRow], st: _Pass
    ) -> None:
        rows = {_intern(f"{r.device}|{r.name}"): r for r in new}
        for iface, row in rows.items():
            st.iface_facts[iface] = row
            self.implicit.discard(iface)
            st.ifaces.add(iface)
        for r in old:
            iface = f"{r.device}|{r.name}"
            if iface not in rows:
                self.implicit.add(iface)
                st.ifaces.add(iface)
        before, after = PortView.of(old), PortView.of(new)
        st.ports |= before.trunks ^ after.trunks
        for port in before.groups.keys() | after.groups.keys():
            if before.groups.get(port) != after.groups.get(port):
                st.ports.add(port)

    def _addresses(
        self, device: str, old: Sequence[FactRow], new: Sequence[FactRow], st: _Pass
    ) -> None:
        def made(rows: Sequence[FactRow]) -> dict[str, tuple[Any, ...]]:
            out = {}
            for pos, r in enumerate(rows):
                node_id, node, subnet, subnet_row = address_row(r)
                iface = _intern(f"{r.device}|{r.interface}")
                out[node_id] = (node, subnet, subnet_row, iface, pos)
            return out

        before, after = made(old), made(new)
        for node_id, (_, subnet, _, iface, _) in before.items():
            if after.get(node_id) == before[node_id]:
                continue
            self._set_node("IPAddress", node_id, None)
            self._set_rel("HAS_IP", (iface, node_id), None)
            self._set_rel("IN_SUBNET", (node_id, subnet), None)
            self._ref(iface, -1, st)
            cands = self.subnets[subnet]
            del cands[node_id]
            if not cands:
                del self.subnets[subnet]
            st.subnets.add(subnet)
        for node_id, (node, subnet, subnet_row, iface, pos) in after.items():
            if before.get(node_id) == after[node_id]:
                continue
            self._set_node("IPAddress", node_id, node)
            self._set_rel("HAS_IP", (iface, node_id), ())
            self._set_rel("IN_SUBNET", (node_id, subnet), ())
            self._ref(iface, 1, st)
            self.subnets.setdefault(subnet, {})[node_id] = ((device, pos), subnet_row)
            st.subnets.add(subnet)

    def _declared_endpoints(
        self, device: str, old: Sequence[FactRow], new: Sequence[FactRow], st: _Pass
    ) -> None:
        for pos, row in enumerate(old):
            cands = self.declared_endpoints[row.mac]
            del cands[(device, pos)]
            if not cands:
                del self.declared_endpoints[row.mac]
            st.macs.add(row.mac)
        for pos, row in enumerate(new):
            self.declared_endpoints.setdefault(row.mac, {})[(device, pos)] = row
            st.macs.add(row.mac)

    def _arp_time(self, old: str | None, new: str | None) -> None:
        if old == new:
            return
        if old is not None:
            left = self.arp_times[old] - 1
            if left:
                self.arp_times[old] = left
            else:
                del self.arp_times[old]
        if new is not None:
            self.arp_times[new] = self.arp_times.get(new, 0) + 1

    # --- resolving nodes from their sources ---------------------------------------------

    def _endpoint(self, mac: str, st: _Pass) -> None:
        nodes = self.projection.nodes["Endpoint"]
        current = nodes.get(mac)
        derived = self.endpoints.derive(mac)
        row: NodeRow | None
        if derived is not None:
            if derived.device is not None:
                when = self.facts.seen.get((derived.device, "mac_table"))
            else:
                when = max(self.arp_times) if self.arp_times else None
            t = json_time(when)
            row = (mac, derived.ips, None, None, derived.device, derived.interface)
            row += (derived.vlan, t, t)
        else:
            declared = self.declared_endpoints.get(mac)
            row = declared[min(declared)] if declared else None
        before = current if self._previous is None else self._previous.nodes["Endpoint"].get(mac)
        first = _EP["first_seen"]
        if row is not None and before is not None and before[first]:
            if not row[first] or before[first] < row[first]:
                row = (*row[:first], before[first], *row[first + 1 :])
        self._set_node("Endpoint", mac, row)
        device, interface = _EP["device"], _EP["interface"]
        was = (
            f"{current[device]}|{current[interface]}"
            if current is not None and current[device] and current[interface]
            else None
        )
        now = (
            _intern(f"{row[device]}|{row[interface]}")
            if row is not None and row[device] and row[interface]
            else None
        )
        if was != now:
            if was is not None:
                self._set_rel("LOCATED_AT", (mac, was), None)
                self._ref(was, -1, st)
            if now is not None:
                self._set_rel("LOCATED_AT", (mac, now), ())
                self._ref(now, 1, st)
        if row is not None and row[device] is None:
            self.unlocated.add(mac)
        else:
            self.unlocated.discard(mac)

    def _subnet(self, subnet: str) -> None:
        cands = self.subnets.get(subnet)
        self._set_node("Subnet", subnet, max(cands.values())[1] if cands else None)

    def _interface(self, iface: str, st: _Pass) -> None:
        nodes = self.projection.nodes["Interface"]
        current = nodes.get(iface)
        row = st.iface_facts.get(iface)
        if row is None:
            if current is not None and iface not in self.implicit:
                return  # still its fact's row
            if self.iface_refs.get(iface, 0) > 0:
                device, name = iface.split("|", 1)
                row = implicit_interface(device, name)
                self.implicit.add(iface)
            else:
                self.implicit.discard(iface)
        self._set_node("Interface", iface, row)
        if (current is None) != (row is None):
            device = _intern(iface.split("|", 1)[0])
            self._set_rel("HAS_INTERFACE", (device, iface), None if row is None else ())
            count = self.iface_count.get(device, 0) + (1 if row is not None else -1)
            if count:
                self.iface_count[device] = count
            else:
                self.iface_count.pop(device, None)
            if count in (0, 1):
                st.devices.add(device)
            st.iface_devices.add(device)

    def _device(self, device: str, st: _Pass) -> None:
        nodes = self.projection.nodes["Device"]
        current = nodes.get(device)
        records = self._rows(device, "device")
        base: NodeRow | None
        if records:
            base = device_row(records[-1], self.facts.patches.get(device))
        elif device in self.unmanaged:
            base = self.unmanaged[device]
        elif self.iface_count.get(device):
            base = implicit_device(device)
        else:
            base = None
        row = None if base is None else (*base, len(self.linked.get(device, ())))
        self._set_node("Device", device, row)
        if (current is None) != (row is None):
            st.appeared.add(device)

    def _own(self, device: str) -> None:
        """VLANs, BGP peers and policy of one device, with the relationships from the
        device (where it exists) and to its interfaces (where they exist)."""
        exists = device in self.projection.nodes["Device"]
        interfaces = self.projection.nodes["Interface"]
        nodes: dict[str, dict[str, NodeRow]] = defaultdict(dict)
        rels: dict[str, dict[RelKey, RelRow]] = defaultdict(dict)
        for r in self._rows(device, "vlans"):
            vlan = f"{r.device}|vlan:{r.vlan}"
            nodes["VLAN"][vlan] = r
            if exists:
                rels["HAS_VLAN"][(device, vlan)] = ()
        for r in self._rows(device, "bgp"):
            peer, row = bgp_row(r)
            nodes["BGPPeer"][peer] = row
            if exists:
                rels["HAS_BGP_PEER"][(r.device, peer)] = ()
        if any(self._rows(device, k) for k in POLICY_KINDS):
            policy = device_policy(device, lambda kind: self._rows(device, kind))
            for label, rows in policy.nodes.items():
                for node_id, data in rows.items():
                    nodes[label][node_id] = shape_node(label, data)
            if exists:
                for rel, node_id in policy.owned:
                    rels[rel][(device, node_id)] = ()
            for (rel, src, dst), props in policy.to_interfaces.items():
                if (src if rel == "IN_ZONE" else dst) in interfaces:
                    rels[rel][(src, dst)] = tuple(props.get(p) for p in REL_PROPS[rel])
            for (rel, src, dst), props in policy.rels.items():
                rels[rel][(src, dst)] = tuple(props.get(p) for p in REL_PROPS[rel])
        old = self.own.pop(device, None)
        if old is not None:
            for label, ids in old.nodes.items():
                for node_id in ids - nodes.get(label, {}).keys():
                    self._set_node(label, node_id, None)
            for rel, keys in old.rels.items():
                for key in keys - rels.get(rel, {}).keys():
                    self._set_rel(rel, key, None)
        kept = _Own()
        for label, made in nodes.items():
            for node_id, node in made.items():
                self._set_node(label, node_id, node)
            kept.nodes[label] = set(made)
        for rel, keyed in rels.items():
            for key, values in keyed.items():
                self._set_rel(rel, key, values)
            kept.rels[rel] = set(keyed)
        if nodes or rels:
            self.own[device] = kept
