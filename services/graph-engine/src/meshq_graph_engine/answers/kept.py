"""Whole-graph answers kept in the writer's memory, from the graph it already holds there.

``topology_edges`` and ``all_devices`` list every link and every device. Read from the store,
each call scans the interfaces (half a million at 10,000 devices) or the devices and turns
every row into Python objects again. The writer already holds the graph as tuples
(:attr:`GraphEngine.projection`), so these answers keep their own rows, as tuples, taken from
it: built whole on first use, then brought up to date from each applied change
(``GraphEngine.applied``: the revision and the change's difference), key by key. A call then
filters the kept rows and makes one dictionary per row it returns: no store round trip.

The rows are those the store holds at the revision they are kept for: the difference is taken
once the change is written (the revision moves last), and a build reads the graph in memory
only while no change is being applied to it (between two changes it is the graph the store
holds). Where they cannot be vouched for (a replica without the graph in memory, a build that
would overlap a change, an update that failed), the query reads the store as before.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import structlog

from meshq_graph_engine.diff import GraphDiff
from meshq_graph_engine.projection import NODE_PROPS, REL_PROPS, Projection

__all__ = [
    "DEVICE_COLUMNS",
    "EDGE_COLUMNS",
    "DeviceRows",
    "KeptRows",
    "LinkRows",
    "keep_warm",
    "kept",
]

log = structlog.get_logger(__name__)

#: A change touching more than this share of an answer's keys rebuilds it whole.
WHOLE_SHARE = 0.25
#: Kept warm: how long after a change the rows are brought into the answer's order (a burst
#: of changes is followed once), and how long to wait while a change is being applied.
WARM_DELAY_S = 0.5

#: topology_edges' columns, in order.
EDGE_COLUMNS = ("a_device", "a_interface", "b_device", "b_interface", "evidence", "confidence")
#: all_devices' columns, in order (``device`` is the node's id).
DEVICE_COLUMNS = (
    "device",
    "hostname",
    "vendor",
    "platform",
    "model",
    "os_version",
    "serial",
    "role",
    "site",
    "tenant",
    "rack",
    "netbox_platform_slug",
    "management_ip",
    "criticality",
    "managed",
)

_DEVICE = NODE_PROPS["Device"]
_DEVICE_AT = tuple(_DEVICE.index(c) for c in DEVICE_COLUMNS[1:])
_SITE = _DEVICE.index("site")
_IFACE_DEVICE = NODE_PROPS["Interface"].index("device")
_IFACE_NAME = NODE_PROPS["Interface"].index("name")
_EVIDENCE = REL_PROPS["CONNECTED_TO"].index("evidence")
_CONFIDENCE = REL_PROPS["CONNECTED_TO"].index("confidence")


def _edge(row: tuple[Any, ...]) -> dict[str, Any]:
    """A topology_edges row as its answer's dictionary (a dictionary display: twice as fast as
    ``dict(zip(...))``, which counts at 100,000 rows)."""
    return {
        "a_device": row[0],
        "a_interface": row[1],
        "b_device": row[2],
        "b_interface": row[3],
        "evidence": row[4],
        "confidence": row[5],
    }


def _device(row: tuple[Any, ...]) -> dict[str, Any]:
    """An all_devices row as its answer's dictionary (see :func:`_edge`)."""
    return {
        "device": row[0],
        "hostname": row[1],
        "vendor": row[2],
        "platform": row[3],
        "model": row[4],
        "os_version": row[5],
        "serial": row[6],
        "role": row[7],
        "site": row[8],
        "tenant": row[9],
        "rack": row[10],
        "netbox_platform_slug": row[11],
        "management_ip": row[12],
        "criticality": row[13],
        "managed": row[14],
    }


def _ids(rows: Iterable[Any], key: str = "id") -> Iterable[Any]:
    for row in rows:
        yield row if isinstance(row, str) else row[key]


def _count(d: GraphDiff, label: str) -> int:
    """How many nodes of ``label`` a difference adds, changes or removes (none made)."""
    return sum(len(part.get(label) or ()) for part in (d.added, d.updated, d.removed))


def _devices(d: GraphDiff) -> set[str]:
    """The devices a difference adds, changes or removes."""
    return {
        *_ids(d.added.get("Device") or ()),
        *_ids(d.updated.get("Device") or ()),
        *_ids(d.removed.get("Device") or ()),
    }


def _second(item: tuple[Any, Any]) -> Any:
    return item[1]


