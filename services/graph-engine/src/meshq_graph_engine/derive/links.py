"""Links and unmanaged devices from LLDP/CDP neighbour entries, matched across both ends."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from network_discovery.model import (
    Device,
    Interface,
    InterfaceRef,
    IPAddress,
    Link,
    LinkEvidence,
    NeighborObservation,
    NeighborProtocol,
    canonical_interface_name,
    interface_id,
)

from meshq_graph_engine.derive._resolve import DeviceIndex, clean_name

__all__ = [
    "MIXED_CONFIDENCE",
    "SIGHTING_CONFIDENCE",
    "Sighting",
    "derive_links",
    "derive_sightings",
    "derive_unmanaged",
    "uplink_ports",
]

#: Both ends saw each other, but one by LLDP and the other by CDP.
MIXED_CONFIDENCE = 0.9
#: A neighbour seen on a port, whose own port could not be named: less than a link.
SIGHTING_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Sighting:
    """A neighbour seen from ``device``/``interface`` whose port the entry does not name (a
    locally assigned id no interface of the far device answers to): recorded as seen, with
    the raw id, never as a link to a made-up interface."""

    device: str
    interface: str
    remote: str
    port_id: str | None
    protocol: NeighborProtocol
    managed: bool
    confidence: float = SIGHTING_CONFIDENCE


_LLDP, _CDP = NeighborProtocol.LLDP, NeighborProtocol.CDP


@dataclass(frozen=True)
class _Claim:
    """One entry, resolved: ``device``/``interface`` see ``remote`` on ``remote_port``."""

    device: str
    interface: str
    remote: str
    remote_port: str | None
    protocol: NeighborProtocol
    managed: bool
    port_id: str | None = None  # the id as sent, when it names no port


def _claims(index: DeviceIndex, neighbors: Iterable[NeighborObservation]) -> list[_Claim]:
    claims: list[_Claim] = []
    for obs in neighbors:
        target = index.resolve(obs)
        port = None
        if obs.remote_port is None and obs.remote_port_id and obs.remote_port_id.isdigit():
            # a locally assigned id: the far device's ifIndex, when its interfaces say
            port = index.if_names.get((target.device, int(obs.remote_port_id)))
        elif obs.remote_port is not None:
            port = canonical_interface_name(obs.remote_port, target.platform)
            known = index.ports.get(target.device)
            if target.managed and known and port not in known and obs.remote_port_description:
                described = canonical_interface_name(obs.remote_port_description, target.platform)
                port = described if described in known else port
        claims.append(
            _Claim(
                obs.device,
                obs.interface,
                target.device,
                port,
                obs.protocol,
                target.managed,
                obs.remote_port_id,
            )
        )
    return claims


def _far_port(claim: _Claim, reverse: list[_Claim]) -> str | None:
    """The far end's port: the one the far device reports as its own when it sees us."""
    back = [r for r in reverse if r.remote_port in (None, claim.interface)]
    exact = [r for r in back if r.remote_port == claim.interface]
    if claim.remote_port is not None and any(r.interface == claim.remote_port for r in back):
        return claim.remote_port
    candidates = {r.interface for r in (exact or back)}
    if len(candidates) == 1:
        return candidates.pop()
    return claim.remote_port


def _evidence(reports: set[tuple[str, NeighborProtocol]]) -> tuple[LinkEvidence, float]:
    by_protocol: dict[NeighborProtocol, set[str]] = defaultdict(set)
    for device, protocol in reports:
        by_protocol[protocol].add(device)
    lldp, cdp = by_protocol[_LLDP], by_protocol[_CDP]
    if len(lldp) >= 2:
        return LinkEvidence.LLDP_BOTH, LinkEvidence.LLDP_BOTH.default_confidence
    if len(cdp) >= 2:
        return LinkEvidence.CDP_BOTH, LinkEvidence.CDP_BOTH.default_confidence
    if lldp and cdp and lldp != cdp:
        return LinkEvidence.LLDP_ONE, MIXED_CONFIDENCE
    if lldp:
        return LinkEvidence.LLDP_ONE, LinkEvidence.LLDP_ONE.default_confidence
    return LinkEvidence.CDP_ONE, LinkEvidence.CDP_ONE.default_confidence


