"""The IP index: every address in use, kept by address, in the graph store.

Addresses are grouped in buckets (an IPv4 /24, an IPv6 /64), one ``IpBucket`` node each,
keyed by a text that sorts as the addresses do (``4:0a0102`` holds 10.1.2.0/24), so a CIDR is
a range of keys and an address one key. A bucket holds one entry per holder of an address in
it: an interface address (all its columns; exact) or an endpoint (its MAC; whether a subnet
covers the address), plus two counts that let a query skip every other bucket: how many
addresses in it have more than one holder (``dups``) and how many endpoint addresses no subnet
covers (``orphans``).

The writer keeps it from each apply's diff: the buckets of what was added, updated or removed
are rewritten (an interface address's id names its address; a subnet change re-checks the
buckets it overlaps). An endpoint's removal names only its MAC, so the entries it left in a
bucket no apply touches again stay there: entries are candidates, and every query checks an
endpoint's entries against the endpoint as the store holds it now. Entries never miss a holder
once the apply that added it has finished; a start after a crash, a new format or a new
version builds the index again from the store (``rebuild``).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore

__all__ = [
    "FORMAT",
    "NAME",
    "Bucket",
    "Coverage",
    "bucket_of",
    "bucket_range",
    "buckets_in",
    "candidate_buckets",
    "live_endpoints",
    "maintain",
    "read_buckets",
    "rebuild",
]

log = structlog.get_logger(__name__)

NAME = "ip-index"
#: The layout of a bucket's entries; a store holding another is built again.
FORMAT = 1
DEFAULT_VRF = "default"
#: Rows per write statement (a bucket's payload is a few kB).
_CHUNK = 1_000
#: Above this many subnet changes, the overlapping buckets are found from all bucket keys.
_RANGE_QUERIES = 64

_READ = "UNWIND $ids AS k MATCH (b:IpBucket) WHERE b.id = k RETURN b.id AS id, b.payload AS payload"
_DELETE = "UNWIND $ids AS k MATCH (b:IpBucket) WHERE b.id = k DELETE b"
_IN_RANGE = "MATCH (b:IpBucket) WHERE b.id >= $lo AND b.id <= $hi RETURN b.id AS id"
_LIVE = (
    "UNWIND $macs AS m MATCH (e:Endpoint) WHERE e.id = m "
    "RETURN e.id AS mac, e.ips AS ips, e.hostname AS hostname, e.device AS device, "
    "e.interface AS interface, e.vlan AS vlan"
)


def _parse(ip: str) -> tuple[int, int]:
    """(version, value) of a host address; dotted IPv4 (as the model stores it) without
    ``ipaddress``, which costs more than everything else an index entry needs."""
    parts = ip.split(".")
    if len(parts) == 4 and all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if max(a, b, c, d) <= 255:
            return 4, (a << 24) | (b << 16) | (c << 8) | d
    address = ipaddress.ip_address(ip)
    return address.version, int(address)


@functools.lru_cache(maxsize=1 << 16)
def _v4_bucket(head: str) -> str | None:
    """The bucket key of the IPv4 addresses whose first three octets are ``head``."""
    parts = head.split(".")
    if len(parts) != 3 or not all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts):
        return None
    a, b, c = (int(p) for p in parts)
    return f"4:{a:02x}{b:02x}{c:02x}" if max(a, b, c) <= 255 else None


def bucket_of(ip: str) -> str:
    """The key of the bucket holding host address ``ip``."""
    if ":" not in ip:
        key = _v4_bucket(ip.rpartition(".")[0])
        if key is not None:
            return key
    version, value = _parse(ip)
    if version == 4:
        return f"4:{value >> 8:06x}"
    return f"6:{value >> 64:016x}"


def bucket_range(cidr: str) -> tuple[str, str]:
    """The first and last bucket keys that hold addresses of ``cidr``."""
    network = ipaddress.ip_network(cidr, strict=False)
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == 4:
        return f"4:{first >> 8:06x}", f"4:{last >> 8:06x}"
    return f"6:{first >> 64:016x}", f"6:{last >> 64:016x}"


class Coverage:
    """Whether a host address lies in any of a set of subnets (any VRF)."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        known: dict[tuple[int, int], set[int]] = defaultdict(set)
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            known[(network.version, network.prefixlen)].add(int(network.network_address))
        self._known = known

    @classmethod
    async def load(cls, store: GraphStore) -> Coverage:
        rows = await store.execute("MATCH (s:Subnet) RETURN s.cidr AS cidr")
        return cls(row["cidr"] for row in rows if row["cidr"])

    def covers_bucket(self, key: str) -> bool:
        """Whether one subnet covers every address of bucket ``key``."""
        kind, bits, width = (4, 32, 24) if key.startswith("4:") else (6, 128, 64)
        value = int(key[2:], 16) << (bits - width)
        for (version, length), networks in self._known.items():
            if version == kind and length <= width:
                mask = ((1 << length) - 1) << (bits - length)
                if (value & mask) in networks:
                    return True
        return False

    def covers(self, ip: str) -> bool:
        kind, value = _parse(ip)
        bits = 32 if kind == 4 else 128
        for (version, length), networks in self._known.items():
            if version == kind:
                mask = ((1 << length) - 1) << (bits - length)
                if (value & mask) in networks:
                    return True
        return False


