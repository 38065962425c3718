"""What a VLAN or subnet failure needs beyond the topology, kept per graph revision.

A VLAN failure takes the VLAN's owners (``VLAN`` nodes on a device), its SVIs (interfaces named
``Vlan<N>`` or ``irb.<N>``) and the endpoints in it; a subnet failure takes the interfaces with
an address inside it and the endpoints using such an address. Asking the store for these on
every failure scans every interface, endpoint and address (seconds at 10,000 devices), so they
are read once and kept here:

- endpoints by slot: id, device, where it is located (its device when it names an interface),
  VLAN (a numpy column, so a VLAN's endpoints are one comparison over it) and addresses;
- addresses (interface and endpoint ones) as numpy columns of version and 128-bit value, so
  the addresses inside a CIDR are one masked comparison over them;
- SVIs by name, VLAN owners by VLAN.

On the writer they are kept up to date from each change's difference (``LiveSegments``, the
same bookkeeping as the topology's: only the endpoints, VLANs and interfaces a change touched
are read again); a query-only replica reads them whole once per revision. Values reach Cypher
as parameters only.
"""

from __future__ import annotations

import ipaddress
import re
import sys
import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from meshq_runtime.graph.store import GraphStore
from network_discovery.model import canonical_interface_name

from meshq_graph_engine.blast._live import MAX_TOUCHED_KEYS, MAX_TOUCHED_SHARE, Follower, chunks

__all__ = [
    "SVI_NAMES",
    "LiveSegments",
    "Segments",
    "live_segments",
    "load_segments",
    "parse_address",
    "read_segments",
    "segment_keys",
    "svi_names",
]

_LOW = (1 << 64) - 1
_intern = sys.intern
_ENDPOINT = "e.id AS id, e.ips AS ips, e.vlan AS vlan, e.device AS device, e.interface AS interface"
_ENDPOINTS = "MATCH (e:Endpoint) RETURN " + _ENDPOINT
_ENDPOINTS_IN = "UNWIND $ids AS k MATCH (e:Endpoint) WHERE e.id = k RETURN " + _ENDPOINT
_ADDRESS = "i.id AS interface, i.device AS device, i.name AS name, a.id AS id, a.ip AS ip"
_ADDRESSES = "MATCH (i:Interface)-[:HAS_IP]->(a:IPAddress) RETURN " + _ADDRESS
_ADDRESSES_AT = (
    "UNWIND $ids AS k MATCH (i:Interface)-[:HAS_IP]->(a:IPAddress) WHERE i.id = k RETURN "
    + _ADDRESS
)
_VLAN = "v.id AS id, v.vlan AS vlan, v.device AS device"
_VLANS = "MATCH (v:VLAN) RETURN " + _VLAN
_VLANS_IN = "UNWIND $ids AS k MATCH (v:VLAN) WHERE v.id = k RETURN " + _VLAN
_SVIS_IN = (
    "UNWIND $ids AS k MATCH (i:Interface) WHERE i.id = k RETURN i.id AS id, i.device AS device, "
    "i.name AS name"
)


def svi_names(vlan: int) -> list[str]:
    """The names a VLAN's SVI has (``Vlan<N>``, ``irb.<N>``), canonical, sorted."""
    return sorted({canonical_interface_name(n) for n in (f"Vlan{vlan}", f"irb.{vlan}")})


#: Every SVI name, with its VLAN.
SVI_NAMES: dict[str, int] = {name: vlan for vlan in range(1, 4095) for name in svi_names(vlan)}
_SVI_PREFIXES = sorted({re.sub(r"\d+$", "", name) for name in SVI_NAMES})
# a scan by name prefix (``IN`` over 8,188 names checks each interface against the whole list)
_SVIS = (
    "MATCH (i:Interface) WHERE "
    + " OR ".join(f"i.name STARTS WITH $p{n}" for n in range(len(_SVI_PREFIXES)))
    + " RETURN i.id AS id, i.device AS device, i.name AS name"
)
_SVI_PARAMS = {f"p{n}": prefix for n, prefix in enumerate(_SVI_PREFIXES)}