class KeptRows:
    """One answer's rows, kept for one engine at :attr:`revision`."""

    def __init__(self, engine: Any) -> None:
        self._engine = weakref.ref(engine)
        #: The engine revision the rows are those of; None: not kept (read the store).
        self.revision: int | None = None
        self.builds = 0
        self.updates = 0
        self._sorted: list[tuple[Any, ...]] | None = None
        #: kept warm (``keep_warm``): the next build or sort, scheduled on the event loop
        self._warm: asyncio.TimerHandle | None = None
        self._warming = False
        engine.applied.append(self.on_change)

    # --- what an answer defines ---------------------------------------------------------

    def _build(self, projection: Projection) -> None:
        raise NotImplementedError

    def _update(self, projection: Projection, d: GraphDiff) -> bool:
        """Bring the rows up to date with ``d``; False when a whole build is cheaper."""
        raise NotImplementedError

    def _rows(self) -> Iterable[tuple[Any, ...]]:
        raise NotImplementedError

    # --- keeping them ---------------------------------------------------------------------

    def on_change(self, revision: int, d: GraphDiff | None) -> None:
        """Told of every change the engine applied, once it is written (never raises: the
        rows are dropped instead, and the next call reads the store, then builds again)."""
        engine = self._engine()
        if engine is None or self.revision is None:
            return
        try:
            self._sorted = None
            if d is None or not self._update(engine.projection, d):
                # too much to follow key by key: built whole once the change is done (kept
                # warm) or by the next question, not inside the change's apply
                self.revision = None
                return
            self.updates += 1
            self.revision = revision
        except Exception as exc:
            self.revision = None
            log.error(
                "answers.kept_update_failed",
                answer=type(self).__name__,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )

    # --- kept warm: built and ordered in the background, not by the next question ----------

    def keep_warm(self) -> None:
        """Build the rows now (on the running event loop, once no change is being applied) and
        bring them into the answer's order after each change, so that a question finds them
        ready. Writer only."""
        engine = self._engine()
        if engine is None or self._warming:
            return
        self._warming = True
        engine.applied.append(self._after_change)
        self._warm_later(0.0)

    def stop_warm(self) -> None:
        self._warming = False
        engine = self._engine()
        if engine is not None and self._after_change in engine.applied:
            engine.applied.remove(self._after_change)
        if self._warm is not None:
            self._warm.cancel()
            self._warm = None

    def _after_change(self, revision: int, d: GraphDiff | None) -> None:
        self._warm_later(WARM_DELAY_S)

    def _warm_later(self, delay: float) -> None:
        if not self._warming or self._warm is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._warm = loop.call_later(delay, self._warm_now)

    def _warm_now(self) -> None:
        self._warm = None
        if self._warming and self.current() is None and self._engine() is not None:
            self._warm_later(WARM_DELAY_S)  # a change is being applied: once it is written

    def current(self) -> list[tuple[Any, ...]] | None:
        """The rows in the answer's order, or None when they are not those of the engine's
        revision and cannot be built now."""
        engine = self._engine()
        if engine is None:
            return None
        revision = getattr(engine, "revision", None)
        if self.revision is None or self.revision != revision:
            if not _quiet(engine):
                return None
            try:
                self._build(engine.projection)
            except Exception as exc:
                log.error(
                    "answers.kept_build_failed",
                    answer=type(self).__name__,
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
                self.revision = None
                return None
            self.builds += 1
            self.revision = revision
            self._sorted = None
        if self._sorted is None:
            self._sorted = sorted(self._rows())
        return self._sorted


def _quiet(engine: Any) -> bool:
    """Whether the engine's graph in memory is the one its store holds now: no change is
    being applied (the writer's lock is free) and none failed midway."""
    return bool(getattr(engine, "quiet", False))


class LinkRows(KeptRows):
    """topology_edges: every link as its two ends, with the sites of their devices."""

    def __init__(self, engine: Any) -> None:
        #: link (interface id, interface id) -> the row's columns
        self.links: dict[tuple[str, str], tuple[Any, ...]] = {}
        #: every device -> its site (a device not here is no node: its links are not listed)
        self.sites: dict[str, str | None] = {}
        super().__init__(engine)

    @staticmethod
    def _link(
        projection: Projection, key: tuple[str, str], rel: tuple[Any, ...]
    ) -> tuple[Any, ...] | None:
        interfaces = projection.nodes.get("Interface", {})
        a, b = interfaces.get(key[0]), interfaces.get(key[1])
        if a is None or b is None:
            return None
        return (
            a[_IFACE_DEVICE],
            a[_IFACE_NAME],
            b[_IFACE_DEVICE],
            b[_IFACE_NAME],
            rel[_EVIDENCE],
            rel[_CONFIDENCE],
        )

    def _build(self, projection: Projection) -> None:
        links = {}
        for key, rel in projection.rels.get("CONNECTED_TO", {}).items():
            row = self._link(projection, key, rel)
            if row is not None:
                links[key] = row
        # kept in the answer's order: after a change, sorting again is nearly linear
        self.links = dict(sorted(links.items(), key=_second))
        self.sites = {i: row[_SITE] for i, row in projection.nodes.get("Device", {}).items()}

    def _update(self, projection: Projection, d: GraphDiff) -> bool:
        parts = (d.rels_added, d.rels_removed, d.rels_updated)
        if sum(len(part.get("CONNECTED_TO") or ()) for part in parts) > WHOLE_SHARE * max(
            len(self.links), 1
        ) or _count(d, "Device") > WHOLE_SHARE * max(len(self.sites), 1):
            return False
        keys = {
            (row["src"], row["dst"]) for part in parts for row in part.get("CONNECTED_TO") or ()
        }
        devices = _devices(d)
        rels = projection.rels.get("CONNECTED_TO", {})
        for key in keys:
            rel = rels.get(key)
            row = None if rel is None else self._link(projection, key, rel)
            if row is None:
                self.links.pop(key, None)
            else:
                self.links[key] = row
        nodes = projection.nodes.get("Device", {})
        for device in devices:
            node = nodes.get(device)
            if node is None:
                self.sites.pop(device, None)
            else:
                self.sites[device] = node[_SITE]
        return True

    def _rows(self) -> Iterable[tuple[Any, ...]]:
        return self.links.values()

    def listed(self) -> list[tuple[Any, ...]] | None:
        """Every link whose two devices are nodes, as a tuple of :data:`EDGE_COLUMNS`, in
        their order; None when the rows are not kept."""
        rows = self.current()
        if rows is None:
            return None
        sites = self.sites
        return [row for row in rows if row[0] in sites and row[2] in sites]

    def answer(self, site: str, min_confidence: float) -> list[dict[str, Any]] | None:
        """topology_edges' answer; None when the rows are not kept."""
        rows = self.current()
        if rows is None:
            return None
        sites = self.sites
        out = []
        for row in rows:
            confidence = row[5]
            if confidence is None or confidence < min_confidence:
                continue
            if row[0] not in sites or row[2] not in sites:
                continue
            if site and sites[row[0]] != site and sites[row[2]] != site:
                continue
            out.append(_edge(row))
        return out


class DeviceRows(KeptRows):
    """all_devices: every device's columns."""

    def __init__(self, engine: Any) -> None:
        #: device id -> (its columns..., role, site, managed): the last three for filters
        self.devices: dict[str, tuple[Any, ...]] = {}
        super().__init__(engine)

    @staticmethod
    def _device(device: str, node: tuple[Any, ...]) -> tuple[Any, ...]:
        return (device, *(node[i] for i in _DEVICE_AT))

    def _build(self, projection: Projection) -> None:
        devices = projection.nodes.get("Device", {})
        self.devices = {i: self._device(i, devices[i]) for i in sorted(devices)}

    def _update(self, projection: Projection, d: GraphDiff) -> bool:
        if _count(d, "Device") > WHOLE_SHARE * max(len(self.devices), 1):
            return False
        devices = _devices(d)
        nodes = projection.nodes.get("Device", {})
        for device in devices:
            node = nodes.get(device)
            if node is None:
                self.devices.pop(device, None)
            else:
                self.devices[device] = self._device(device, node)
        return True

    def _rows(self) -> Iterable[tuple[Any, ...]]:
        return self.devices.values()

    def answer(self, managed_only: bool, site: str, role: str) -> list[dict[str, Any]] | None:
        rows = self.current()
        if rows is None:
            return None
        at = DEVICE_COLUMNS.index
        i_site, i_role, i_managed = at("site"), at("role"), at("managed")
        return [
            _device(row)
            for row in rows
            if (row[i_managed] is True or not managed_only)
            and (not site or row[i_site] == site)
            and (not role or row[i_role] == role)
        ]


K = TypeVar("K", bound=KeptRows)

_KEPT: weakref.WeakKeyDictionary[Any, dict[type[KeptRows], KeptRows]] = weakref.WeakKeyDictionary()


def keep_warm(engine: Any) -> Callable[[], None]:
    """Keep every whole-graph answer of the writer ``engine`` built and ordered in the
    background (from now, and after each change); returns what stops it."""
    warm = [k for k in (kept(engine, LinkRows), kept(engine, DeviceRows)) if k is not None]
    for rows in warm:
        rows.keep_warm()

    def stop() -> None:
        for rows in warm:
            rows.stop_warm()

    return stop


def kept(engine: Any, kind: type[K]) -> K | None:
    """The engine's kept rows of ``kind`` (made, and told of its changes, on first use); None
    where the engine tells of no changes (a replica, or no engine)."""
    if engine is None or not isinstance(getattr(engine, "applied", None), list):
        return None
    mine = _KEPT.setdefault(engine, {})
    found = mine.get(kind)
    if found is None:
        found = mine[kind] = kind(engine)
    assert isinstance(found, kind)
    return found