@dataclass
class Bucket:
    """One bucket's entries: interface addresses (``["i", ip, vrf, prefix_length, device,
    interface, virtual, id]``) and endpoint addresses (``["e", ip, mac, covered]``)."""

    key: str
    entries: list[list[Any]]

    def interfaces(self) -> list[list[Any]]:
        return [e for e in self.entries if e[0] == "i"]

    def endpoints(self) -> list[list[Any]]:
        return [e for e in self.entries if e[0] == "e"]


def _interface_entry(row: dict[str, Any]) -> list[Any]:
    vrf = row.get("vrf")
    return [
        "i",
        row["ip"],
        DEFAULT_VRF if vrf is None else vrf,
        row.get("prefix_length"),
        row.get("device"),
        row.get("interface"),
        bool(row.get("virtual") or False),
        row["id"],
    ]


def _address_of(address_id: str) -> str:
    """The bare IP of an ``IPAddress`` id (``<device>|<interface>|<address/len>``)."""
    return address_id.rsplit("|", 1)[-1].split("/", 1)[0]


def _cidr_of(subnet_id: str) -> str:
    """The CIDR of a ``Subnet`` id (``[<vrf>|]<cidr>``)."""
    return subnet_id.rsplit("|", 1)[-1]


def _counts(entries: Sequence[list[Any]]) -> tuple[int, int]:
    """(addresses with more than one holder, endpoint addresses no subnet covers)."""
    holders: dict[tuple[str, str], set[tuple[Any, ...]]] = defaultdict(set)
    orphans = 0
    for e in entries:
        if e[0] == "i":
            if not e[6]:  # an anycast gateway is shared by design
                holders[(e[2], e[1])].add(("interface", e[4], e[5]))
        else:
            holders[(DEFAULT_VRF, e[1])].add(("endpoint", e[2]))
            orphans += 0 if e[3] else 1
    return sum(1 for group in holders.values() if len(group) > 1), orphans


def _decode(payload: str | None) -> list[list[Any]]:
    return list(json.loads(payload)) if payload else []


async def read_buckets(store: GraphStore, keys: Sequence[str]) -> dict[str, Bucket]:
    out: dict[str, Bucket] = {}
    for start in range(0, len(keys), _CHUNK * 10):
        chunk = list(keys[start : start + _CHUNK * 10])
        for row in await store.execute(_READ, {"ids": chunk}):
            out[row["id"]] = Bucket(row["id"], _decode(row["payload"]))
    return out


async def buckets_in(store: GraphStore, cidr: str) -> list[Bucket]:
    """The buckets holding addresses of ``cidr``."""
    lo, hi = bucket_range(cidr)
    rows = await store.execute(
        "MATCH (b:IpBucket) WHERE b.id >= $lo AND b.id <= $hi "
        "RETURN b.id AS id, b.payload AS payload",
        {"lo": lo, "hi": hi},
    )
    return [Bucket(row["id"], _decode(row["payload"])) for row in rows]


async def candidate_buckets(store: GraphStore, count: str, cidr: str = "") -> list[Bucket]:
    """The buckets whose ``count`` (``dups`` or ``orphans``) is not zero, inside ``cidr``."""
    if count not in ("dups", "orphans"):
        raise ValueError(f"no bucket count {count!r}")
    lo, hi = bucket_range(cidr) if cidr else ("", "~")
    rows = await store.execute(
        f"MATCH (b:IpBucket) WHERE b.{count} > 0 AND b.id >= $lo AND b.id <= $hi "
        "RETURN b.id AS id, b.payload AS payload",
        {"lo": lo, "hi": hi},
    )
    return [Bucket(row["id"], _decode(row["payload"])) for row in rows]