def derive_links(
    devices: Iterable[Device],
    interfaces: Iterable[Interface],
    neighbors: Iterable[NeighborObservation],
    ip_addresses: Iterable[IPAddress] = (),
) -> list[Link]:
    """Links from neighbour entries: both ends matched, names normalised across vendors.

    ``devices`` are the collected devices (unmanaged ones are ignored here); a neighbour
    that is none of them gets a link to its unmanaged device (see :func:`derive_unmanaged`),
    on the port it advertised, preferring LLDP's port id to CDP's. Evidence: LLDP or CDP
    from both ends, else from one end (``lldp_one`` with confidence 0.9 when the two ends
    saw each other by different protocols). Sorted by link id.
    """
    index = DeviceIndex.build(devices, interfaces, ip_addresses)
    claims = _claims(index, neighbors)
    toward: dict[tuple[str, str], list[_Claim]] = defaultdict(list)
    for c in claims:
        toward[(c.device, c.remote)].append(c)
    reports: dict[tuple[tuple[str, str], tuple[str, str]], set[tuple[str, NeighborProtocol]]]
    reports = defaultdict(set)
    unmanaged: dict[tuple[str, str, str], dict[NeighborProtocol, str]] = defaultdict(dict)
    for c in claims:
        if not c.managed:
            if c.remote_port is not None:
                unmanaged[(c.device, c.interface, c.remote)].setdefault(c.protocol, c.remote_port)
            continue
        port = _far_port(c, toward.get((c.remote, c.device), []))
        if port is None or (c.remote, port) == (c.device, c.interface):
            continue
        a, b = sorted([(c.device, c.interface), (c.remote, port)])
        reports[(a, b)].add((c.device, c.protocol))
    for (device, interface, remote), ports in unmanaged.items():
        port = ports.get(_LLDP) or ports[_CDP]
        for protocol in ports:
            a, b = sorted([(device, interface), (remote, port)])
            reports[(a, b)].add((device, protocol))
    links: dict[str, Link] = {}
    for (a, b), seen in reports.items():
        evidence, confidence = _evidence(seen)
        link = Link(
            a=InterfaceRef(device=a[0], interface=a[1]),
            b=InterfaceRef(device=b[0], interface=b[1]),
            evidence=evidence,
            confidence=confidence,
        )
        links[link.id] = link
    return [links[k] for k in sorted(links)]


def derive_sightings(
    devices: Iterable[Device],
    interfaces: Iterable[Interface],
    neighbors: Iterable[NeighborObservation],
    ip_addresses: Iterable[IPAddress] = (),
    links: Iterable[Link] | None = None,
) -> list[Sighting]:
    """The neighbour entries :func:`derive_links` could not turn into a link because the far
    port has no name (not sent as one, no ifIndex or reverse entry names it), except where a
    link already joins that port to that device. ``links``: those :func:`derive_links` gave
    for the same facts (derived here when not passed)."""
    devices = list(devices)
    interfaces = list(interfaces)
    neighbors = list(neighbors)
    ip_addresses = list(ip_addresses)
    if links is None:
        links = derive_links(devices, interfaces, neighbors, ip_addresses)
    index = DeviceIndex.build(devices, interfaces, ip_addresses)
    claims = _claims(index, neighbors)
    toward: dict[tuple[str, str], list[_Claim]] = defaultdict(list)
    for c in claims:
        toward[(c.device, c.remote)].append(c)
    linked = {
        (end.device, end.interface, other.device)
        for link in links
        for end, other in ((link.a, link.b), (link.b, link.a))
    }
    found: dict[tuple[str, str, str], Sighting] = {}
    for c in claims:
        if (c.device, c.interface, c.remote) in linked:
            continue
        port = _far_port(c, toward.get((c.remote, c.device), [])) if c.managed else c.remote_port
        if port is not None:
            continue
        key = (c.device, c.interface, c.remote)
        found.setdefault(
            key,
            Sighting(c.device, c.interface, c.remote, c.port_id, c.protocol, c.managed),
        )
    return [found[k] for k in sorted(found)]


def derive_unmanaged(
    devices: Iterable[Device],
    neighbors: Iterable[NeighborObservation],
    interfaces: Iterable[Interface] = (),
    ip_addresses: Iterable[IPAddress] = (),
) -> list[Device]:
    """A ``managed=False`` device for every neighbour that is not a collected device.

    It carries what the entries tell: the system name (short form), chassis id,
    description, platform (as model), capabilities and management address; several
    entries for the same neighbour (LLDP and CDP, several ports) are merged. Entries that
    give no valid device record (a free-text name, no chassis id or address) make none.
    """
    index = DeviceIndex.build(devices, interfaces, ip_addresses)
    merged: dict[str, dict[str, object]] = {}
    caps: dict[str, set[str]] = defaultdict(set)
    for obs in sorted(neighbors, key=lambda o: (o.protocol != _LLDP, o.id)):
        target = index.resolve(obs)
        if target.managed:
            continue
        fields = merged.setdefault(target.device, {"managed": False})
        if clean_name(obs.remote_system_name):
            fields.setdefault("hostname", target.device)
        for key, value in (
            ("chassis_id", obs.remote_chassis_id),
            ("description", obs.remote_description),
            ("model", obs.remote_platform),
            ("management_ip", obs.remote_management_address),
        ):
            if value is not None:
                fields.setdefault(key, value)
        caps[target.device].update(obs.capabilities)
    result = []
    for key, fields in merged.items():
        try:
            device = Device(**fields, capabilities=tuple(sorted(caps[key])))
        except ValueError:
            continue  # entries that name no usable device (free text, no chassis or address)
        if device.id == key:
            result.append(device)
    return sorted(result, key=lambda d: d.id)


def uplink_ports(links: Iterable[Link], managed: set[str]) -> set[str]:
    """Interface ids of link ends whose far end is a collected device."""
    ports: set[str] = set()
    for link in links:
        if link.b.device in managed:
            ports.add(interface_id(link.a.device, link.a.interface))
        if link.a.device in managed:
            ports.add(interface_id(link.b.device, link.b.interface))
    return ports
