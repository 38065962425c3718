"""From what a user names to what fails.

- device: the device (all of its links go with it).
- interface (``host:ifname``, ``host|ifname``, or a bare name found on exactly one device): the
  links on that interface, on its sub-interfaces, and, for an aggregate (Port-channel, ae), on
  every member. A LAG member alone takes only its own cable: the bundle survives on the others.
- VLAN (``10``, ``vlan10``, ``vlan:10``): the VLAN goes down everywhere. A link fails when every
  VLAN it carries is this one (an access port in it, a trunk allowing only it); trunks with
  other VLANs (or no allowed list) and routed links stay up. Its SVIs go down with it; the
  endpoints in it are affected.
- subnet (CIDR, any VRF): the segment the subnet lives on goes down. Every interface holding an
  address inside it fails (with its links, as for an interface); an SVI among them (VlanN,
  irb.N, vlan.N) takes its VLAN down as a VLAN failure does. The endpoints with an address
  inside it are affected.

The interface named is looked up in the store by key; VLANs and subnets resolve on the
lookups kept per graph revision (``_segments``). Values reach Cypher as parameters only.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from meshq_runtime.graph.store import GraphStore
from network_discovery.model import canonical_interface_name, ids, normalise_hostname

from meshq_graph_engine.blast._model import Failure, Link, Topology
from meshq_graph_engine.blast._segments import Segments, load_segments

__all__ = [
    "SCENARIOS",
    "TargetError",
    "device_failure",
    "interface_failure",
    "parse_vlan",
    "resolve",
    "subnet_failure",
    "vlan_failure",
]

SCENARIOS = ("device_failure", "link_failure", "segment_failure")
_VLAN = re.compile(r"^(?:vlan[\s:._-]*)?(\d{1,4})$", re.IGNORECASE)
_SVI = re.compile(r"^(?:vlan|irb\.|vlan\.)(\d{1,4})$", re.IGNORECASE)


class TargetError(Exception):
    """The target names nothing (404) or more than one thing, or is malformed (422)."""

    def __init__(self, status: int, title: str, detail: str, field: str = "target") -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.field = status, title, detail, field


def _unknown(detail: str) -> TargetError:
    return TargetError(404, "Unknown target", detail)


def device_failure(topology: Topology, target: str) -> Failure:
    try:
        device = normalise_hostname(target)
    except ValueError as exc:
        raise TargetError(422, "Invalid target", str(exc)) from None
    if device not in topology.devices:
        raise _unknown(f"no device {device!r} in the graph; all_devices lists them")
    return Failure("device", device, devices=frozenset({device}), touched=frozenset({device}))


def _links_for(topology: Topology, device: str, names: set[str]) -> list[Link]:
    return [
        link
        for link in topology.links_on(device)
        for end in (link.a, link.b)
        if end.device == device and names & {end.name, end.lag, end.parent}
    ]


def _interface_rows(topology: Topology, pairs: list[tuple[str, str]], kind: str) -> Failure:
    links: dict[str, Link] = {}
    touched: set[str] = set()
    for device, name in pairs:
        touched.add(device)
        for link in _links_for(topology, device, {name}):
            links[link.id] = link
            touched.update((link.a.device, link.b.device))
    target = ", ".join(f"{d}:{n}" for d, n in pairs)
    return Failure(
        kind,
        target,
        links=frozenset(links),
        interfaces=tuple(ids.interface_id(d, n) for d, n in pairs),
        touched=frozenset(touched),
    )


async def interface_failure(
    topology: Topology, store: GraphStore, target: str, *, kind: str = "interface"
) -> Failure:
    text = target.strip()
    device: str | None = None
    if "|" in text:
        device, _, name = text.partition("|")
    elif ":" in text:
        device, _, name = text.rpartition(":")
    else:
        name = text
    try:
        name = canonical_interface_name(name)
        device = normalise_hostname(device) if device is not None else None
    except ValueError as exc:
        raise TargetError(422, "Invalid target", str(exc)) from None
    if not name:
        raise TargetError(422, "Invalid target", f"{target!r} names no interface")
    if device is not None:
        if device not in topology.devices:
            raise _unknown(f"no device {device!r} in the graph (target {target!r})")
        rows = await store.execute(
            "MATCH (i:Interface) WHERE i.id = $id RETURN i.device AS device, i.name AS name",
            {"id": ids.interface_id(device, name)},
        )
        if not rows:
            raise _unknown(f"device {device!r} has no interface {name!r}")
    else:
        rows = await store.execute(
            "MATCH (i:Interface) WHERE i.name = $name "
            "RETURN i.device AS device, i.name AS name ORDER BY device",
            {"name": name},
        )
        if not rows:
            raise _unknown(f"no device has an interface {name!r}")
        if len(rows) > 1:
            owners = ", ".join(f"{r['device']}:{name}" for r in rows[:10])
            raise TargetError(
                422,
                "Ambiguous target",
                f"interface {name!r} is on {len(rows)} devices; name one as host:ifname "
                f"({owners}{', ...' if len(rows) > 10 else ''})",
            )
    return _interface_rows(topology, [(rows[0]["device"], rows[0]["name"])], kind)


def parse_vlan(target: str) -> int | None:
    match = _VLAN.match(target.strip())
    if match is None:
        return None
    vlan = int(match.group(1))
    if not 1 <= vlan <= 4094:
        raise TargetError(422, "Invalid target", f"VLAN {vlan} is outside 1-4094")
    return vlan


def vlan_failure(topology: Topology, segments: Segments, vlan: int) -> Failure:
    links = topology.vlan_links(vlan)
    touched = {d for lk in links for d in (lk.a.device, lk.b.device)}
    touched |= topology.vlan_devices(vlan)
    svis = segments.svis_of(vlan)
    members = segments.vlan_members(vlan)
    touched |= segments.vlan_owners(vlan)
    touched |= {device for _, device in svis if device is not None}
    touched |= {device for _, device, _ in members if device}
    touched &= topology.devices.keys()
    if not (links or touched or members):
        raise _unknown(f"VLAN {vlan} is not on any device, port or endpoint in the graph")
    return Failure(
        "vlan",
        f"vlan {vlan}",
        links=frozenset(lk.id for lk in links),
        interfaces=tuple(i for i, _ in svis),
        touched=frozenset(touched),
        endpoints={e: located for e, _, located in members},
    )


def subnet_failure(topology: Topology, segments: Segments, cidr: str) -> Failure:
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=True)
    except ValueError as exc:
        raise TargetError(422, "Invalid target", f"invalid subnet {cidr!r}: {exc}") from None
    pairs = sorted(segments.interfaces_in(network))
    members = segments.endpoints_in(network)
    if not pairs and not members:
        raise _unknown(f"no interface or endpoint has an address in {network}")
    failure = _interface_rows(topology, pairs, "subnet")
    links, touched = set(failure.links), set(failure.touched)
    interfaces = list(failure.interfaces)
    for vlan in sorted({int(m.group(1)) for _, n in pairs if (m := _SVI.match(n))}):
        if 1 <= vlan <= 4094:
            segment = vlan_failure(topology, segments, vlan)
            links |= segment.links
            touched |= segment.touched
            interfaces += [i for i in segment.interfaces if i not in interfaces]
            members = {**segment.endpoints, **members}
    return Failure(
        "subnet",
        str(network),
        links=frozenset(links),
        interfaces=tuple(interfaces),
        touched=frozenset((touched | {d for d in members.values() if d}) & topology.devices.keys()),
        endpoints=members,
    )


async def vlan_or_subnet(
    topology: Topology, store: GraphStore, target: str, engine: Any = None
) -> Failure:
    vlan = parse_vlan(target)
    if vlan is not None:
        return vlan_failure(topology, await load_segments(store, engine), vlan)
    if "/" not in target:
        raise TargetError(
            422,
            "Invalid target",
            f"a segment_failure target is a VLAN id (10, vlan10) or a subnet in CIDR form "
            f"(10.1.10.0/24), got {target!r}",
        )
    return subnet_failure(topology, await load_segments(store, engine), target)


async def resolve(
    topology: Topology, store: GraphStore, scenario: str, target: str, engine: Any = None
) -> Failure:
    """The failure a chaos-simulate request names (``engine``: whose revision the segment
    lookups are kept at; without it they are read whole)."""
    if scenario == "device_failure":
        return device_failure(topology, target)
    if scenario == "link_failure":
        failure = await interface_failure(topology, store, target, kind="link")
        if not failure.links:
            raise TargetError(
                422,
                "No link on target",
                f"nothing is cabled to {failure.target}: no link to fail",
            )
        return failure
    if scenario == "segment_failure":
        return await vlan_or_subnet(topology, store, target, engine)
    raise TargetError(
        422,
        "Invalid scenario",
        f"scenario_type must be one of {', '.join(SCENARIOS)}",
        field="scenario_type",
    )