async def live_endpoints(store: GraphStore, macs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The endpoints with these MACs as the store holds them now (absent ones left out)."""
    wanted = sorted(set(macs))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _CHUNK * 10):
        for row in await store.execute(_LIVE, {"macs": wanted[start : start + _CHUNK * 10]}):
            out[row["mac"]] = row
    return out


async def _write(store: GraphStore, buckets: dict[str, list[list[Any]]], known: set[str]) -> None:
    """Replace the buckets ``buckets`` names (``known``: those the store holds now)."""
    stale = sorted(known & buckets.keys())
    for start in range(0, len(stale), _CHUNK * 10):
        await store.execute(_DELETE, {"ids": stale[start : start + _CHUNK * 10]})
    rows = []
    for key in sorted(buckets):
        entries = buckets[key]
        if not entries:
            continue
        dups, orphans = _counts(entries)
        payload = json.dumps(entries, separators=(",", ":"))
        rows.append({"id": key, "payload": payload, "dups": dups, "orphans": orphans})
    await writer.create_nodes(store, "IpBucket", rows)  # columnar when large


def _cover(key: str, entries: Iterable[list[Any]], coverage: Coverage) -> None:
    whole = coverage.covers_bucket(key)
    for e in entries:
        if e[0] == "e":
            e[3] = whole or coverage.covers(e[1])


async def _overlapping(store: GraphStore, cidrs: Sequence[str]) -> set[str]:
    """The keys of the stored buckets that hold addresses of any of ``cidrs``."""
    ranges = [bucket_range(c) for c in cidrs]
    if len(ranges) <= _RANGE_QUERIES:
        out: set[str] = set()
        for lo, hi in ranges:
            out |= {r["id"] for r in await store.execute(_IN_RANGE, {"lo": lo, "hi": hi})}
        return out
    keys = sorted(r["id"] for r in await store.execute("MATCH (b:IpBucket) RETURN b.id AS id"))
    found: set[str] = set()
    for lo, hi in ranges:
        found.update(keys[bisect.bisect_left(keys, lo) : bisect.bisect_right(keys, hi)])
    return found


def _rows(part: dict[str, list[dict[str, Any]]], label: str) -> list[dict[str, Any]]:
    return list(part.get(label) or ())


async def maintain(store: GraphStore, diff: Any) -> None:
    """Bring the index up to date with one apply's diff (a ``GraphDiff``, already applied)."""
    # each endpoint's addresses alone (its whole row, made as the diff is read, is let go: a
    # first ingest adds every endpoint of the network)
    endpoints = {
        row["id"]: tuple(row.get("ips") or ())
        for part in (diff.added, diff.updated)
        for row in part.get("Endpoint") or ()
    }
    gone = set(diff.removed.get("Endpoint") or ())
    addresses = {
        row["id"]: row for part in (diff.added, diff.updated) for row in _rows(part, "IPAddress")
    }
    addresses_gone = set(diff.removed.get("IPAddress") or ())
    subnets = [row["cidr"] for row in _rows(diff.added, "Subnet")] + [
        _cidr_of(i) for i in diff.removed.get("Subnet") or ()
    ]
    touched: set[str] = set()
    for ips in endpoints.values():
        touched.update(bucket_of(ip) for ip in ips)
    touched.update(bucket_of(row["ip"]) for row in addresses.values())
    touched.update(bucket_of(_address_of(i)) for i in addresses_gone)
    if gone:  # where the endpoints seen again live: most removed ones lived beside them
        for row in _rows(diff.touched, "Endpoint"):
            touched.update(bucket_of(ip) for ip in row.get("ips") or ())
    if subnets:
        touched |= await _overlapping(store, subnets)
    if not touched:
        return
    keys = sorted(touched)
    stored = await read_buckets(store, keys)
    macs = gone | endpoints.keys()
    replaced = addresses_gone | addresses.keys()
    contents: dict[str, list[list[Any]]] = {
        key: [
            e
            for e in (stored[key].entries if key in stored else [])
            if not ((e[0] == "e" and e[2] in macs) or (e[0] == "i" and e[7] in replaced))
        ]
        for key in keys
    }
    for mac, ips in endpoints.items():
        for ip in ips:
            contents[bucket_of(ip)].append(["e", ip, mac, False])
    for row in addresses.values():
        contents[bucket_of(row["ip"])].append(_interface_entry(row))
    if any(e[0] == "e" for entries in contents.values() for e in entries):
        coverage = await Coverage.load(store)
        for key, entries in contents.items():
            _cover(key, entries, coverage)
    await _write(store, contents, set(stored))
    log.debug("answers.ip_index.updated", buckets=len(keys))


_ALL_ENDPOINTS = "MATCH (e:Endpoint) WHERE size(e.ips) > 0 RETURN e.id AS mac, e.ips AS ips"
_ALL_ADDRESSES = (
    "MATCH (a:IPAddress) RETURN a.id AS id, a.ip AS ip, a.vrf AS vrf, "
    "a.prefix_length AS prefix_length, a.device AS device, a.interface AS interface, "
    "a.virtual AS virtual"
)


async def rebuild(store: GraphStore) -> int:
    """Build the whole index again from the store; the number of buckets."""
    contents: dict[str, list[list[Any]]] = defaultdict(list)
    for row in await store.execute(_ALL_ADDRESSES):
        if row["ip"]:
            contents[bucket_of(row["ip"])].append(_interface_entry(row))
    for row in await store.execute(_ALL_ENDPOINTS):
        for ip in row["ips"] or ():
            contents[bucket_of(ip)].append(["e", ip, row["mac"], False])
    coverage = await Coverage.load(store)
    for key, entries in contents.items():
        _cover(key, entries, coverage)
    await store.execute("MATCH (b:IpBucket) DELETE b")
    await _write(store, dict(contents), set())
    return len(contents)
