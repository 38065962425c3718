"""The blast-radius topology kept up to date from each change, instead of read whole again.

The writer tells of every change it applied (``GraphEngine.applied``: the new revision and the
change's difference). Of a difference only the keys matter here: the devices, interfaces,
links and endpoint locations it touched. They wait (``_Touched``) until the next question;
then only those are read again from the store (fixed Cypher, ids as parameters), and the
topology is rebuilt from the rows kept (``TopologyRows``). Reading a key again is the same
whether it changed once or several times, so changes that arrive while the store is being
read are simply read again next time.

The rows are read whole instead (the first time, after a change whose difference is not
known key by key, after a revision that was never told of, or when a change touched so much
that a whole read is cheaper).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.blast._load import (
    _PORT,
    TopologyRows,
    device_row,
    link_rows,
    read_aggregates,
    read_rows,
    read_topology,
)
from meshq_graph_engine.blast._model import Topology

__all__ = ["LiveTopology", "live_topology", "load_topology"]

log = structlog.get_logger(__name__)

# by key, one lookup per id (``IN $ids`` would scan every device)
_DEVICES_IN = (
    "UNWIND $ids AS k MATCH (d:Device) WHERE d.id = k RETURN d.id AS id, "
    "d.managed AS managed, d.role AS role, d.criticality AS criticality"
)
_LINKS_AT = (
    "MATCH (a:Interface)-[:CONNECTED_TO]->(b:Interface) WHERE a.id IN $ids OR b.id IN $ids "
    "RETURN " + _PORT.format(n="a") + ", " + _PORT.format(n="b")
)
_COUNTS_IN = (
    "MATCH (e:Endpoint)-[:LOCATED_AT]->(i:Interface) WHERE i.device IN $ids "
    "RETURN i.device AS device, count(e) AS n"
)

#: A change touching more keys than this is followed by a whole read (cheaper than asking
#: for that many ids), as is one touching more than this share of the devices.
MAX_TOUCHED_KEYS = 100_000
MAX_TOUCHED_SHARE = 0.25
#: Ids per query when reading touched keys again.
_CHUNK = 5_000

_LIVE: weakref.WeakKeyDictionary[Any, LiveTopology] = weakref.WeakKeyDictionary()
#: Replicas: the topology read whole, per engine, with the revision it was read at.
_READ: weakref.WeakKeyDictionary[Any, tuple[int, Topology]] = weakref.WeakKeyDictionary()


def _device_of(interface_id: str) -> str:
    """An interface id is ``<device id>|<interface>``."""
    return interface_id.partition("|")[0]


@dataclass
class _Touched:
    """The keys changes touched since the topology was last brought up to date."""

    devices: set[str] = field(default_factory=set)
    interfaces: set[str] = field(default_factory=set)
    #: devices whose count of located endpoints may have moved
    located: set[str] = field(default_factory=set)

    def size(self) -> int:
        return len(self.devices) + len(self.interfaces) + len(self.located)

    def __bool__(self) -> bool:
        return self.size() > 0


def _ids(rows: Any) -> list[str]:
    return [r["id"] for r in rows]


def touched_keys(d: Any) -> _Touched | None:
    """The keys a difference (``diff.GraphDiff``) touched; None when it is too large to be
    worth following key by key."""
    parts = (
        d.added.get("Device", ()),
        d.updated.get("Device", ()),
        d.removed.get("Device", ()),
        d.added.get("Interface", ()),
        d.updated.get("Interface", ()),
        d.removed.get("Interface", ()),
        *(
            getattr(d, part).get(rel, ())
            for part in ("rels_added", "rels_removed", "rels_updated")
            for rel in ("CONNECTED_TO", "LOCATED_AT")
        ),
    )
    if sum(len(p) for p in parts) > MAX_TOUCHED_KEYS:
        return None
    out = _Touched()
    out.devices.update(_ids(d.added.get("Device", ())))
    out.devices.update(_ids(d.updated.get("Device", ())))
    out.devices.update(d.removed.get("Device", ()))
    out.located.update(d.removed.get("Device", ()))
    out.interfaces.update(_ids(d.added.get("Interface", ())))
    out.interfaces.update(_ids(d.updated.get("Interface", ())))
    removed = d.removed.get("Interface", ())
    out.interfaces.update(removed)
    out.located.update(_device_of(i) for i in removed)
    for part in ("rels_added", "rels_removed", "rels_updated"):
        for r in getattr(d, part).get("CONNECTED_TO", ()):
            out.interfaces.update((r["src"], r["dst"]))
        for r in getattr(d, part).get("LOCATED_AT", ()):
            out.located.add(_device_of(r["dst"]))
    return out


class LiveTopology:
    """One engine's topology, brought up to date from the changes it tells of."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._lock = asyncio.Lock()
        self._rows: TopologyRows | None = None
        self._topology: Topology | None = None
        #: the revision the kept rows (with ``_touched`` read again) stand at
        self._revision: int | None = None
        #: the last revision told of: every change up to it is in the rows or in ``_touched``
        self._told: int | None = None
        self._touched = _Touched()
        #: how the last call got its topology: cached, updated or read (for the bench, logs)
        self.last = ""

    def on_change(self, revision: int, d: Any) -> None:
        """An engine's listener (``GraphEngine.applied``); never raises."""
        try:
            if self._told is None:
                return  # nothing kept yet: the first question reads whole
            touched = None if d is None or revision != self._told + 1 else touched_keys(d)
            if touched is None:
                self._forget()
                return
            self._touched.devices |= touched.devices
            self._touched.interfaces |= touched.interfaces
            self._touched.located |= touched.located
            self._told = revision
            known = len(self._rows.devices) if self._rows is not None else 0
            if self._touched.size() > MAX_TOUCHED_KEYS or (
                known and len(self._touched.devices) > MAX_TOUCHED_SHARE * known
            ):
                self._forget()
        except Exception as exc:  # a listener must not fail the change; read whole next time
            log.warning("blast.topology.follow_failed", error=f"{type(exc).__name__}: {exc}")
            self._forget()

    def _forget(self) -> None:
        self._rows = self._topology = self._revision = self._told = None
        self._touched = _Touched()

    async def current(self, engine: Any) -> Topology:
        """The topology at the engine's revision."""
        async with self._lock:
            revision = int(engine.revision)
            if (
                self._topology is not None
                and self._revision == revision
                and self._told == revision
                and not self._touched
            ):
                self.last = "cached"
                return self._topology
            if self._rows is not None and self._told == revision:
                touched, self._touched = self._touched, _Touched()
                try:
                    await self._update(self._rows, touched)
                except BaseException:
                    self._forget()
                    raise
                self.last = "updated"
            else:
                self._forget()
                self._told = revision  # changes from now on are followed while it is read
                self._rows = await read_rows(self.store)
                self.last = "read"
            self._revision = revision
            self._topology = self._rows.build()
            return self._topology

    async def _update(self, rows: TopologyRows, touched: _Touched) -> None:
        store = self.store
        if touched.devices:
            wanted = sorted(touched.devices)
            for d in wanted:
                rows.devices.pop(d, None)
            for chunk in _chunks(wanted):
                for r in await store.execute(_DEVICES_IN, {"ids": chunk}):
                    rows.devices[r["id"]] = device_row(r)
        if touched.interfaces:
            for key in [k for k in rows.links if k[0] in touched.interfaces]:
                del rows.links[key]
            for key in [k for k in rows.links if k[1] in touched.interfaces]:
                del rows.links[key]
            for chunk in _chunks(sorted(touched.interfaces)):
                rows.links.update(link_rows(await store.execute(_LINKS_AT, {"ids": chunk})))
        if touched.located:
            wanted = sorted(touched.located)
            for d in wanted:
                rows.counts.pop(d, None)
            for chunk in _chunks(wanted):
                for r in await store.execute(_COUNTS_IN, {"ids": chunk}):
                    rows.counts[r["device"]] = int(r["n"])
        if touched.interfaces:
            need = rows.wanted_aggregates()
            for agg in [a for a in rows.aggregates if a not in need]:
                del rows.aggregates[agg]
            stale = sorted(a for a in need if a in touched.interfaces or a not in rows.aggregates)
            for a in stale:
                rows.aggregates.pop(a, None)
            for chunk in _chunks(stale):
                rows.aggregates.update(await read_aggregates(store, chunk))


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def live_topology(store: GraphStore, engine: Any) -> LiveTopology:
    """The engine's live topology, made (and told of the engine's changes) on first use."""
    live = _LIVE.get(engine)
    if live is None or live.store is not store:
        if live is not None and live.on_change in engine.applied:
            engine.applied.remove(live.on_change)
        live = LiveTopology(store)
        engine.applied.append(live.on_change)
        _LIVE[engine] = live
    return live


async def load_topology(store: GraphStore, engine: Any = None) -> Topology:
    """The topology of the engine's current graph revision.

    On the writer (an engine that tells of each change's difference, ``engine.applied``) it is
    kept up to date from the changes (:class:`LiveTopology`): the first call after a change
    reads again only what the change touched. A query-only replica learns only that the
    revision moved (``topology.changed`` names the devices in a snapshot's scope, not every key
    its derivation touched), so there it is read whole once per revision.
    """
    revision = getattr(engine, "revision", None)
    if engine is None or revision is None:
        return await read_topology(store)
    if isinstance(getattr(engine, "applied", None), list):
        return await live_topology(store, engine).current(engine)
    cached = _READ.get(engine)
    if cached is not None and cached[0] == revision:
        return cached[1]
    topology = await read_topology(store)
    _READ[engine] = (revision, topology)
    return topology
