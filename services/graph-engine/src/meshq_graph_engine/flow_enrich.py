"""What the graph says about flow records: the exporter's device, the interfaces and links a
flow crosses there, and for each address its device, endpoint, switch port, subnet, site and
firewall zone.

The flow intake enriches every batch as it stores it (:class:`FlowEnricher`); the Flows queries
name addresses and exporters with the same lookups (:func:`holders`, :func:`exporter_devices`).
The lookups are kept per graph revision: what does not depend on the addresses (exporters,
ifIndexes, links, subnets, zones) is read whole once per revision; what an address maps to is
read for the addresses a batch holds and kept until the revision moves. Whatever the graph does
not hold, or holds more than once, stays empty: nothing is guessed.

- exporter -> device: the device whose management address it is, else the one device with an
  interface holding it;
- (device, ifIndex) -> interface id (``device|name``), and interface -> the link on it (the
  link id, the two interface ids joined by ``<->``);
- address -> the device with an interface holding it, the endpoint (MAC) using it and the port
  it is located on (an interface id), the longest subnet holding it (in any VRF: flows carry
  none), the site (its device's, else its switch's, else its subnet's), the firewall zone (the
  longest prefix a firewall reaches through a zone's interface: an interface's own network,
  or a route whose next hop is on it).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import structlog
from meshq_runtime.graph.store import GraphStore
from network_discovery.model.ids import link_id
from network_discovery.model.normalise import canonical_interface_name

from meshq_graph_engine import answers
from meshq_graph_engine.answers import ip_index

__all__ = [
    "ADDRESS_FIELDS",
    "ENRICHED_COLUMNS",
    "FlowEnricher",
    "GraphLookups",
    "address_text",
    "exporter_devices",
    "holders",
    "one",
    "read_lookups",
]

log = structlog.get_logger(__name__)

#: What each address of a flow is enriched with (``src_<field>``, ``dst_<field>``).
ADDRESS_FIELDS = ("device", "endpoint", "switch_port", "subnet", "site", "zone")
#: The columns enrichment adds to a flow (empty text where the graph says nothing).
ENRICHED_COLUMNS = (
    "exporter_device",
    "in_interface",
    "out_interface",
    "in_link",
    "out_link",
    *(f"{side}_{name}" for side in ("src", "dst") for name in ADDRESS_FIELDS),
)
#: Addresses whose answers are kept per revision before the cache starts again.
MAX_CACHED = 200_000
#: Interface names from options records kept by the enricher (exporter, version, domain,
#: ifIndex); beyond, new ones are not learnt (counted).
MAX_OPTION_NAMES = 1_000_000

_EXPORTER_BY_MANAGEMENT = (
    "UNWIND $ips AS ip MATCH (d:Device) WHERE d.management_ip = ip RETURN ip, d.id AS device"
)
_ADDRESS_HOLDERS = (
    "UNWIND $ips AS ip MATCH (a:IPAddress) WHERE a.ip = ip "
    "RETURN ip, a.device AS device, a.interface AS interface"
)
_ENDPOINTS_BY_IP = (
    "UNWIND $ips AS ip MATCH (e:Endpoint) WHERE ip IN e.ips "
    "RETURN ip, e.id AS mac, e.hostname AS hostname, e.device AS device, "
    "e.interface AS interface"
)
_DEVICES = "MATCH (d:Device) RETURN d.id AS id, d.site AS site"
_IF_INDEXES = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) WHERE i.if_index IS NOT NULL "
    "RETURN d.id AS device, i.if_index AS if_index, i.id AS interface"
)
_LINKS = "MATCH (a:Interface)-[:CONNECTED_TO]->(b:Interface) RETURN a.id AS a, b.id AS b"
_SUBNETS = "MATCH (s:Subnet) RETURN s.id AS id, s.cidr AS cidr, s.site AS site"
_ZONE_NETWORKS = (
    "MATCH (z:FirewallZone)<-[:IN_ZONE]-(i:Interface)-[:HAS_IP]->(a:IPAddress) "
    "RETURN z.id AS zone, i.device AS device, i.name AS interface, a.network AS network"
)
_ZONE_ROUTES = (
    "UNWIND $ids AS k MATCH (d:Device)-[:HAS_ROUTE]->(r:Route) WHERE d.id = k "
    "RETURN d.id AS device, r.prefix AS prefix, r.next_hops AS next_hops, "
    "r.interfaces AS interfaces"
)


def one(values: Iterable[str | None]) -> str | None:
    """The one value named, or None when none or several are."""
    found = {v for v in values if v}
    return next(iter(found)) if len(found) == 1 else None


async def holders(store: GraphStore, ips: list[str]) -> dict[str, dict[str, str | None]]:
    """Per address: the device whose interface holds it, the endpoint (MAC) using it, its
    host name and the port it is located on (``device|interface``); each None when the graph
    names none or several."""
    devices: dict[str, set[str]] = defaultdict(set)
    macs: dict[str, set[str]] = defaultdict(set)
    found: dict[str, dict[str, Any]] = {}
    if not ips:
        return {}
    if await answers.ip_index_ready(store):
        keys = sorted({ip_index.bucket_of(ip) for ip in ips})
        wanted = set(ips)
        for bucket in (await ip_index.read_buckets(store, keys)).values():
            for entry in bucket.interfaces():
                if entry[1] in wanted and entry[4]:
                    devices[entry[1]].add(entry[4])
            for entry in bucket.endpoints():
                if entry[1] in wanted:
                    macs[entry[1]].add(entry[2])
        live = await ip_index.live_endpoints(store, {m for s in macs.values() for m in s})
        for ip in list(macs):
            # an entry is a candidate: the endpoint must still hold the address
            macs[ip] = {m for m in macs[ip] if m in live and ip in (live[m]["ips"] or ())}
        found = live
    else:
        for row in await store.execute(_ADDRESS_HOLDERS, {"ips": ips}):
            if row["device"]:
                devices[row["ip"]].add(row["device"])
        for row in await store.execute(_ENDPOINTS_BY_IP, {"ips": ips}):
            macs[row["ip"]].add(row["mac"])
            found[row["mac"]] = row
    out: dict[str, dict[str, str | None]] = {}
    for ip in ips:
        mac = one(macs.get(ip, ()))
        endpoint = found.get(mac, {}) if mac else {}
        port = None
        if endpoint.get("device") and endpoint.get("interface"):
            port = f"{endpoint['device']}|{endpoint['interface']}"
        out[ip] = {
            "device": one(devices.get(ip, ())),
            "endpoint": mac,
            "hostname": endpoint.get("hostname"),
            "switch_port": port,
        }
    return out


async def exporter_devices(store: GraphStore, exporters: list[str]) -> dict[str, str | None]:
    """Per exporter address: its device (by management address, else the one device with an
    interface holding it), or None."""
    if not exporters:
        return {}
    by_management: dict[str, set[str]] = defaultdict(set)
    for row in await store.execute(_EXPORTER_BY_MANAGEMENT, {"ips": exporters}):
        by_management[row["ip"]].add(row["device"])
    rest = [e for e in exporters if e not in by_management]
    held = await holders(store, rest)
    return {
        e: one(by_management[e]) if e in by_management else held[e]["device"] for e in exporters
    }


# --- prefixes -------------------------------------------------------------------------------------


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _Prefixes:
    """Networks to a value, matched longest first; a length with two different values for an
    address answers None (the graph holds both: no guess)."""

    by_length: dict[tuple[int, int], dict[int, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def add(self, network: Network, value: str) -> None:
        self.by_length[(network.version, network.prefixlen)][int(network.network_address)].add(
            value
        )

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        bits = 32 if address.version == 4 else 128
        value = int(address)
        lengths = sorted((n for v, n in self.by_length if v == address.version), reverse=True)
        for length in lengths:
            key = value >> (bits - length) << (bits - length) if length else 0
            found = self.by_length[(address.version, length)].get(key)
            if found:
                return next(iter(found)) if len(found) == 1 else None
        return None


def _network(text: str | None) -> Network | None:
    if not text:
        return None
    try:
        return ipaddress.ip_network(text.rpartition("|")[2], strict=False)
    except ValueError:
        return None


# --- the lookups of one revision ------------------------------------------------------------------


@dataclass
class GraphLookups:
    """What the graph says, at one revision, of everything flows name but their addresses."""

    revision: int
    sites: dict[str, str | None] = field(default_factory=dict)
    #: (device, ifIndex) -> interface id
    if_index: dict[tuple[str, int], str] = field(default_factory=dict)
    #: interface id -> link id
    links: dict[str, str] = field(default_factory=dict)
    subnets: _Prefixes = field(default_factory=_Prefixes)
    subnet_sites: dict[str, str | None] = field(default_factory=dict)
    zones: _Prefixes = field(default_factory=_Prefixes)
    #: per address (text): its answers, filled as batches name addresses
    addresses: dict[str, dict[str, str | None]] = field(default_factory=dict)
    exporters: dict[str, str | None] = field(default_factory=dict)

    def address(self, ip: str, held: dict[str, str | None]) -> dict[str, str | None]:
        parsed = ipaddress.ip_address(ip)
        subnet = self.subnets.lookup(parsed)
        switch = held.get("switch_port")
        site = None
        if held.get("device"):
            site = self.sites.get(held["device"] or "")
        elif switch:
            site = self.sites.get(switch.partition("|")[0])
        elif subnet:
            site = self.subnet_sites.get(subnet)
        return {
            "device": held.get("device"),
            "endpoint": held.get("endpoint"),
            "switch_port": switch,
            "subnet": subnet,
            "site": site,
            "zone": self.zones.lookup(parsed),
        }


async def read_lookups(store: GraphStore, revision: int) -> GraphLookups:
    """The graph's devices, ifIndexes, links, subnets and firewall zones, read whole."""
    out = GraphLookups(revision)
    out.sites = {r["id"]: r["site"] for r in await store.execute(_DEVICES)}
    indexes: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in await store.execute(_IF_INDEXES):
        indexes[(r["device"], int(r["if_index"]))].add(r["interface"])
    out.if_index = {k: v.pop() for k, v in indexes.items() if len(v) == 1}
    on: dict[str, set[str]] = defaultdict(set)
    for r in await store.execute(_LINKS):
        if r["a"] and r["b"] and r["a"] != r["b"]:
            lid = link_id(r["a"], r["b"])
            on[r["a"]].add(lid)
            on[r["b"]].add(lid)
    out.links = {k: v.pop() for k, v in on.items() if len(v) == 1}
    for r in await store.execute(_SUBNETS):
        network = _network(r["cidr"])
        if network is not None:
            out.subnets.add(network, r["id"])
            out.subnet_sites[r["id"]] = r["site"]
    # a firewall's zones: the networks on each zone's interfaces, and the routes whose next
    # hop is on one (by the interface named, or by the next hop's address in its network)
    on_zone: dict[str, list[tuple[Network, str]]] = defaultdict(list)
    zone_of_interface: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in await store.execute(_ZONE_NETWORKS):
        network = _network(r["network"])
        zone_of_interface[(r["device"], r["interface"])].add(r["zone"])
        if network is not None:
            on_zone[r["device"]].append((network, r["zone"]))
            out.zones.add(network, r["zone"])
    if on_zone:
        for r in await store.execute(_ZONE_ROUTES, {"ids": sorted(on_zone)}):
            prefix = _network(r["prefix"])
            if prefix is None:
                continue
            zones: set[str] = set()
            for hop, interface in zip(r["next_hops"] or [], r["interfaces"] or [], strict=False):
                if interface:
                    zones |= zone_of_interface.get((r["device"], interface), set())
                elif hop:
                    address = ipaddress.ip_address(hop)
                    zones |= {z for n, z in on_zone[r["device"]] if address in n}
            if len(zones) == 1:
                out.zones.add(prefix, zones.pop())
    return out


