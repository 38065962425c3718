"""Links, sightings and unmanaged devices from resolved neighbour entries.

Everything :func:`meshq_graph_engine.derive.derive_links` and
:func:`~meshq_graph_engine.derive.derive_sightings` derive between two devices depends only on
the entries each of the two reported about the other (and on links declared between them), so
the graph keeps them per pair of devices and derives again only the pairs whose entries
changed. An unmanaged device depends only on the entries that resolve to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import structlog
from network_discovery.model import (
    Device,
    LinkEvidence,
    NeighborProtocol,
    canonical_interface_name,
    device_id,
    normalise_hostname,
)

from meshq_graph_engine.derive._all import _STRENGTH
from meshq_graph_engine.derive.links import SIGHTING_CONFIDENCE, _evidence, _far_port
from meshq_graph_engine.facts import FactRow
from meshq_graph_engine.live._index import Claim, _clean
from meshq_graph_engine.projection import RelKey

__all__ = ["PairOut", "derive_pair", "unmanaged_device"]

log = structlog.get_logger(__name__)

_LLDP, _CDP = NeighborProtocol.LLDP.value, NeighborProtocol.CDP.value
_RANK = {_LLDP: 0, _CDP: 1}
_EVIDENCE = {e.value: e for e in LinkEvidence}


@lru_cache(maxsize=262_144)
def iface_id(device: str, name: str) -> str:
    """An interface's id, as the model makes it (``<device>|<canonical name>``)."""
    return f"{normalise_hostname(device)}|{canonical_interface_name(name)}"


@dataclass(frozen=True, slots=True)
class PairOut:
    """What one pair of devices gives the graph."""

    #: CONNECTED_TO: (interface id, interface id) -> (evidence, confidence)
    links: dict[RelKey, tuple[str, float]]
    #: SEES candidates: (interface id, seen device) -> (protocol, port id, confidence)
    sightings: dict[RelKey, tuple[str, str | None, float]]
    #: interfaces the pair's links and sightings stand on
    refs: frozenset[str]
    #: (device, interface id, far device) of each link end
    ends: tuple[tuple[str, str, str], ...]


EMPTY = PairOut({}, {}, frozenset(), ())


def _link(
    a: tuple[str, str], b: tuple[str, str]
) -> tuple[tuple[str, str, str], tuple[str, str, str]] | None:
    """Both ends as (device, interface, interface id), in id order, as ``Link`` orders
    them; None for an interface linked to itself."""
    ea = (normalise_hostname(a[0]), canonical_interface_name(a[1]))
    eb = (normalise_hostname(b[0]), canonical_interface_name(b[1]))
    ia, ib = f"{ea[0]}|{ea[1]}", f"{eb[0]}|{eb[1]}"
    if ia == ib:
        return None
    if ib < ia:
        return (eb[0], eb[1], ib), (ea[0], ea[1], ia)
    return (ea[0], ea[1], ia), (eb[0], eb[1], ib)


