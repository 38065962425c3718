"""What NetBox holds that a push compares against, read once per run (all pages, chunked
filters), so planning makes no further requests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from network_discovery.integrations.netbox._client import NetBoxClient
from network_discovery.integrations.netbox._match import match_devices
from network_discovery.integrations.netbox._plan import slugify

__all__ = ["NetBoxState", "load_state"]

_CHUNK = 50
_SHARED = (
    "dcim/sites",
    "dcim/device-roles",
    "dcim/manufacturers",
    "dcim/device-types",
    "dcim/platforms",
)


def _host(address: str) -> str:
    return address.split("/", 1)[0]


@dataclass
class NetBoxState:
    tag: str
    devices: list[dict[str, Any]] = field(default_factory=list)
    shared: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)
    interfaces: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    macs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: VLANs of the sites the push's devices are at: site id -> VLAN id -> VLANs
    vlans: dict[int, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    #: read for a prune only: tagged VLAN's NetBox id -> the interfaces NetBox lists as using
    #: it (untagged, tagged or Q-in-Q service VLAN), any device's
    vlan_users: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def known(self) -> dict[str, int]:
        found = [int(t["id"]) for t in self.tags if t.get("slug") == slugify(self.tag)]
        return {"tag": found[0]} if found else {}

    def find_named(self, collection: str, name: str) -> dict[str, Any] | None:
        for obj in self.shared.get(collection, []):
            if obj.get("slug") == slugify(name) or str(obj.get("name", "")).lower() == name.lower():
                return obj
        return None

    def find_device_type(self, manufacturer: int | None, model: str) -> dict[str, Any] | None:
        if manufacturer is None:
            return None
        for obj in self.shared.get("dcim/device-types", []):
            if (obj.get("manufacturer") or {}).get("id") == manufacturer and (
                str(obj.get("model", "")).lower() == model.lower()
                or obj.get("slug") == slugify(model)
            ):
                return obj
        return None

    def find_platform(self, platform: str) -> dict[str, Any] | None:
        slugs = {platform, platform.replace("_", "-"), slugify(platform)}
        for obj in self.shared.get("dcim/platforms", []):
            if obj.get("slug") in slugs:
                return obj
        return None

    def vlans_at(self, site: int, vid: int) -> list[dict[str, Any]]:
        return self.vlans.get(site, {}).get(vid, [])

    def tagged_vlans(self) -> Iterable[dict[str, Any]]:
        return [
            v
            for s in sorted(self.vlans)
            for vid in sorted(self.vlans[s])
            for v in self.vlans[s][vid]
        ]

    def interfaces_of(self, device: int) -> list[dict[str, Any]]:
        return self.interfaces.get(device, [])

    def macs_of(self, interface: int) -> list[dict[str, Any]]:
        return self.macs.get(interface, [])

    def addresses_named(self, address: str) -> list[dict[str, Any]]:
        return self.addresses.get(_host(address), [])

    def tagged_interfaces(self, devices: set[int]) -> Iterable[dict[str, Any]]:
        return [i for d in sorted(devices) for i in self.interfaces.get(d, [])]

    def tagged_macs(self, devices: set[int]) -> Iterable[dict[str, Any]]:
        ifaces = {int(i["id"]) for i in self.tagged_interfaces(devices)}
        return [m for i in sorted(ifaces) for m in self.macs.get(i, [])]

    def tagged_addresses(self, devices: set[int]) -> Iterable[dict[str, Any]]:
        ifaces = {int(i["id"]) for i in self.tagged_interfaces(devices)}
        seen: dict[int, dict[str, Any]] = {}
        for rows in self.addresses.values():
            for a in rows:
                if a.get("assigned_object_id") in ifaces:
                    seen[int(a["id"])] = a
        return [seen[k] for k in sorted(seen)]


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def load_state(
    client: NetBoxClient,
    graph: list[dict[str, Any]],
    tag: str,
    default_site: str = "",
    *,
    prune: bool = False,
) -> NetBoxState:
    state = NetBoxState(tag=tag)
    state.tags = await client.list("extras/tags", slug=slugify(tag))
    for collection in _SHARED:
        state.shared[collection] = await client.list(collection)
    state.devices = await client.list("dcim/devices")
    matches = match_devices(graph, state.devices)
    wanted_ids = matches.netbox_ids()
    if prune:  # the sync's own devices nothing matches: what is on them decides their prune
        wanted_ids |= {
            int(d["id"])
            for d in state.devices
            if slugify(tag) in {t.get("slug") for t in d.get("tags") or []}
        }
    ids = sorted(wanted_ids)
    names = {slugify(r.get("site") or default_site) for r in graph} | {slugify(default_site)}
    sites = {int(nb["site"]["id"]) for nb in matches.found.values() if nb.get("site")}
    sites |= {int(s["id"]) for s in state.shared["dcim/sites"] if s.get("slug") in names}
    for chunk in _chunks(sorted(sites)):
        for vlan in await client.list("ipam/vlans", site_id=chunk):
            site = int(vlan["site"]["id"])
            state.vlans.setdefault(site, {}).setdefault(int(vlan["vid"]), []).append(vlan)
    if prune:  # what a prune may delete: ask NetBox who still uses each (one filter value)
        for vlan in state.tagged_vlans():
            if slugify(tag) in {t.get("slug") for t in vlan.get("tags", [])}:
                users = await client.list("dcim/interfaces", vlan_id=int(vlan["id"]))
                state.vlan_users[int(vlan["id"])] = list({int(i["id"]): i for i in users}.values())
    by_device: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_iface: dict[int, list[dict[str, Any]]] = defaultdict(list)
    addresses: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for chunk in _chunks(ids):
        for iface in await client.list("dcim/interfaces", device_id=chunk):
            by_device[int(iface["device"]["id"])].append(iface)
        for mac in await client.list("dcim/mac-addresses", device_id=chunk):
            if mac.get("assigned_object_id") is not None:
                by_iface[int(mac["assigned_object_id"])].append(mac)
        for ip in await client.list("ipam/ip-addresses", device_id=chunk):
            addresses[_host(ip["address"])][int(ip["id"])] = ip
    wanted = sorted(
        {
            _host(a)
            for row in graph
            for i in row.get("interfaces", [])
            for a in i.get("addresses", [])
        }
    )
    for chunk in _chunks(wanted):
        for ip in await client.list("ipam/ip-addresses", address=chunk):
            addresses[_host(ip["address"])][int(ip["id"])] = ip
    state.interfaces, state.macs = dict(by_device), dict(by_iface)
    state.addresses = {k: [v[i] for i in sorted(v)] for k, v in addresses.items()}
    return state
