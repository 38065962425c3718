"""What-if: a change set applied to a copy of the device graph, and the difference it makes.

The live graph is never written: the topology read from the store is copied, changed, and both
versions are analysed with the same rules as blast radius (upstream, upstream paths).

Changes (applied in order; each names its devices and interfaces as the graph does):

- ``remove_device`` (``device``): the device and every link on it go.
- ``add_device`` (``device``, optional ``role``, ``criticality``, ``managed``).
- ``remove_link`` / ``shutdown_interface`` (``interface`` as ``host:ifname``): the links on that
  interface, its sub-interfaces and, for an aggregate, its members go, as for a link failure.
  ``remove_link`` needs a link there; ``shutdown_interface`` needs the interface.
- ``add_link`` (``a``, ``b``, each ``host:ifname``; both devices must exist by then).
- ``remove_vlan`` (``interface``, ``vlan``): the VLAN leaves that trunk's allowed list; a link
  left carrying no VLAN at all goes down (VLAN-level reachability is not modelled further).

The answer: devices newly cut off from the upstream (and their endpoints), devices that lost
upstream paths, and every access device whose shortest path from the upstream changed.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace
from typing import Any

from meshq_runtime.graph.store import GraphStore
from network_discovery.model import canonical_interface_name, ids, normalise_hostname

from meshq_graph_engine.blast._analysis import flow_index, heights, upstream
from meshq_graph_engine.blast._model import Device, Link, LinkEnd, Topology
from meshq_graph_engine.blast._targets import TargetError

__all__ = ["ACTIONS", "apply_changes", "compare"]

ACTIONS = (
    "remove_device",
    "add_device",
    "remove_link",
    "shutdown_interface",
    "add_link",
    "remove_vlan",
)


def _error(status: int, index: int, field: str, detail: str) -> TargetError:
    title = "Unknown target" if status == 404 else "Invalid change"
    return TargetError(status, title, detail, field=f"changes.{index}.{field}")


def _port(text: str, index: int, field: str) -> tuple[str, str]:
    device, sep, name = text.strip().rpartition(":")
    if not sep or not device or not name:
        raise _error(422, index, field, f"{text!r} is not host:ifname")
    try:
        return normalise_hostname(device), canonical_interface_name(name)
    except ValueError as exc:
        raise _error(422, index, field, str(exc)) from None


def _matches(end: LinkEnd, device: str, name: str) -> bool:
    return end.device == device and name in (end.name, end.lag, end.parent)


def _on(link: Link, device: str, name: str) -> bool:
    return _matches(link.a, device, name) or _matches(link.b, device, name)


async def _interface_exists(store: GraphStore, device: str, name: str) -> bool:
    rows = await store.execute(
        "MATCH (i:Interface) WHERE i.id = $id RETURN i.id AS id",
        {"id": ids.interface_id(device, name)},
    )
    return bool(rows)


async def apply_changes(
    topology: Topology, store: GraphStore, changes: list[dict[str, Any]]
) -> Topology:
    """A new topology: ``topology`` with ``changes`` applied (``topology`` is left as it was)."""
    devices: dict[str, Device] = dict(topology.devices)
    links: dict[str, Link] = dict(topology.links)
    added_ports: set[tuple[str, str]] = set()
    for i, change in enumerate(changes):
        action = change["action"]
        if action in ("remove_device", "add_device"):
            try:
                device = normalise_hostname(change["device"])
            except ValueError as exc:
                raise _error(422, i, "device", str(exc)) from None
            if action == "add_device":
                if device in devices:
                    raise _error(422, i, "device", f"device {device!r} already exists")
                role = change.get("role")
                devices[device] = Device(
                    device,
                    bool(change.get("managed", True)),
                    "_".join(role.lower().split()) if role else None,
                    change.get("criticality"),
                )
                continue
            if device not in devices:
                raise _error(404, i, "device", f"no device {device!r} in the graph")
            del devices[device]
            links = {k: lk for k, lk in links.items() if device not in (lk.a.device, lk.b.device)}
        elif action == "add_link":
            ends = [_port(change[f], i, f) for f in ("a", "b")]
            for (device, _), f in zip(ends, ("a", "b"), strict=True):
                if device not in devices:
                    raise _error(404, i, f, f"no device {device!r} in the graph or the changes")
            if ends[0][0] == ends[1][0]:
                raise _error(422, i, "b", "a link joins two different devices")
            (da, na), (db, nb) = ends
            a = LinkEnd(ids.interface_id(da, na), da, na)
            b = LinkEnd(ids.interface_id(db, nb), db, nb)
            link_id = ids.link_id(a.interface, b.interface)
            links[link_id] = Link(link_id, a, b)
            added_ports.update(ends)
        else:
            device, name = _port(change["interface"], i, "interface")
            if device not in devices:
                raise _error(404, i, "interface", f"no device {device!r} in the graph")
            hit = {k: lk for k, lk in links.items() if _on(lk, device, name)}
            if not hit and (device, name) not in added_ports:
                if action == "remove_link":
                    raise _error(422, i, "interface", f"nothing is cabled to {device}:{name}")
                if not await _interface_exists(store, device, name):
                    raise _error(404, i, "interface", f"{device!r} has no interface {name!r}")
            for key, link in hit.items():
                if action != "remove_vlan":
                    del links[key]
                    continue
                vlan = int(change["vlan"])
                a, b = link.a, link.b
                if _matches(a, device, name) and a.vlans:
                    a = replace(a, vlans=a.vlans - {vlan})
                if _matches(b, device, name) and b.vlans:
                    b = replace(b, vlans=b.vlans - {vlan})
                changed = replace(link, a=a, b=b)
                carried = changed.carried_vlans()
                if carried is not None and not carried:
                    del links[key]
                else:
                    links[key] = changed
    return Topology(list(devices.values()), list(links.values()))


def _paths_from_upstream(topology: Topology, up: frozenset[int]) -> dict[int, list[int]]:
    """One shortest path from the upstream to every reachable device (ties: lowest ids)."""
    parent: dict[int, int] = {u: -1 for u in up}
    queue = deque(sorted(up, key=lambda n: topology.ids[n]))
    while queue:
        node = queue.popleft()
        for nxt in sorted({n for _, n in topology.adj[node]}, key=lambda n: topology.ids[n]):
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    paths: dict[int, list[int]] = {}
    for node in parent:
        path = [node]
        while parent[path[-1]] != -1:
            path.append(parent[path[-1]])
        paths[node] = path[::-1]
    return paths


def _is_access(device: Device) -> bool:
    return (device.role or "") == "access"


def compare(before: Topology, after: Topology) -> dict[str, Any]:
    up_b, rule_b = upstream(before)
    up_a, rule_a = upstream(after)
    h_b, h_a = heights(before, up_b), heights(after, up_a)
    # upstream path counts: the before graph's are kept per graph revision
    count_b, count_a = flow_index(before).count, flow_index(after).count
    removed = sorted(set(before.devices) - set(after.devices))
    isolated: list[str] = []
    lost: list[dict[str, Any]] = []
    for device in before.ids:
        nb = before.index[device]
        if device not in after.index or h_b[nb] == math.inf:
            continue
        na = after.index[device]
        if h_a[na] == math.inf:
            isolated.append(device)
            continue
        if nb in up_b or na in up_a:
            continue
        if count_a[na] < count_b[nb]:
            lost.append(
                {
                    "device": device,
                    "paths_before": int(count_b[nb]),
                    "paths_after": int(count_a[na]),
                }
            )
    paths_b, paths_a = _paths_from_upstream(before, up_b), _paths_from_upstream(after, up_a)
    changed = []
    for device in sorted(set(before.devices) | set(after.devices)):
        info = after.devices.get(device) or before.devices[device]
        if not _is_access(info):
            continue
        old = paths_b.get(before.index[device]) if device in before.index else None
        new = paths_a.get(after.index[device]) if device in after.index else None
        old_ids = [before.ids[n] for n in old] if old else None
        new_ids = [after.ids[n] for n in new] if new else None
        if old_ids != new_ids:
            changed.append({"device": device, "before": old_ids, "after": new_ids})
    endpoints = sum(before.devices[d].endpoints for d in isolated + removed)
    return {
        "removed_devices": removed,
        "newly_isolated_devices": isolated,
        "newly_isolated_endpoints": endpoints,
        "lost_redundancy": lost,
        "changed_paths": changed,
        "upstream_before": sorted(before.ids[n] for n in up_b),
        "upstream_after": sorted(after.ids[n] for n in up_a),
        "upstream_rule": {"before": rule_b, "after": rule_a},
    }