def derive_pair(claims: Sequence[Claim], declared: Iterable[FactRow]) -> PairOut:
    """Links and sightings between two devices, from every entry either reported about the
    other (``claims``) and the links declared between them (in fact order)."""
    if not claims and not declared:
        return EMPTY
    # the order a whole-graph pass meets them in: LLDP entries, then CDP, by device
    claims = sorted(claims, key=lambda c: (_RANK[c.protocol], c.device, c.seq))
    toward: dict[tuple[str, str], list[Claim]] = defaultdict(list)
    for c in claims:
        toward[(c.device, c.remote)].append(c)
    reports: dict[tuple[tuple[str, str], tuple[str, str]], set[tuple[str, Any]]]
    reports = defaultdict(set)
    unmanaged: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for c in claims:
        if not c.managed:
            if c.remote_port is not None:
                unmanaged[(c.device, c.interface, c.remote)].setdefault(c.protocol, c.remote_port)
            continue
        port = _far_port(c, toward.get((c.remote, c.device), []))  # type: ignore[arg-type]
        if port is None or (c.remote, port) == (c.device, c.interface):
            continue
        a, b = sorted([(c.device, c.interface), (c.remote, port)])
        reports[(a, b)].add((c.device, NeighborProtocol(c.protocol)))
    for (device, interface, remote), ports in unmanaged.items():
        port = ports.get(_LLDP) or ports[_CDP]
        for protocol in ports:
            a, b = sorted([(device, interface), (remote, port)])
            reports[(a, b)].add((device, NeighborProtocol(protocol)))
    derived: dict[str, tuple[Any, Any, LinkEvidence, float]] = {}
    for (a, b), seen in reports.items():
        ends = _link(a, b)
        if ends is None:
            continue
        evidence, confidence = _evidence(seen)
        derived[f"{ends[0][2]}<->{ends[1][2]}"] = (ends[0], ends[1], evidence, confidence)
    merged: dict[str, tuple[Any, Any, LinkEvidence, float]] = {}

    def offer(link_id: str, link: tuple[Any, Any, LinkEvidence, float]) -> None:
        current = merged.get(link_id)
        if current is None or _STRENGTH[link[2]] < _STRENGTH[current[2]]:
            merged[link_id] = link

    for row in declared:
        ends = _link((row.a["device"], row.a["interface"]), (row.b["device"], row.b["interface"]))
        if ends is not None:
            offer(f"{ends[0][2]}<->{ends[1][2]}", (*ends, _EVIDENCE[row.evidence], row.confidence))
    for link_id in sorted(derived):
        offer(link_id, derived[link_id])
    links: dict[RelKey, tuple[str, float]] = {}
    refs: set[str] = set()
    link_ends: list[tuple[str, str, str]] = []
    for a, b, evidence, confidence in merged.values():
        links[(a[2], b[2])] = (evidence.value, confidence)
        refs.update((a[2], b[2]))
        link_ends.append((a[0], a[2], b[0]))
        link_ends.append((b[0], b[2], a[0]))
    linked = {
        (end[0], end[1], other[0])
        for a, b, _, _ in derived.values()
        for end, other in ((a, b), (b, a))
    }
    found: dict[tuple[str, str, str], Claim] = {}
    for c in claims:
        key = (c.device, c.interface, c.remote)
        if key in linked or key in found:
            continue
        port = _far_port(c, toward.get((c.remote, c.device), [])) if c.managed else c.remote_port  # type: ignore[arg-type]
        if port is None:
            found[key] = c
    sightings: dict[RelKey, tuple[str, str | None, float]] = {}
    for (device, interface, remote), c in sorted(found.items()):
        local = iface_id(device, interface)
        refs.add(local)
        sightings.setdefault((local, remote), (c.protocol, c.port_id, SIGHTING_CONFIDENCE))
    return PairOut(links, sightings, frozenset(refs), tuple(link_ends))


def _obs_id(obs: FactRow) -> str:
    remote = device_id(
        obs.remote_system_name,
        chassis_id=obs.remote_chassis_id,
        management_ip=obs.remote_management_address,
    )
    return f"{iface_id(obs.device, obs.interface)}|{obs.protocol}|{remote}|{obs.remote_port or ''}"


def unmanaged_device(claims: Iterable[Claim]) -> dict[str, Any] | None:
    """The ``managed=False`` device the entries that resolve to it describe (as
    :func:`meshq_graph_engine.derive.derive_unmanaged` merges them), as its JSON form."""
    entries = sorted(
        ((c.protocol != _LLDP, _obs_id(c.obs), c.device, c.seq, c) for c in claims),
        key=lambda e: e[:4],
    )
    if not entries:
        return None
    target = entries[0][4].remote
    fields: dict[str, Any] = {"managed": False}
    caps: set[str] = set()
    for *_, c in entries:
        obs = c.obs
        if _clean(obs.remote_system_name):
            fields.setdefault("hostname", target)
        for key, value in (
            ("chassis_id", obs.remote_chassis_id),
            ("description", obs.remote_description),
            ("model", obs.remote_platform),
            ("management_ip", obs.remote_management_address),
        ):
            if value is not None:
                fields.setdefault(key, value)
        caps.update(obs.capabilities)
    try:
        device = Device(**fields, capabilities=tuple(sorted(caps)))
    except ValueError as exc:
        log.info("graph.unmanaged_skipped", device=target, reason=str(exc)[:200])
        return None
    if device.id != target:
        log.info("graph.unmanaged_skipped", device=target, reason=f"its record names {device.id}")
        return None
    return device.model_dump(mode="json")