def parse_address(text: Any) -> tuple[int, int] | None:
    """(version, value) of a host address; None for what is not one. Dotted IPv4 without
    ``ipaddress`` (which costs more than the rest of an entry); anything else through it."""
    if not isinstance(text, str):
        return None
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if max(a, b, c, d) <= 255:
            return 4, (a << 24) | (b << 16) | (c << 8) | d
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.version, int(address)


class _Addresses:
    """Addresses in numpy columns (version, high and low 64 bits), each held by an integer
    owner; removed ones are marked (version 0) and the columns compacted when half are."""

    def __init__(self) -> None:
        self._version: npt.NDArray[np.int8] = np.zeros(0, dtype=np.int8)  # 0: removed
        self._hi: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self._lo: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self._owner: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._n = 0
        self._removed = 0

    def load(
        self,
        owner: npt.NDArray[np.int64],
        version: npt.NDArray[np.int8],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
    ) -> None:
        """Start from columns (version 0: no address, left out)."""
        keep = np.flatnonzero(version != 0)
        self._version, self._hi, self._lo = version[keep], hi[keep], lo[keep]
        self._owner = owner[keep].astype(np.int64)
        self._n, self._removed = len(keep), 0

    def remove(self, owners: Collection[int]) -> None:
        """Every address of these owners."""
        n = self._n
        if not owners or not n:
            return
        wanted = np.fromiter(owners, dtype=np.int64, count=len(owners))
        hit = np.isin(self._owner[:n], wanted) & (self._version[:n] != 0)
        self._version[:n][hit] = 0
        self._removed += int(hit.sum())
        if self._removed > max(1024, n // 2):
            keep = np.flatnonzero(self._version[:n] != 0)
            self.load(self._owner[keep], self._version[keep], self._hi[keep], self._lo[keep])

    def add(self, owner: int, addresses: Iterable[tuple[int, int]]) -> None:
        for version, value in addresses:
            slot = self._n
            if slot >= len(self._version):
                grow = max(64, len(self._version))
                self._version = np.concatenate([self._version, np.zeros(grow, dtype=np.int8)])
                self._hi = np.concatenate([self._hi, np.zeros(grow, dtype=np.uint64)])
                self._lo = np.concatenate([self._lo, np.zeros(grow, dtype=np.uint64)])
                self._owner = np.concatenate([self._owner, np.zeros(grow, dtype=np.int64)])
            self._version[slot] = version
            self._hi[slot] = value >> 64
            self._lo[slot] = value & _LOW
            self._owner[slot] = owner
            self._n += 1

    def within(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[int]:
        """The owners of an address inside ``network``."""
        n = self._n
        if not n:
            return []
        bits = network.max_prefixlen
        mask = ((1 << bits) - 1) ^ ((1 << (bits - network.prefixlen)) - 1)
        base = int(network.network_address)
        hit = self._version[:n] == network.version
        if mask >> 64:
            hit &= (self._hi[:n] & np.uint64(mask >> 64)) == np.uint64(base >> 64)
        hit &= (self._lo[:n] & np.uint64(mask & _LOW)) == np.uint64(base & _LOW)
        return [int(o) for o in np.unique(self._owner[:n][hit])]


#: A dotted IPv4 address as the model writes it (no leading zeros).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"


def _parse_column(texts: Any) -> tuple[Any, Any, Any]:
    """Version, high and low 64 bits of each address of an Arrow string array (version 0:
    not an address); dotted IPv4 in columns, the rest one at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(texts)
    version = np.zeros(n, dtype=np.int8)
    hi = np.zeros(n, dtype=np.uint64)
    lo = np.zeros(n, dtype=np.uint64)
    if not n:
        return version, hi, lo
    dotted = pc.fill_null(pc.match_substring_regex(texts, _DOTTED), False)
    where = np.flatnonzero(dotted.to_numpy(zero_copy_only=False))
    if len(where):
        quads = pc.list_flatten(pc.split_pattern(pc.filter(texts, dotted), "."))
        octets = pc.cast(quads, "uint64").to_numpy().reshape(-1, 4)
        version[where] = 4
        lo[where] = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
    rest = np.flatnonzero(~dotted.to_numpy(zero_copy_only=False))
    if not len(rest):
        return version, hi, lo
    others = pc.take(texts, pa.array(rest, pa.int64())).to_pylist()
    for i, text in zip(rest.tolist(), others, strict=True):
        if (address := parse_address(text)) is not None:
            version[i], hi[i], lo[i] = address[0], address[1] >> 64, address[1] & _LOW
    return version, hi, lo


def _addresses(ips: Any) -> list[tuple[int, int]]:
    return [a for ip in ips or () if (a := parse_address(ip)) is not None]


def _grow(column: npt.NDArray[np.int32], size: int) -> npt.NDArray[np.int32]:
    if size <= len(column):
        return column
    more = np.full(max(64, len(column), size - len(column)), -1, dtype=np.int32)
    return np.concatenate([column, more])


class Segments:
    """The lookups VLAN and subnet failures resolve with (see the module docstring)."""

    def __init__(self) -> None:
        #: endpoints by slot: id, and in numpy columns (-1: none) the device (an index into
        #: ``names``), where it is located (its device when it names an interface) and VLAN
        self.ids: list[str | None] = []
        self.slot: dict[str, int] = {}
        self.device: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.located: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.vlan: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self.free: list[int] = []
        self.names: list[str] = []
        self._name_at: dict[str, int] = {}
        #: endpoint addresses (owner: the endpoint's slot)
        self.endpoint_ips = _Addresses()
        #: interface addresses (owner: the number of (interface id, address id)), with the
        #: interface's (device, name), and per interface its address ids
        self.interface_ips = _Addresses()
        self._address_key: list[tuple[str, str]] = []
        self._address_number: dict[tuple[str, str], int] = {}
        self.address_of: dict[tuple[str, str], tuple[str, str]] = {}
        self.addresses_on: dict[str, set[str]] = {}
        #: SVI name -> {interface id: device}
        self.svis: dict[str, dict[str, str | None]] = {}
        #: VLAN node id -> (VLAN, device), and VLAN -> {node id: device}
        self.vlan_nodes: dict[str, tuple[int, str]] = {}
        self.owners: dict[int, dict[str, str]] = {}

    def _name(self, value: str | None) -> int:
        if value is None:
            return -1
        at = self._name_at.get(value)
        if at is None:
            at = self._name_at[value] = len(self.names)
            self.names.append(value)
        return at

    def _named(self, at: int) -> str | None:
        return self.names[at] if at >= 0 else None

    # -- what resolution asks --------------------------------------------------------------

    def vlan_members(self, vlan: int) -> list[tuple[str, str | None, str | None]]:
        """The endpoints in ``vlan``: (id, device, where located)."""
        n = len(self.ids)
        slots = np.flatnonzero(self.vlan[:n] == vlan)
        names = [None, *self.names]  # index -1 -> None
        devices = (self.device[slots] + 1).tolist()
        located = (self.located[slots] + 1).tolist()
        ids = self.ids
        return [
            (ids[s], names[d], names[lo])  # type: ignore[misc]
            for s, d, lo in zip(slots.tolist(), devices, located, strict=True)
        ]

    def vlan_owners(self, vlan: int) -> set[str]:
        return set(self.owners.get(vlan, {}).values())

    def svis_of(self, vlan: int) -> list[tuple[str, str | None]]:
        """The VLAN's SVIs, (interface id, device), by id."""
        return sorted(
            (i, device) for name in svi_names(vlan) for i, device in self.svis.get(name, {}).items()
        )

    def endpoints_in(
        self, network: ipaddress.IPv4Network | ipaddress.IPv6Network
    ) -> dict[str, str | None]:
        """The endpoints using an address inside ``network``: id -> where located."""
        out: dict[str, str | None] = {}
        for s in self.endpoint_ips.within(network):
            endpoint = self.ids[s]
            if endpoint is not None:
                out[endpoint] = self._named(int(self.located[s]))
        return out

    def interfaces_in(
        self, network: ipaddress.IPv4Network | ipaddress.IPv6Network
    ) -> set[tuple[str, str]]:
        """The interfaces with an address inside ``network``: (device, name)."""
        keys = self._address_key
        return {self.address_of[keys[k]] for k in self.interface_ips.within(network)}

    # -- keeping them ----------------------------------------------------------------------

    def load_endpoints(self, rows: list[dict[str, Any]]) -> None:
        """Every endpoint, from rows (``id``, ``ips``, ``vlan``, ``device``, ``interface``)."""
        ids = [_intern(r["id"]) for r in rows]
        self.ids = list(ids)
        self.slot = {e: s for s, e in enumerate(ids)}
        n = len(rows)
        device = [self._name(r["device"]) for r in rows]
        self.device = np.array(device, dtype=np.int32).reshape(n)
        located = [d if r.get("interface") else -1 for d, r in zip(device, rows, strict=True)]
        self.located = np.array(located, dtype=np.int32).reshape(n)
        vlans = [-1 if r["vlan"] is None else r["vlan"] for r in rows]
        self.vlan = np.array(vlans, dtype=np.int32).reshape(n)
        self.free = []
        entries = [(s, *a) for s, r in enumerate(rows) for a in _addresses(r["ips"])]
        self.endpoint_ips.load(
            np.array([e[0] for e in entries], dtype=np.int64),
            np.array([e[1] for e in entries], dtype=np.int8),
            np.array([e[2] >> 64 for e in entries], dtype=np.uint64),
            np.array([e[2] & _LOW for e in entries], dtype=np.uint64),
        )

    def load_endpoint_table(self, table: Any) -> None:
        """:meth:`load_endpoints` from an Arrow table of the same columns (no object per
        endpoint but its id, none per address but those not in dotted IPv4)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        table = table.combine_chunks()
        n = table.num_rows
        if not n:
            self.load_endpoints([])
            return

        def column(name: str) -> Any:
            return table.column(name).chunk(0)

        # interned: the endpoint ids the live graph holds already, not a copy per read
        ids: list[str] = list(map(_intern, column("id").to_pylist()))
        self.ids = list(ids)
        self.slot = {e: s for s, e in enumerate(ids)}
        encoded = pc.dictionary_encode(column("device"))
        for name in encoded.dictionary.to_pylist():
            self._name(name)
        at = np.array([self._name_at[x] for x in encoded.dictionary.to_pylist()], np.int32)
        index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        self.device = np.where(index >= 0, at[np.maximum(index, 0)] if len(at) else -1, -1)
        self.device = self.device.astype(np.int32)
        named = pc.fill_null(pc.not_equal(column("interface"), ""), False)
        self.located = np.where(named.to_numpy(zero_copy_only=False), self.device, -1)
        self.located = self.located.astype(np.int32)
        vlan = pc.fill_null(column("vlan"), -1).to_numpy(zero_copy_only=False)
        self.vlan = vlan.astype(np.int32)
        self.free = []
        lists = column("ips")
        owners = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        texts = pc.list_flatten(lists)
        if not len(texts):
            texts = pa.array([], pa.string())
        self.endpoint_ips.load(owners.astype(np.int64), *_parse_column(texts))

    def drop_endpoints(self, endpoints: Iterable[str]) -> None:
        slots = [s for e in endpoints if (s := self.slot.pop(e, None)) is not None]
        for s in slots:
            self.ids[s] = None
        self.device[slots] = self.located[slots] = self.vlan[slots] = -1
        self.endpoint_ips.remove(slots)
        self.free += slots

    def put_endpoint(self, row: dict[str, Any]) -> None:
        """An endpoint (one :meth:`drop_endpoints` has dropped, or a new one)."""
        if self.free:
            s = self.free.pop()
        else:
            s = len(self.ids)
            self.ids.append(None)
            self.device = _grow(self.device, s + 1)
            self.located = _grow(self.located, s + 1)
            self.vlan = _grow(self.vlan, s + 1)
        device = self._name(row["device"])
        endpoint = _intern(row["id"])
        self.slot[endpoint] = s
        self.ids[s] = endpoint
        self.device[s] = device
        self.located[s] = device if row.get("interface") else -1
        self.vlan[s] = -1 if row["vlan"] is None else row["vlan"]
        self.endpoint_ips.add(s, _addresses(row["ips"]))

    def _address_owner(self, key: tuple[str, str]) -> int:
        number = self._address_number.get(key)
        if number is None:
            number = self._address_number[key] = len(self._address_key)
            self._address_key.append(key)
        return number

    def load_addresses(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            self.put_address(r)

    def drop_interfaces(self, interfaces: Iterable[str]) -> None:
        owners = []
        for interface in interfaces:
            for address in self.addresses_on.pop(interface, ()):
                key = (interface, address)
                self.address_of.pop(key, None)
                owners.append(self._address_owner(key))
            name = interface.partition("|")[2]
            if name in self.svis:
                self.svis[name].pop(interface, None)
        self.interface_ips.remove(owners)

    def put_address(self, row: dict[str, Any]) -> None:
        """An interface address (of an interface :meth:`drop_interfaces` has dropped, or of
        a new one)."""
        key = (row["interface"], row["id"])
        self.address_of[key] = (row["device"], row["name"])
        self.addresses_on.setdefault(row["interface"], set()).add(row["id"])
        address = parse_address(row["ip"])
        self.interface_ips.add(self._address_owner(key), [address] if address else [])

    def put_svi(self, row: dict[str, Any]) -> None:
        if row["name"] in SVI_NAMES:
            self.svis.setdefault(row["name"], {})[row["id"]] = row["device"]

    def drop_vlan(self, node: str) -> None:
        found = self.vlan_nodes.pop(node, None)
        if found is not None:
            self.owners[found[0]].pop(node, None)

    def put_vlan(self, row: dict[str, Any]) -> None:
        self.drop_vlan(row["id"])
        if row["device"] is not None and row["vlan"] is not None:
            vlan, device = int(row["vlan"]), row["device"]
            self.vlan_nodes[row["id"]] = (vlan, device)
            self.owners.setdefault(vlan, {})[row["id"]] = device


async def read_segments(store: GraphStore) -> Segments:
    """The lookups as the store holds them now, read whole."""
    out = Segments()
    read_table = getattr(store, "execute_table", None)
    if read_table is not None:  # columns: no dictionary per endpoint
        out.load_endpoint_table(await read_table(_ENDPOINTS))
    else:
        out.load_endpoints(await store.execute(_ENDPOINTS))
    out.load_addresses(await store.execute(_ADDRESSES))
    for r in await store.execute(_SVIS, _SVI_PARAMS):
        out.put_svi(r)
    for r in await store.execute(_VLANS):
        out.put_vlan(r)
    return out


@dataclass
class _Keys:
    """What changes touched since the lookups were last brought up to date."""

    endpoints: set[str] = field(default_factory=set)
    vlans: set[str] = field(default_factory=set)
    interfaces: set[str] = field(default_factory=set)

    def size(self) -> int:
        return len(self.endpoints) + len(self.vlans) + len(self.interfaces)

    def __bool__(self) -> bool:
        return self.size() > 0

    def merge(self, other: _Keys) -> None:
        self.endpoints |= other.endpoints
        self.vlans |= other.vlans
        self.interfaces |= other.interfaces


def _node_ids(d: Any, label: str) -> set[str]:
    out = {r["id"] for part in (d.added, d.updated) for r in part.get(label, ())}
    out.update(d.removed.get(label, ()))
    return out


def segment_keys(d: Any) -> _Keys | None:
    """The keys a difference (``diff.GraphDiff``) touched; None when it is too large to be
    worth following key by key. An address id is ``<interface id>|<address>``."""
    out = _Keys(_node_ids(d, "Endpoint"), _node_ids(d, "VLAN"), _node_ids(d, "Interface"))
    out.interfaces.update(a.rpartition("|")[0] for a in _node_ids(d, "IPAddress"))
    for part in ("rels_added", "rels_removed", "rels_updated"):
        out.interfaces.update(r["src"] for r in getattr(d, part).get("HAS_IP", ()))
    return None if out.size() > MAX_TOUCHED_KEYS else out


class LiveSegments(Follower[Segments, _Keys]):
    """One engine's segment lookups, brought up to date from the changes it tells of."""

    def __init__(self, store: GraphStore) -> None:
        self._segments: Segments | None = None
        super().__init__(store)

    def _empty_keys(self) -> _Keys:
        return _Keys()

    def _keys(self, d: Any) -> _Keys | None:
        return segment_keys(d)

    def _too_much(self, touched: _Keys) -> bool:
        known = len(self._segments.slot) if self._segments is not None else 0
        return touched.size() > MAX_TOUCHED_KEYS or bool(
            known and len(touched.endpoints) > MAX_TOUCHED_SHARE * known
        )

    def _drop(self) -> None:
        self._segments = None

    def _held(self) -> bool:
        return self._segments is not None

    async def _read(self) -> None:
        self._segments = await read_segments(self.store)

    def _view(self) -> Segments:
        assert self._segments is not None
        return self._segments

    async def _update(self, touched: _Keys) -> None:
        seg, store = self._view(), self.store
        if touched.endpoints:
            wanted = sorted(touched.endpoints)
            seg.drop_endpoints(wanted)
            for chunk in chunks(wanted):
                for r in await store.execute(_ENDPOINTS_IN, {"ids": chunk}):
                    seg.put_endpoint(r)
        if touched.vlans:
            wanted = sorted(touched.vlans)
            for v in wanted:
                seg.drop_vlan(v)
            for chunk in chunks(wanted):
                for r in await store.execute(_VLANS_IN, {"ids": chunk}):
                    seg.put_vlan(r)
        if touched.interfaces:
            wanted = sorted(touched.interfaces)
            seg.drop_interfaces(wanted)
            for chunk in chunks(wanted):
                for r in await store.execute(_ADDRESSES_AT, {"ids": chunk}):
                    seg.put_address(r)
            svis = [i for i in wanted if i.partition("|")[2] in SVI_NAMES]
            for chunk in chunks(svis):
                for r in await store.execute(_SVIS_IN, {"ids": chunk}):
                    seg.put_svi(r)


_LIVE: weakref.WeakKeyDictionary[Any, LiveSegments] = weakref.WeakKeyDictionary()
#: Replicas: the lookups read whole, per engine, with the revision they were read at.
_READ: weakref.WeakKeyDictionary[Any, tuple[int, Segments]] = weakref.WeakKeyDictionary()


def live_segments(store: GraphStore, engine: Any) -> LiveSegments:
    """The engine's live segment lookups, made (and told of the engine's changes) on first
    use."""
    live = _LIVE.get(engine)
    if live is None or live.store is not store:
        if live is not None and live.on_change in engine.applied:
            engine.applied.remove(live.on_change)
        live = LiveSegments(store)
        engine.applied.append(live.on_change)
        _LIVE[engine] = live
    return live


async def load_segments(store: GraphStore, engine: Any = None) -> Segments:
    """The segment lookups at the engine's current graph revision (kept from each change on
    the writer, read whole once per revision on a replica, read whole without an engine).

    On the writer the same object is brought up to date in place by a later call: use it
    before the next ``await`` (resolution does, it is synchronous)."""
    revision = getattr(engine, "revision", None)
    if engine is None or revision is None:
        return await read_segments(store)
    if isinstance(getattr(engine, "applied", None), list):
        return await live_segments(store, engine).current(engine)
    cached = _READ.get(engine)
    if cached is not None and cached[0] == revision:
        return cached[1]
    segments = await read_segments(store)
    _READ[engine] = (revision, segments)
    return segments
