"""Path analysis: can this flow get from the source to the destination, and which firewall
rules decide it?

The walk starts at the owner of the source address (an interface, else the gateway of the
source's subnet), then goes hop by hop: a longest-prefix match in the device's routing table
(every equal-cost next hop opens a branch), the next hop resolved recursively until it lies on
one of the device's connected subnets (a BGP next hop is reached through the IGP route to it,
so every router on the way is walked and judged), the next device being the one that owns
that adjacent address; where a device has no routes collected, one step along the shortest
path over shared subnets. Every device with a policy on the way judges the flow by its ingress and
egress interfaces' zones; a deny ends the branch. Each branch ends ``allowed`` (delivered, or
handed to a next hop outside the collected network), ``denied`` or ``no_path``.

A Linux host (its rule sets are netfilter chains) consults its chains in the kernel's order
(``firewall.netfilter``): the PREROUTING chains (or, for a packet it sends, the OUTPUT ones)
before the route lookup, so a DNAT changes the destination the route is looked up for, and
the rest once the egress is known; an SNAT or MASQUERADE changes the source the later hops
see. Every chain consulted is among the hop's decisions, every translation among its
``translations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from meshq_graph_engine.firewall import netfilter
from meshq_graph_engine.firewall.netfilter import Outcome, Packet
from meshq_graph_engine.firewall.policy import Decision
from meshq_graph_engine.firewall.routes import vrf_name
from meshq_graph_engine.firewall.topology import DevicePolicy, L3Interface, Topology

__all__ = ["MAX_BRANCHES", "Branch", "PathAnswer", "analyse"]

MAX_BRANCHES = 64
#: How many routes deep a next hop is resolved (a BGP next hop through the IGP is two).
_MAX_RESOLVE = 8
_RANK = {"allowed": 0, "no_path": 1, "denied": 2}


@dataclass
class Branch:
    hops: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    verdict: str = "no_path"
    reason: str = ""
    #: (device, VRF, packet) of every hop: back at one with the same packet is a loop
    visited: list[tuple[str, str, Packet]] = field(default_factory=list)

    def copy(self) -> Branch:
        return Branch(list(self.hops), list(self.decisions), visited=list(self.visited))


@dataclass
class PathAnswer:
    verdict: str
    branches: list[Branch]
    source_owner: dict[str, Any]
    destination_owner: dict[str, Any]
    truncated: bool = False

    def rows(self) -> list[dict[str, Any]]:
        """One row per branch, each carrying the overall verdict."""
        return [
            {
                "verdict": self.verdict,
                "branch": n,
                "branch_verdict": b.verdict,
                "reason": b.reason,
                "source_owner": self.source_owner,
                "destination_owner": self.destination_owner,
                "hop_count": len(b.hops),
                "hops": b.hops,
                "firewalls": [d.describe() for d in b.decisions],
                "truncated": self.truncated,
            }
            for n, b in enumerate(self.branches, 1)
        ]


@dataclass(frozen=True)
class _State:
    device: str
    ingress: str | None
    vrf: str
    method: str
    #: the flow as it arrives here (NAT on the way may have changed it)
    packet: Packet


class _Walk:
    def __init__(self, topo: Topology, max_hops: int) -> None:
        self.topo, self.max_hops = topo, max_hops
        self.done: list[Branch] = []
        self.truncated = False
        self._fallback: dict[str, dict[str, int]] = {}

    def run(self, starts: list[tuple[_State, Branch]]) -> None:
        stack = list(reversed(starts))
        while stack:
            state, branch = stack.pop()
            if len(self.done) + len(stack) >= MAX_BRANCHES:
                self.truncated = True
                branch.reason = branch.reason or f"more than {MAX_BRANCHES} branches: not followed"
                self.done.append(branch)
                continue
            nxt = self.step(state, branch)
            stack.extend(reversed(nxt))

    def finish(self, branch: Branch, verdict: str, reason: str) -> list[tuple[_State, Branch]]:
        branch.verdict, branch.reason = verdict, reason
        self.done.append(branch)
        return []

    def step(self, s: _State, branch: Branch) -> list[tuple[_State, Branch]]:
        topo = self.topo
        if (s.device, s.vrf, s.packet) in branch.visited:
            return self.finish(branch, "no_path", f"routing loop: back at {s.device} ({s.vrf})")
        if len(branch.hops) >= self.max_hops:
            return self.finish(branch, "no_path", f"hop limit {self.max_hops} reached")
        branch.visited.append((s.device, s.vrf, s.packet))
        hop: dict[str, Any] = {
            "device": s.device,
            "vrf": s.vrf,
            "ingress_interface": s.ingress,
            "egress_interface": None,
            "ingress_zone": None,
            "egress_zone": None,
            "reached_by": s.method,
            "method": None,
            "route": None,
            "next_hop": None,
            "resolved_next_hop": None,
            "decisions": [],
            "translations": [],
        }
        policy = topo.policies.get(s.device)
        redirected = False
        if policy is not None and policy.netfilter:
            before = self._before_routing(s, policy)
            self._record(s, policy, hop, branch, before, None)
            if before.denied:
                return self._deny(s, hop, branch, before.decisions[-1])
            s, redirected = replace(s, packet=before.packet), before.redirected
        dst = s.packet.dst
        if redirected or any(i.ip == dst for i in topo.by_device.get(s.device, ())):
            hop["method"] = "destination"
            end = f"redirected to {s.device} itself" if redirected else None
            return self._judge(
                s, hop, branch, None, [], end or "delivered to the destination's owner"
            )
        table = topo.routes.get(s.device)
        local = topo.connected(s.device, dst, s.vrf)
        route = table.lookup(dst, s.vrf) if table else None
        local_len = int(local.network.split("/")[1]) if local else -1
        if local is not None and (route is None or local_len >= _length(route.prefix)):
            hop["method"] = "connected"
            hop["egress_interface"] = local.interface
            owner = [o for o in topo.owners(dst, s.vrf) if o.device != s.device]
            nexts = [(o.device, o.interface, o.vrf, "connected") for o in owner[:1]]
            return self._judge(s, hop, branch, local.interface, nexts, "delivered on-link")
        if route is not None:
            return self._route(s, hop, branch, route)
        if table:
            hop["method"] = "route"
            return self.finish_hop(
                branch, hop, "no_path", f"no route to {dst} in VRF {s.vrf} on {s.device}"
            )
        return self._fallback_step(s, hop, branch)

    def finish_hop(self, branch: Branch, hop: dict[str, Any], verdict: str, reason: str) -> list:
        branch.hops.append(hop)
        return self.finish(branch, verdict, reason)

    def _route(self, s: _State, hop: dict[str, Any], branch: Branch, route: Any) -> list:
        hop["method"] = "route"
        hop["route"] = {
            "prefix": route.prefix,
            "protocol": route.protocol,
            "vrf": route.vrf,
            "origin": route.origin,
        }
        if route.discards or not route.next_hops:
            return self.finish_hop(branch, hop, "no_path", f"{route.prefix} discards on {s.device}")
        out: list[tuple[_State, Branch]] = []
        #: adjacent next hops already taken: two BGP next hops reached through the same
        #: neighbour are one path for the packet, walked once
        taken: set[tuple[str, str | None]] = set()
        for nh in route.next_hops:
            h = dict(hop, next_hop=nh.address)
            egress = nh.interface
            if nh.address is None:  # an interface route: the destination is on that link
                owner = [o for o in self.topo.owners(s.packet.dst, s.vrf) if o.device != s.device]
                h["egress_interface"] = egress
                nexts = [(o.device, o.interface, o.vrf, "connected") for o in owner[:1]]
                out += self._judge(s, h, branch.copy(), egress, nexts, "delivered on-link")
                continue
            resolved = self._resolve(s.device, s.vrf, nh.address, egress)
            if not resolved:
                out += self.finish_hop(
                    branch.copy(),
                    h,
                    "no_path",
                    f"next hop {nh.address} of {route.prefix} is not reachable from {s.device}: "
                    f"no connected subnet or route holds it",
                )
                continue
            for via, interface in resolved:
                if (via, interface) in taken:
                    continue
                taken.add((via, interface))
                h2 = dict(h, egress_interface=interface, next_hop=via)
                if via != nh.address:
                    h2["resolved_next_hop"] = nh.address  # a BGP next hop, reached through via
                owners = [o for o in self.topo.owners(via, s.vrf) if o.device != s.device]
                if not owners:
                    reason = f"handed to next hop {via}, outside the collected network"
                    out += self._judge(s, h2, branch.copy(), interface, [], reason)
                    continue
                o = owners[0]
                nexts = [(o.device, o.interface, o.vrf, "route")]
                out += self._judge(s, h2, branch.copy(), interface, nexts)
        return out

    def _resolve(
        self, device: str, vrf: str, address: str, interface: str | None, depth: int = 0
    ) -> list[tuple[str, str | None]]:
        """The adjacent next hops (address on a connected subnet, egress interface) through
        which ``device`` reaches ``address``: the address itself when a connected subnet holds
        it, else, recursively, the next hops of the route to it (a BGP next hop resolved
        through the IGP). Empty when nothing on the device leads there."""
        link = self.topo.connected(device, address, vrf)
        host = 128 if ":" in address else 32
        if link is not None and link.ip != address and _length(link.network) < host:
            return [(address, interface or link.interface)]
        if depth >= _MAX_RESOLVE:
            return []
        table = self.topo.routes.get(device)
        route = table.lookup(address, vrf) if table else None
        if route is None or route.discards or not route.next_hops:
            return []
        found: list[tuple[str, str | None]] = []
        for nh in route.next_hops:
            if nh.address is None:  # an interface route: the address is on that link
                found.append((address, nh.interface))
            elif nh.address != address:
                found += self._resolve(device, vrf, nh.address, nh.interface, depth + 1)
        return list(dict.fromkeys(found))

    def _fallback_step(self, s: _State, hop: dict[str, Any], branch: Branch) -> list:
        dst = s.packet.dst
        targets = {i.device for i in self.topo.containing(dst)}
        key = ",".join(sorted(targets))
        if key not in self._fallback:
            self._fallback[key] = self.topo.distances_to(targets) if targets else {}
        dist = self._fallback[key]
        here = dist.get(s.device)
        hop["method"] = "shared_subnet"
        if here is None or here == 0:
            return self.finish_hop(
                branch, hop, "no_path", f"{s.device} has no routes and no subnet path to {dst}"
            )
        for neighbour, mine, theirs in self.topo.adjacent(s.device):
            if dist.get(neighbour) == here - 1:
                hop["egress_interface"] = mine.interface
                hop["next_hop"] = theirs.ip
                nexts = [(neighbour, theirs.interface, theirs.vrf, "shared_subnet")]
                return self._judge(s, hop, branch, mine.interface, nexts)
        return self.finish_hop(branch, hop, "no_path", "no subnet path")  # pragma: no cover

    def _judge(
        self,
        s: _State,
        hop: dict[str, Any],
        branch: Branch,
        egress: str | None,
        nexts: list[tuple[str, str, str, str]],
        end: str | None = None,
    ) -> list[tuple[_State, Branch]]:
        policy = self.topo.policies.get(s.device)
        to_self, from_self = hop["method"] == "destination", s.method == "source"
        packet = s.packet
        if policy is not None and policy.netfilter:
            stage = netfilter.after_routing(to_self=to_self, from_self=from_self)
            after = netfilter.run(
                policy,
                stage,
                packet,
                ingress=s.ingress,
                egress=egress,
                egress_address=self._address(s.device, egress, packet.family),
            )
            self._record(s, policy, hop, branch, after, egress)
            if after.denied:
                return self._deny(s, hop, branch, after.decisions[-1])
            packet = after.packet
            # any rule set of the device that is no netfilter chain, as on other devices
            others = policy.evaluate(
                s.packet.flow(), s.ingress, egress, to_self=to_self, from_self=from_self
            )
            hop["decisions"] = [*hop["decisions"], *(d.describe() for d in others)]
            branch.decisions.extend(others)
            if others and not others[-1].allowed:
                return self._deny(s, hop, branch, others[-1])
        elif policy is not None:
            decisions = policy.evaluate(
                packet.flow(), s.ingress, egress, to_self=to_self, from_self=from_self
            )
            hop["ingress_zone"] = policy.zone_of(s.ingress)
            hop["egress_zone"] = policy.zone_of(egress)
            hop["decisions"] = [d.describe() for d in decisions]
            branch.decisions.extend(decisions)
            if decisions and not decisions[-1].allowed:
                return self._deny(s, hop, branch, decisions[-1])
        branch.hops.append(hop)
        if not nexts:
            return self.finish(branch, "allowed", end or "delivered")
        return [(_State(d, i, vrf_name(v), m, packet), branch) for d, i, v, m in nexts]

    def _deny(
        self, s: _State, hop: dict[str, Any], branch: Branch, d: Decision
    ) -> list[tuple[_State, Branch]]:
        where = f"rule {d.rule.name!r}" if d.rule else f"the default action of {d.rule_set}"
        return self.finish_hop(branch, hop, "denied", f"denied by {where} on {s.device}")

    # --- netfilter (Linux hosts) ---------------------------------------------------------

    def _before_routing(self, s: _State, policy: DevicePolicy) -> Outcome:
        """PREROUTING for a packet from the network; for one the host sends, the OUTPUT
        chains that come before its (re-)route, with the egress the route gives now."""
        family = s.packet.family
        if s.method == "source":
            egress = self._first_egress(s)
            return netfilter.run(
                policy,
                netfilter.OUTPUT_PRE,
                s.packet,
                ingress=None,
                egress=egress,
                egress_address=self._address(s.device, egress, family),
                local_address="::1" if family == 6 else "127.0.0.1",
            )
        return netfilter.run(
            policy,
            netfilter.PREROUTING,
            s.packet,
            ingress=s.ingress,
            egress=None,
            local_address=self._address(s.device, s.ingress, family, any_interface=True),
        )

    def _record(
        self,
        s: _State,
        policy: DevicePolicy,
        hop: dict[str, Any],
        branch: Branch,
        outcome: Outcome,
        egress: str | None,
    ) -> None:
        hop["ingress_zone"] = policy.zone_of(s.ingress)
        hop["egress_zone"] = policy.zone_of(egress)
        # new lists: a hop dict is copied per next hop, its lists are not
        hop["decisions"] = [*hop["decisions"], *(d.describe() for d in outcome.decisions)]
        hop["translations"] = [*hop["translations"], *outcome.translations]
        branch.decisions.extend(outcome.decisions)

    def _address(
        self, device: str, interface: str | None, family: int, *, any_interface: bool = False
    ) -> str | None:
        """The device's address of ``family`` on ``interface`` (MASQUERADE's source, the
        target of a REDIRECT); with ``any_interface``, else its first such address."""
        mine = [i for i in self.topo.by_device.get(device, ()) if (":" in i.ip) == (family == 6)]
        on = [i.ip for i in mine if interface is not None and i.interface == interface]
        if on:
            return on[0]
        return mine[0].ip if any_interface and mine else None

    def _first_egress(self, s: _State) -> str | None:
        """The interface a packet the device sends leaves by, as routing gives it before
        any OUTPUT chain (the first next hop where there are several)."""
        dst = s.packet.dst
        local = self.topo.connected(s.device, dst, s.vrf)
        table = self.topo.routes.get(s.device)
        route = table.lookup(dst, s.vrf) if table else None
        if local is not None and (
            route is None or int(local.network.split("/")[1]) >= _length(route.prefix)
        ):
            return local.interface
        if route is None or route.discards or not route.next_hops:
            return None
        nh = route.next_hops[0]
        if nh.interface is not None or nh.address is None:
            return nh.interface
        resolved = self._resolve(s.device, s.vrf, nh.address, None)
        return resolved[0][1] if resolved else None


def _length(prefix: str) -> int:
    return int(prefix.split("/")[1]) if "/" in prefix else 32


def _starts(topo: Topology, source: str) -> tuple[list[L3Interface], bool]:
    """Where the walk begins: the source's own interface, else its subnet's gateways (the
    routers among them when some have a routing table: a switch's management address in
    the same subnet is not a gateway)."""
    own = topo.owners(source)
    if own:
        return own[:1], True
    found = [g for g in topo.containing(source) if g.ip != source]
    return [g for g in found if g.device in topo.routes] or found, False


def analyse(
    topo: Topology,
    source: str,
    destination: str,
    protocol: str | int,
    port: int | None = None,
    *,
    source_port: int | None = None,
    max_hops: int = 32,
    start: tuple[str, str | None] | None = None,
    locate: str | None = None,
) -> PathAnswer:
    """The flow's branches and verdict. ``start`` (device, interface or None) begins the walk
    at that device, the flow arriving on that interface, instead of at the source's owner or
    every gateway of its subnet. ``locate``: an address whose owner or subnet gateways begin
    the walk in the source's stead (a pod's: its node's), the packet keeping the source."""
    packet = netfilter.packet(source, destination, protocol, port, source_port=source_port)
    src_owner = topo.describe_owner(source)
    dst_owner = topo.describe_owner(destination)
    if start is not None:
        return _from(topo, packet, max_hops, start, src_owner, dst_owner)
    starts, own = _starts(topo, locate or source)
    if not starts:
        branch = Branch(reason=f"no device owns {locate or source} or a subnet containing it")
        return PathAnswer("no_path", [branch], src_owner, dst_owner)
    if not own:
        src_owner["gateways"] = [f"{g.device} {g.interface}" for g in starts]
    walk = _Walk(topo, max_hops)
    first = [
        (
            _State(
                g.device,
                None if own else g.interface,
                g.vrf,
                "source" if own else "gateway",
                packet,
            ),
            Branch(),
        )
        for g in starts
    ]
    walk.run(first)
    worst = max((b.verdict for b in walk.done), key=_RANK.__getitem__)
    return PathAnswer(worst, walk.done, src_owner, dst_owner, walk.truncated)


def _from(
    topo: Topology,
    packet: Packet,
    max_hops: int,
    start: tuple[str, str | None],
    src_owner: dict[str, Any],
    dst_owner: dict[str, Any],
) -> PathAnswer:
    device, interface = start
    known = topo.by_device.get(device) or ()
    if not known and device not in topo.routes:
        branch = Branch(
            reason=f"{device} has no addresses or routes in the graph: nothing to start at"
        )
        return PathAnswer("no_path", [branch], src_owner, dst_owner)
    vrf = "default"
    if interface is not None:
        found = topo.device_interface(device, interface)
        if found is None:
            branch = Branch(reason=f"{device} has no interface {interface} with an address")
            return PathAnswer("no_path", [branch], src_owner, dst_owner)
        vrf = found.vrf
    src_owner["gateways"] = [f"{device} {interface}" if interface else device]
    walk = _Walk(topo, max_hops)
    walk.run([(_State(device, interface, vrf_name(vrf), "start", packet), Branch())])
    worst = max((b.verdict for b in walk.done), key=_RANK.__getitem__)
    return PathAnswer(worst, walk.done, src_owner, dst_owner, walk.truncated)
