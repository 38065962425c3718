"""summary_stats' counters, kept in the graph store per device and per site.

Each device has a ``DeviceTally``: what it adds to its site's counts (interfaces, addresses,
located endpoints, BGP sessions by state, and the subnets, VLANs and links it touches, which
sites count once each), stamped with the site and managed flag it was counted under. Each
site, and the whole network, has a ``SiteSummary``: the sum of its devices' tallies (the
subnets, VLANs and links as ``key -> devices`` maps, with their sizes beside them).

The writer recounts, after each apply, the devices its diff touched (every id names its
device: ``<device>|<interface>``, ``<device>|bgp|…``; a link names both ends' interfaces) and
the devices whose site or managed flag no longer matches their stamp (a metadata patch moves a
device between sites without an apply), then moves their tallies between site rows. A query
trusts the rows only while every device's stamp matches the device (one join, counted in the
store); otherwise it counts live, as before.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore

__all__ = [
    "FORMAT",
    "NAME",
    "Tally",
    "maintain",
    "read_site",
    "rebuild",
    "site_vlans",
    "stamps_match",
]

log = structlog.get_logger(__name__)

NAME = "summary"
FORMAT = 1
NETWORK = "network"
_CHUNK = 2_000

#: Labels and relationships whose changes can move a count.
_COUNTED_NODES = ("Device", "Interface", "IPAddress", "VLAN", "BGPPeer")
_COUNTED_RELS = ("HAS_INTERFACE", "HAS_IP", "IN_SUBNET", "HAS_VLAN", "LOCATED_AT", "HAS_BGP_PEER")


@dataclass
class Tally:
    """What one device adds to the counts of the site it is stamped with."""

    device: str
    site: str = ""
    managed: bool = False
    interfaces: int = 0
    addresses: int = 0
    located: int = 0
    bgp_peers: int = 0
    bgp_established: int = 0
    subnets: list[str] = field(default_factory=list)
    vlans: list[int] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.device,
            "site": self.site,
            "managed": self.managed,
            "interfaces": self.interfaces,
            "addresses": self.addresses,
            "located": self.located,
            "bgp_peers": self.bgp_peers,
            "bgp_established": self.bgp_established,
            "keys": json.dumps(
                {"subnets": self.subnets, "vlans": self.vlans, "links": self.links},
                separators=(",", ":"),
            ),
        }

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> Tally:
        keys = json.loads(row["keys"] or "{}")
        return cls(
            device=row["id"],
            site=row["site"] or "",
            managed=bool(row["managed"]),
            interfaces=int(row["interfaces"] or 0),
            addresses=int(row["addresses"] or 0),
            located=int(row["located"] or 0),
            bgp_peers=int(row["bgp_peers"] or 0),
            bgp_established=int(row["bgp_established"] or 0),
            subnets=list(keys.get("subnets") or ()),
            vlans=list(keys.get("vlans") or ()),
            links=list(keys.get("links") or ()),
        )


_TALLY_COLUMNS = (
    "t.id AS id, t.site AS site, t.managed AS managed, t.interfaces AS interfaces, "
    "t.addresses AS addresses, t.located AS located, "
    "t.bgp_peers AS bgp_peers, t.bgp_established AS bgp_established, t.keys AS keys"
)
_SITE_COUNTERS = (
    "devices",
    "unmanaged_devices",
    "interfaces",
    "ip_addresses",
    "endpoints_located",
    "bgp_peers",
    "bgp_established",
)
_SITE_COLUMNS = ", ".join(f"s.{c} AS {c}" for c in _SITE_COUNTERS)


def _device_of(node_id: str) -> str:
    """The device an interface, address, VLAN or BGP peer id belongs to."""
    return node_id.split("|", 1)[0]


def touched_devices(diff: Any) -> set[str]:
    """The devices whose counts the diff may have moved."""
    out: set[str] = set()
    for label in _COUNTED_NODES:
        rows = [*(diff.added.get(label) or ()), *(diff.updated.get(label) or ())]
        ids = [r["id"] for r in rows] + list(diff.removed.get(label) or ())
        if label == "Device":
            out.update(ids)
        elif label == "VLAN":
            out.update(_device_of(i) for i in ids if not i.startswith("site:"))
        else:
            out.update(_device_of(i) for i in ids)
    for name in (*_COUNTED_RELS, "CONNECTED_TO"):
        for part in (diff.rels_added, diff.rels_removed):
            for rel in part.get(name) or ():
                src, dst = str(rel["src"]), str(rel["dst"])
                if name in ("HAS_INTERFACE", "HAS_VLAN", "HAS_BGP_PEER"):
                    out.add(src)
                elif name == "IN_SUBNET":
                    out.add(_device_of(src))
                elif name == "LOCATED_AT":
                    out.add(_device_of(dst))
                elif name == "CONNECTED_TO":
                    out.update((_device_of(src), _device_of(dst)))
                else:  # HAS_IP
                    out.add(_device_of(src))
    return out


#: What a tally counts: (the pattern from device ``d``, what it returns per device). A count
#: over every device matches the pattern whole; a count over some devices looks each up by its
#: key and follows the pattern from it with OPTIONAL MATCH, which the store walks from the
#: device found (a plain MATCH there joins whole tables, hundreds of times slower).
_COUNTS = {
    "interfaces": ("(d)-[:HAS_INTERFACE]->(i:Interface)", "count(i) AS n"),
    "addresses": (
        "(d)-[:HAS_INTERFACE]->(:Interface)-[:HAS_IP]->(a:IPAddress)-[:IN_SUBNET]->(s:Subnet)",
        "count(DISTINCT a.id) AS n, collect(DISTINCT s.id) AS subnets",
    ),
    "located": ("(d)-[:HAS_INTERFACE]->(:Interface)<-[r:LOCATED_AT]-(:Endpoint)", "count(r) AS n"),
    "links": (
        "(d)-[:HAS_INTERFACE]->(i:Interface)-[:CONNECTED_TO]-(b:Interface)",
        "i.id AS a, b.id AS b",
    ),
    "vlans": ("(d)-[:HAS_VLAN]->(v:VLAN)", "collect(DISTINCT v.vlan) AS vlans"),
    "bgp": ("(d)-[:HAS_BGP_PEER]->(p:BGPPeer)", "p.state AS state, count(p) AS n"),
}


async def _count(store: GraphStore, ids: Sequence[str] | None, name: str) -> list[dict[str, Any]]:
    """One count of ``_COUNTS`` per device of ``ids`` (None: every device)."""
    pattern, ret = _COUNTS[name]
    if ids is None:
        whole = "(d:Device)" + pattern.removeprefix("(d)")
        return await store.execute(f"MATCH {whole} RETURN d.id AS id, {ret}", {})
    cypher = (
        "UNWIND $ids AS x MATCH (d:Device) WHERE d.id = x "
        f"OPTIONAL MATCH {pattern} RETURN d.id AS id, {ret}"
    )
    return await store.execute(cypher, {"ids": list(ids)})


async def count_devices(store: GraphStore, ids: Sequence[str] | None) -> dict[str, Tally]:
    """The tallies of ``ids`` (every device when None) as the store holds them now."""
    tallies: dict[str, Tally] = {}
    head = "MATCH (d:Device)" if ids is None else "UNWIND $ids AS x MATCH (d:Device) WHERE d.id = x"
    for row in await store.execute(
        head + " RETURN d.id AS id, d.site AS site, coalesce(d.managed, false) AS managed",
        {} if ids is None else {"ids": list(ids)},
    ):
        tallies[row["id"]] = Tally(row["id"], row["site"] or "", bool(row["managed"]))
    if not tallies:
        return tallies
    scope = sorted(tallies) if ids is not None else None
    for row in await _count(store, scope, "interfaces"):
        tallies[row["id"]].interfaces = int(row["n"])
    for row in await _count(store, scope, "addresses"):
        tallies[row["id"]].addresses = int(row["n"])
        tallies[row["id"]].subnets = sorted(row["subnets"] or ())
    for row in await _count(store, scope, "located"):
        tallies[row["id"]].located = int(row["n"])
    for row in await _count(store, scope, "vlans"):
        tallies[row["id"]].vlans = sorted(int(v) for v in row["vlans"] or ())
    for row in await _count(store, scope, "bgp"):
        if not row["n"]:
            continue
        tally = tallies[row["id"]]
        tally.bgp_peers += int(row["n"])
        if row["state"] == "established":
            tally.bgp_established += int(row["n"])
    links: dict[str, set[str]] = defaultdict(set)
    for row in await _count(store, scope, "links"):
        if row["a"] is None or row["b"] is None:
            continue  # a device without links (OPTIONAL MATCH)
        a, b = sorted((row["a"], row["b"]))
        links[row["id"]].add(f"{a}<->{b}")
    for device, keys in links.items():
        tallies[device].links = sorted(keys)
    return tallies


@dataclass
class _Site:
    """One SiteSummary row being updated."""

    id: str
    site: str
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SITE_COUNTERS, 0))
    subnets: dict[str, int] = field(default_factory=dict)
    vlans: dict[str, int] = field(default_factory=dict)
    links: dict[str, int] = field(default_factory=dict)

    def add(self, tally: Tally, sign: int, *, network: bool) -> None:
        c = self.counters
        c["devices" if tally.managed else "unmanaged_devices"] += sign
        c["endpoints_located"] += sign * tally.located
        keys: list[tuple[dict[str, int], Iterable[Any]]] = []
        if not network:  # the network's links and VLANs are table counts, made live
            keys += [(self.vlans, tally.vlans), (self.links, tally.links)]
        if tally.managed:
            c["interfaces"] += sign * tally.interfaces
            c["ip_addresses"] += sign * tally.addresses
            c["bgp_peers"] += sign * tally.bgp_peers
            c["bgp_established"] += sign * tally.bgp_established
            keys.append((self.subnets, tally.subnets))
        for counts, items in keys:
            for item in items:
                key = str(item)
                n = counts.get(key, 0) + sign
                if n > 0:
                    counts[key] = n
                else:
                    counts.pop(key, None)

    def empty(self) -> bool:
        return self.counters["devices"] + self.counters["unmanaged_devices"] <= 0

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            **self.counters,
            "subnets": len(self.subnets),
            "vlans": len(self.vlans),
            "links": len(self.links),
            "keys": json.dumps(
                {"subnets": self.subnets, "vlans": self.vlans, "links": self.links},
                separators=(",", ":"),
            ),
        }


def _site_id(site: str) -> str:
    return f"site:{site}"


async def _read_sites(store: GraphStore, ids: Sequence[str]) -> dict[str, _Site]:
    rows = await store.execute(
        "UNWIND $ids AS k MATCH (s:SiteSummary) WHERE s.id = k "
        f"RETURN s.id AS id, s.site AS site, {_SITE_COLUMNS}, s.keys AS keys",
        {"ids": list(ids)},
    )
    out: dict[str, _Site] = {}
    for row in rows:
        keys = json.loads(row["keys"] or "{}")
        out[row["id"]] = _Site(
            row["id"],
            row["site"] or "",
            {c: int(row[c] or 0) for c in _SITE_COUNTERS},
            dict(keys.get("subnets") or {}),
            dict(keys.get("vlans") or {}),
            dict(keys.get("links") or {}),
        )
    return out


async def _read_tallies(store: GraphStore, ids: Sequence[str]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for start in range(0, len(ids), _CHUNK * 10):
        rows = await store.execute(
            f"UNWIND $ids AS k MATCH (t:DeviceTally) WHERE t.id = k RETURN {_TALLY_COLUMNS}",
            {"ids": list(ids[start : start + _CHUNK * 10])},
        )
        out.update((row["id"], Tally.of_row(row)) for row in rows)
    return out


async def _write(
    store: GraphStore, label: str, ids: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    for start in range(0, len(ids), _CHUNK * 10):
        await store.execute(
            f"UNWIND $ids AS k MATCH (n:{label}) WHERE n.id = k DELETE n",
            {"ids": list(ids[start : start + _CHUNK * 10])},
        )
    if rows:
        await writer.create_nodes(store, label, rows)  # columnar when large


async def _drifted(store: GraphStore) -> set[str]:
    """Devices whose tally is missing, left over, or stamped with another site or flag."""
    rows = await store.execute(
        "MATCH (d:Device), (t:DeviceTally) WHERE t.id = d.id "
        "AND (t.site <> coalesce(d.site, '') OR t.managed <> coalesce(d.managed, false)) "
        "RETURN d.id AS id"
    )
    out = {row["id"] for row in rows}
    n_devices, n_tallies = await _table_counts(store)
    pairs = await store.execute(
        "MATCH (d:Device), (t:DeviceTally) WHERE t.id = d.id RETURN count(t) AS n"
    )
    if not n_devices == n_tallies == int(pairs[0]["n"]):
        devices = {r["id"] for r in await store.execute("MATCH (d:Device) RETURN d.id AS id")}
        tallied = {r["id"] for r in await store.execute("MATCH (t:DeviceTally) RETURN t.id AS id")}
        out |= devices ^ tallied
    return out


async def _table_counts(store: GraphStore) -> tuple[int, int]:
    """(devices, tallies) in the store."""
    devices = await store.execute("MATCH (d:Device) RETURN count(d) AS n")
    tallies = await store.execute("MATCH (t:DeviceTally) RETURN count(t) AS n")
    return int(devices[0]["n"]), int(tallies[0]["n"])


async def stamps_match(store: GraphStore) -> bool:
    """Whether every device has its tally, stamped with the site and flag it has now."""
    devices, tallies = await _table_counts(store)
    if devices != tallies:
        return False
    rows = await store.execute(
        "MATCH (d:Device), (t:DeviceTally) WHERE t.id = d.id "
        "AND t.site = coalesce(d.site, '') AND t.managed = coalesce(d.managed, false) "
        "RETURN count(t) AS n"
    )
    return int(rows[0]["n"]) == devices


async def _move(store: GraphStore, old: dict[str, Tally], new: dict[str, Tally]) -> None:
    """Replace tallies ``old`` by ``new`` (same devices, absent ones gone) in every row."""
    site_ids = {_site_id(t.site) for t in (*old.values(), *new.values())} | {NETWORK}
    sites = await _read_sites(store, sorted(site_ids))
    for sid in site_ids:
        sites.setdefault(sid, _Site(sid, "" if sid == NETWORK else sid.split(":", 1)[1]))
    for sign, tallies in ((-1, old), (1, new)):
        for tally in tallies.values():
            sites[_site_id(tally.site)].add(tally, sign, network=False)
            sites[NETWORK].add(tally, sign, network=True)
    keep = [s.row() for sid, s in sorted(sites.items()) if sid == NETWORK or not s.empty()]
    await _write(store, "SiteSummary", sorted(sites), keep)
    devices = sorted(old.keys() | new.keys())
    await _write(store, "DeviceTally", devices, [new[d].row() for d in sorted(new)])


async def maintain(store: GraphStore, diff: Any) -> None:
    """Recount what one apply's diff touched, and whatever drifted since."""
    devices = touched_devices(diff) | await _drifted(store)
    if not devices:
        return
    total = await store.execute("MATCH (d:Device) RETURN count(d) AS n")
    if len(devices) * 2 >= int(total[0]["n"]):  # most of the graph: one pass over all of it
        await rebuild(store)
        return
    ids = sorted(devices)
    old = await _read_tallies(store, ids)
    new = await count_devices(store, ids)
    await _move(store, old, new)
    log.debug("answers.summary.updated", devices=len(ids))


