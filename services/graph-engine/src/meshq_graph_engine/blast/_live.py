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
that a whole read is cheaper). That bookkeeping (:class:`Follower`) is shared with the segment
lookups VLAN and subnet failures resolve with (``_segments``).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, Self, TypeVar

import structlog
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.blast._analysis import flow_index
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

__all__ = ["Follower", "LiveTopology", "chunks", "live_topology", "load_topology"]


class Keys(Protocol):
    """What changes touched, waiting for the next question."""

    def size(self) -> int: ...

    def __bool__(self) -> bool: ...

    def merge(self, other: Self) -> None: ...


V = TypeVar("V")
K = TypeVar("K", bound=Keys)

log = structlog.get_logger(__name__)

#: Seconds a kept-warm view waits after a change before it follows it.
WARM_DELAY_S = 0.5

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

    def merge(self, other: _Touched) -> None:
        self.devices |= other.devices
        self.interfaces |= other.interfaces
        self.located |= other.located


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


class Follower(Generic[V, K]):
    """A view of the graph kept at the engine's revision from the changes it tells of: the
    keys each change touched wait until the next question, which reads only those again; the
    view is read whole the first time, after a change not known key by key or a revision it
    was never told of, and when the keys waiting make a whole read cheaper."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._lock = asyncio.Lock()
        #: the revision the kept state (with ``_touched`` read again) stands at
        self._revision: int | None = None
        #: the last revision told of: every change up to it is in the state or in ``_touched``
        self._told: int | None = None
        self._touched: K = self._empty_keys()
        self._current: V | None = None
        #: how the last call got its view: cached, updated or read (for the bench, logs)
        self.last = ""
        #: kept warm for this engine (``keep_warm``), and the refresh under way
        self._warm_engine: weakref.ref[Any] | None = None
        self._refreshing: asyncio.Task[None] | None = None

    # what a view says --------------------------------------------------------------------

    def _empty_keys(self) -> K:
        raise NotImplementedError

    def _keys(self, d: Any) -> K | None:
        """The keys a change's difference touched (None: follow it no further)."""
        raise NotImplementedError

    def _too_much(self, touched: K) -> bool:
        raise NotImplementedError

    def _drop(self) -> None:
        """Forget the kept state."""
        raise NotImplementedError

    def _held(self) -> bool:
        """Whether there is kept state to bring up to date."""
        raise NotImplementedError

    async def _read(self) -> None:
        raise NotImplementedError

    async def _update(self, touched: K) -> None:
        raise NotImplementedError

    def _view(self) -> V:
        raise NotImplementedError

    def _warmed(self, view: V) -> None:
        """What a question would otherwise work out from the view on first use, done in the
        background once the view is current (``keep_warm``)."""

    # the bookkeeping ---------------------------------------------------------------------

    def on_change(self, revision: int, d: Any) -> None:
        """An engine's listener (``GraphEngine.applied``); never raises."""
        try:
            if self._told is None:
                return  # nothing kept yet: the first question reads whole
            touched = None if d is None or revision != self._told + 1 else self._keys(d)
            if touched is None:
                self._forget()
                return
            self._touched.merge(touched)
            self._told = revision
            if self._too_much(self._touched):
                self._forget()
        except Exception as exc:  # a listener must not fail the change; read whole next time
            log.warning(
                "blast.view.follow_failed",
                view=type(self).__name__,
                error=f"{type(exc).__name__}: {exc}",
            )
            self._forget()

    def _forget(self) -> None:
        self._drop()
        self._current = self._revision = self._told = None
        self._touched = self._empty_keys()

    # kept warm: brought up to date in the background, not by the next question ------------

    def keep_warm(self, engine: Any) -> None:
        """Read the view now in the background, and bring it up to date the same way after
        each change the engine tells of, so that questions find it current (a question that
        comes sooner waits only for what is left). Register after :meth:`on_change`."""
        self._warm_engine = weakref.ref(engine)
        engine.applied.append(self._after_change)
        self._refresh_later()

    def _after_change(self, revision: int, d: Any) -> None:
        # a little later: a burst of changes (patches, snapshots of a discovery round) is
        # followed once, and the writes themselves do not wait for the rebuild
        self._refresh_later(WARM_DELAY_S)

    def _refresh_later(self, delay: float = 0.0) -> None:
        ref = self._warm_engine
        engine = ref() if ref is not None else None
        running = self._refreshing
        if engine is None or (running is not None and not running.done()):
            return  # the refresh under way goes on until the view is current
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._refreshing = loop.create_task(
            self._refresh(engine, delay), name=f"{type(self).__name__}"
        )

    async def _refresh(self, engine: Any, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            while self._warm_engine is not None and not self.is_current(engine):
                await asyncio.sleep(0)
                await self.current(engine)
            # (a question may have brought the view up to date first: this is then all left)
            if self._warm_engine is not None and self._current is not None:
                self._warmed(self._current)
        except Exception as exc:  # the next question reads it again and says why
            log.warning(
                "blast.view.refresh_failed",
                view=type(self).__name__,
                error=f"{type(exc).__name__}: {exc}",
            )

    def is_current(self, engine: Any) -> bool:
        """Whether the view stands at the engine's revision with nothing left to read."""
        return (
            self._current is not None
            and self._revision == int(engine.revision)
            and self._told == self._revision
            and not self._touched
        )

    async def stop_warm(self) -> None:
        ref = self._warm_engine
        engine = ref() if ref is not None else None
        self._warm_engine = None
        if engine is not None and self._after_change in engine.applied:
            engine.applied.remove(self._after_change)
        task = self._refreshing
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping anyway
                await task

    async def current(self, engine: Any) -> V:
        """The view at the engine's revision."""
        async with self._lock:
            revision = int(engine.revision)
            if (
                self._current is not None
                and self._revision == revision
                and self._told == revision
                and not self._touched
            ):
                self.last = "cached"
                return self._current
            if self._held() and self._told == revision:
                touched, self._touched = self._touched, self._empty_keys()
                try:
                    await self._update(touched)
                except BaseException:
                    self._forget()
                    raise
                self.last = "updated"
            else:
                self._forget()
                self._told = revision  # changes from now on are followed while it is read
                await self._read()
                self.last = "read"
            self._revision = revision
            self._current = self._view()
            return self._current


class LiveTopology(Follower[Topology, _Touched]):
    """One engine's topology, brought up to date from the changes it tells of."""

    def __init__(self, store: GraphStore) -> None:
        self._rows: TopologyRows | None = None
        super().__init__(store)

    def _empty_keys(self) -> _Touched:
        return _Touched()

    def _keys(self, d: Any) -> _Touched | None:
        return touched_keys(d)

    def _too_much(self, touched: _Touched) -> bool:
        known = len(self._rows.devices) if self._rows is not None else 0
        return touched.size() > MAX_TOUCHED_KEYS or bool(
            known and len(touched.devices) > MAX_TOUCHED_SHARE * known
        )

    def _drop(self) -> None:
        self._rows = None

    def _held(self) -> bool:
        return self._rows is not None

    async def _read(self) -> None:
        self._rows = await read_rows(self.store)

    def _view(self) -> Topology:
        assert self._rows is not None
        return self._rows.build()

    def _warmed(self, view: Topology) -> None:
        # every device's upstream flows, which each blast radius starts from: built once per
        # revision, here rather than in the first question after a change
        flow_index(view)

    async def _update(self, touched: _Touched) -> None:
        rows, store = self._rows, self.store
        assert rows is not None
        if touched.devices:
            wanted = sorted(touched.devices)
            for d in wanted:
                rows.devices.pop(d, None)
            for chunk in chunks(wanted):
                for r in await store.execute(_DEVICES_IN, {"ids": chunk}):
                    rows.devices[r["id"]] = device_row(r)
        if touched.interfaces:
            for key in [k for k in rows.links if k[0] in touched.interfaces]:
                del rows.links[key]
            for key in [k for k in rows.links if k[1] in touched.interfaces]:
                del rows.links[key]
            for chunk in chunks(sorted(touched.interfaces)):
                rows.links.update(link_rows(await store.execute(_LINKS_AT, {"ids": chunk})))
        if touched.located:
            wanted = sorted(touched.located)
            for d in wanted:
                rows.counts.pop(d, None)
            for chunk in chunks(wanted):
                for r in await store.execute(_COUNTS_IN, {"ids": chunk}):
                    rows.counts[r["device"]] = int(r["n"])
        if touched.interfaces:
            need = rows.wanted_aggregates()
            for agg in [a for a in rows.aggregates if a not in need]:
                del rows.aggregates[agg]
            stale = sorted(a for a in need if a in touched.interfaces or a not in rows.aggregates)
            for a in stale:
                rows.aggregates.pop(a, None)
            for chunk in chunks(stale):
                rows.aggregates.update(await read_aggregates(store, chunk))


def chunks(items: list[str]) -> list[list[str]]:
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