# --- enriching batches ----------------------------------------------------------------------------


def address_text(raw: bytes | None) -> str | None:
    """A 16-byte address (IPv4 as IPv4-mapped IPv6) as text; None for ``::`` (none)."""
    if raw is None:
        return None
    address = ipaddress.IPv6Address(raw)
    if address == ipaddress.IPv6Address(0):
        return None
    return str(address.ipv4_mapped) if address.ipv4_mapped else str(address)


def _canonical(name: str | None) -> str:
    """An interface name as the graph spells it ('' when there is none)."""
    if not name:
        return ""
    try:
        return canonical_interface_name(name)
    except ValueError:
        return ""


def _distinct(values: pa.Array) -> list[str]:
    return [v for v in pc.unique(values).to_pylist() if v]


def _mapped(values: list[str | None], index: pa.Array) -> pa.Array:
    return pc.fill_null(pc.take(pa.array([v or "" for v in values], pa.string()), index), "")


class FlowEnricher:
    """Enriches decoded flow records with the graph at its current revision (``revision``
    tells it; the lookups are read again when it has moved)."""

    def __init__(self, store: GraphStore, revision: Callable[[], int]) -> None:
        self.store = store
        self.revision = revision
        self.lookups: GraphLookups | None = None
        #: (exporter, version, domain, ifIndex) -> the name options records gave it
        self.option_names: dict[tuple[str, int, int, int], str] = {}
        self.option_names_dropped = 0

    def learn_names(self, names: Iterable[tuple[str, int, int, int, str]]) -> None:
        """Interface names exporters told in options records (exporter, version, domain,
        ifIndex, name): used for an ifIndex the graph does not name, never over the graph."""
        for exporter, version, domain, if_index, name in names:
            key = (exporter, int(version), int(domain), int(if_index))
            if key not in self.option_names and len(self.option_names) >= MAX_OPTION_NAMES:
                self.option_names_dropped += 1
                continue
            if name:
                self.option_names[key] = name
            else:
                self.option_names.pop(key, None)

    async def current(self) -> GraphLookups:
        now = self.revision()
        if self.lookups is None or self.lookups.revision != now:
            self.lookups = await read_lookups(self.store, now)
            log.info("flows.enrich.lookups", revision=now, interfaces=len(self.lookups.if_index))
        return self.lookups

    @staticmethod
    def blank(records: pa.Table) -> pa.Table:
        """``records`` with every enrichment column empty (unknown)."""
        empty = pa.array([""] * records.num_rows, pa.string())
        out = records
        for name in ENRICHED_COLUMNS:
            out = out.append_column(name, empty)
        return out

    async def enrich(self, records: pa.Table) -> pa.Table:
        """``records`` (the decoder's columns) with :data:`ENRICHED_COLUMNS` added."""
        lookups = await self.current()
        if len(lookups.addresses) > MAX_CACHED:
            lookups.addresses.clear()
        exporters = pc.unique(records["exporter"]).to_pylist()
        missing = [e for e in exporters if e not in lookups.exporters]
        lookups.exporters.update(await exporter_devices(self.store, missing))
        exporter_index = pc.index_in(records["exporter"], pa.array(exporters, pa.string()))
        devices = [lookups.exporters.get(e) for e in exporters]
        columns: dict[str, pa.Array] = {"exporter_device": _mapped(devices, exporter_index)}
        # interfaces and links per (exporter, version, domain, ifIndex): the graph's interface
        # with that ifIndex on the exporter's device, else the device's interface named as the
        # exporter's options records name it
        for direction, column in (("in", "input_if"), ("out", "output_if")):
            names_at = self._interface_names(records, exporters, exporter_index, column, lookups)
            columns[f"{direction}_interface"] = names_at
            links = pc.fill_null(
                pc.take(
                    pa.array([lookups.links.get(n, "") for n in _distinct(names_at)], pa.string()),
                    pc.index_in(names_at, pa.array(_distinct(names_at), pa.string())),
                ),
                "",
            )
            columns[f"{direction}_link"] = links
        # addresses
        for side in ("src", "dst"):
            raw = records[f"{side}_addr"]
            unique_raw = pc.unique(raw)
            texts = [address_text(v) for v in unique_raw.to_pylist()]
            wanted = sorted({t for t in texts if t and t not in lookups.addresses})
            held = await holders(self.store, wanted)
            for ip in wanted:
                lookups.addresses[ip] = lookups.address(ip, held[ip])
            where = pc.index_in(raw, unique_raw)
            for name in ADDRESS_FIELDS:
                values = [lookups.addresses[t][name] if t else None for t in texts]
                columns[f"{side}_{name}"] = _mapped(values, where)
        out = records
        for name in ENRICHED_COLUMNS:
            out = out.append_column(name, columns[name])
        return out

    def _interface_names(
        self,
        records: pa.Table,
        exporters: list[str],
        exporter_index: pa.Array,
        column: str,
        lookups: GraphLookups,
    ) -> pa.Array:
        """Per record, the interface id (``device|name``) of ``column``'s ifIndex, or ''."""
        keys = ["e", "v", "d", "i"]
        pairs = pa.table(
            {
                "e": exporter_index,
                "v": records["version"],
                "d": records["domain"],
                "i": records[column],
            }
        )
        unique = pairs.group_by(keys, use_threads=False).aggregate([])
        names: list[str] = []
        for e, v, d, i in zip(*(unique[k].to_pylist() for k in keys), strict=True):
            device = lookups.exporters.get(exporters[e]) if e is not None else None
            name = ""
            if device and i:
                name = lookups.if_index.get((device, i), "")
                if not name:
                    told = _canonical(self.option_names.get((exporters[e], v, d, i)))
                    name = f"{device}|{told}" if told else ""
            names.append(name)
        named = unique.append_column("name", pa.array(names, pa.string()))
        rows = pairs.append_column("row", pa.array(range(pairs.num_rows), pa.int64()))
        joined = rows.join(named, keys=keys, join_type="left outer", use_threads=False)
        joined = joined.sort_by("row")
        return pc.fill_null(joined["name"], "").combine_chunks()