async def rebuild(store: GraphStore) -> int:
    """Count every device again; the number of devices."""
    await store.execute("MATCH (t:DeviceTally) DELETE t")
    await store.execute("MATCH (s:SiteSummary) DELETE s")
    new = await count_devices(store, None)
    await _move(store, {}, new)
    return len(new)


async def read_site(store: GraphStore, site: str) -> dict[str, Any] | None:
    """The maintained row of ``site`` ("" for the network), as summary_stats answers it: its
    counters, and the counts of subnets, VLANs and links; None when there is none."""
    rows = await store.execute(
        "MATCH (s:SiteSummary) WHERE s.id = $id "
        f"RETURN {_SITE_COLUMNS}, s.subnets AS subnets, s.vlans AS vlans, s.links AS links",
        {"id": _site_id(site) if site else NETWORK},
    )
    return {k: int(v or 0) for k, v in rows[0].items()} if rows else None


async def site_vlans(store: GraphStore, site: str) -> set[str]:
    """The VLAN numbers (as text) configured on the devices of ``site``."""
    rows = await store.execute(
        "MATCH (s:SiteSummary) WHERE s.id = $id RETURN s.keys AS keys", {"id": _site_id(site)}
    )
    keys = json.loads(rows[0]["keys"] or "{}") if rows else {}
    return set((keys.get("vlans") or {}).keys())
