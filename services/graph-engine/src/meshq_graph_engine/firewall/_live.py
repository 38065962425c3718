"""Path analysis's view kept up to date from each change, instead of loaded and compiled whole.

The writer tells of every change it applied (``GraphEngine.applied``: the new revision and the
change's difference). Every firewall, routing and addressing key starts with its device's id
(``<device>|...``), so a difference names the devices whose layer-3 interfaces, routing table
or policy it touched, and the endpoints (by MAC) whose addresses it moved. They wait until the
next question; then only those are read again from the store (fixed Cypher, ids as
parameters): a touched device's interfaces and routes are replaced, its policy rebuilt with
each rule set compiled again only when its rows changed (``CompiledRuleSets``); everything
else is kept. Reading a key again is the same whether it changed once or several times, so
changes that arrive while the store is being read are simply read again next time.

The view is read whole instead the first time, after a change whose difference is not known
key by key, after a revision that was never told of, or when a change touched so much that a
whole read is cheaper. A whole read is a few columnar reads (``_load.read_view``): endpoints
stay columns, and each rule set is compiled the first time a question reaches it, the rest
one by one in the background between questions.

The service keeps the view warm (:func:`warm_up`): read in the background as soon as the
graph is loaded, and brought up to date in the background after each change, so that a
question finds it current instead of paying for the read. Unreachable filter lines need none
of the view: they are kept apart (:meth:`LiveView.lines`), per device, from revision to
revision for the devices whose policy a change did not touch.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.firewall._compiled import compile_rest
from meshq_graph_engine.firewall._load import (
    CompiledRuleSets,
    GraphView,
    LineCache,
    endpoint_addresses,
    l3_interface,
    policies_from_rows,
    read_view,
    routes_from_rows,
)

__all__ = ["LiveView", "live_view", "touched_keys", "warm_up"]

log = structlog.get_logger(__name__)

_ADDRESSES_IN = (
    "MATCH (i:Interface)-[:HAS_IP]->(a:IPAddress) WHERE a.device IN $ids "
    "RETURN a.device AS device, a.interface AS interface, a.ip AS ip, a.network AS network, "
    "coalesce(a.vrf, i.vrf) AS vrf"
)
# by key, one lookup per id (``IN $ids`` would scan every endpoint)
_ENDPOINTS_IN = (
    "UNWIND $ids AS k MATCH (e:Endpoint) WHERE e.id = k RETURN e.mac AS mac, e.ips AS ips, "
    "e.device AS device, e.interface AS interface"
)
_ROUTES_IN = (
    "MATCH (r:Route) WHERE r.device IN $ids "
    "RETURN r.device AS device, r.vrf AS vrf, r.prefix AS prefix, r.protocol AS protocol, "
    "r.next_hops AS next_hops, r.interfaces AS interfaces, r.distance AS distance, "
    "r.metric AS metric, coalesce(r.origin, 'collected') AS origin"
)
_RULESETS_IN = (
    "MATCH (s:FirewallRuleset) WHERE s.device IN $ids "
    "RETURN s.device AS device, s.name AS name, s.kind AS kind, "
    "s.default_action AS default_action, s.default_text AS default_text, s.bindings AS bindings, "
    "s.netfilter_table AS netfilter_table, s.netfilter_hook AS netfilter_hook, "
    "s.family AS family"
)
_RULES_IN = (
    "MATCH (r:FirewallRule) WHERE r.device IN $ids "
    "RETURN r.device AS device, r.ruleset AS ruleset, r.position AS position, r.name AS name, "
    "r.action AS action, r.src_zones AS src_zones, r.dst_zones AS dst_zones, "
    "r.sources AS sources, r.destinations AS destinations, r.services AS services, "
    "r.enabled AS enabled, r.text AS text, r.nat AS nat"
)
_ZONES_IN = (
    "MATCH (z:FirewallZone) WHERE z.device IN $ids "
    "RETURN z.device AS device, z.name AS name, z.interfaces AS interfaces"
)

#: A change touching more keys than this is followed by a whole read.
MAX_TOUCHED_KEYS = 200_000
#: Ids per query when reading touched keys again.
_CHUNK = 5_000

_L3 = ("IPAddress", "Interface")
_ROUTED = ("Route",)
_POLICY = ("FirewallRuleset", "FirewallRule", "FirewallZone")

_LIVE: weakref.WeakKeyDictionary[Any, LiveView] = weakref.WeakKeyDictionary()


def _device_of(key: str) -> str:
    """Interface, address, route and firewall ids all start ``<device id>|``."""
    return key.partition("|")[0]


@dataclass
class Touched:
    """What changes touched since the view was last brought up to date."""

    l3: set[str] = field(default_factory=set)  # devices whose layer-3 interfaces may differ
    routes: set[str] = field(default_factory=set)  # devices whose routing table may differ
    policy: set[str] = field(default_factory=set)  # devices whose zones or rule sets may differ
    endpoints: set[str] = field(default_factory=set)  # endpoint ids (MACs)

    def size(self) -> int:
        return len(self.l3) + len(self.routes) + len(self.policy) + len(self.endpoints)

    def __bool__(self) -> bool:
        return self.size() > 0

    def add(self, other: Touched) -> None:
        self.l3 |= other.l3
        self.routes |= other.routes
        self.policy |= other.policy
        self.endpoints |= other.endpoints


def _node_ids(d: Any, label: str) -> list[str]:
    return [
        *(r["id"] for r in d.added.get(label, ())),
        *(r["id"] for r in d.updated.get(label, ())),
        *d.removed.get(label, ()),
    ]


def touched_keys(d: Any) -> Touched | None:
    """What a difference (``diff.GraphDiff``) touched; None when it is too large to be worth
    following key by key."""
    labels = (*_L3, *_ROUTED, *_POLICY, "Endpoint")
    size = sum(
        len(getattr(d, part).get(label, ()))
        for part in ("added", "updated", "removed")
        for label in labels
    )
    size += sum(
        len(getattr(d, part).get("HAS_IP", ()))
        for part in ("rels_added", "rels_removed", "rels_updated")
    )
    if size > MAX_TOUCHED_KEYS:
        return None
    out = Touched()
    for label in _L3:
        out.l3.update(_device_of(i) for i in _node_ids(d, label))
    for part in ("rels_added", "rels_removed", "rels_updated"):
        out.l3.update(_device_of(r["src"]) for r in getattr(d, part).get("HAS_IP", ()))
    for label in _ROUTED:
        out.routes.update(_device_of(i) for i in _node_ids(d, label))
    for label in _POLICY:
        out.policy.update(_device_of(i) for i in _node_ids(d, label))
    out.endpoints.update(_node_ids(d, "Endpoint"))
    return out


class LiveView:
    """One engine's path-analysis view, brought up to date from the changes it tells of."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._lock = asyncio.Lock()
        self._view: GraphView | None = None
        self._compiled = CompiledRuleSets()
        #: the last revision told of: every change up to it is in the view or in ``_touched``
        self._told: int | None = None
        self._touched = Touched()
        #: how the last call got its view (cached, updated or read), how many rule sets it
        #: built again and how many rules it compiled
        self.last = ""
        self.last_compiled = 0
        self.last_rules_compiled = 0
        #: unreachable filter lines, kept apart from the view (they need none of it)
        self._lines: LineCache | None = None
        #: rule sets read whole, compiled between questions (``_compiled.compile_rest``)
        self._compiling: asyncio.Task[None] | None = None
        #: kept warm (``warm_up``): read at start-up and brought up to date after each change
        #: in the background, by ``_refreshing``, for the engine ``_engine``
        self._warm = False
        self._engine: weakref.ref[Any] | None = None
        self._refreshing: asyncio.Task[None] | None = None

    def lines(self, engine: Any) -> LineCache:
        """The unreachable filter lines kept for the engine's revision."""
        key = ("revision", int(engine.revision))
        if self._lines is None or self._lines.key != key:
            self._lines = LineCache(key)
        return self._lines

    def _follow_lines(self, revision: int, d: Any) -> None:
        lines = self._lines
        if lines is None:
            return
        self._lines = None
        touched = None if d is None or lines.key != ("revision", revision - 1) else touched_keys(d)
        if touched is not None:
            kept = {k: v for k, v in lines.found.items() if k and k not in touched.policy}
            if "" in lines.found and not touched.policy:
                kept[""] = lines.found[""]
            self._lines = LineCache(("revision", revision), kept)

    def on_change(self, revision: int, d: Any) -> None:
        """An engine's listener (``GraphEngine.applied``); never raises."""
        try:
            self._follow_lines(revision, d)
        except Exception as exc:  # a listener must not fail the change
            log.warning("firewall.lines.follow_failed", error=f"{type(exc).__name__}: {exc}")
            self._lines = None
        try:
            if self._told is None:
                return  # nothing kept yet: the first question reads whole
            touched = None if d is None or revision != self._told + 1 else touched_keys(d)
            if touched is None:
                self._forget()
                return
            self._touched.add(touched)
            self._told = revision
            if self._touched.size() > MAX_TOUCHED_KEYS:
                self._forget()
        except Exception as exc:  # a listener must not fail the change; read whole next time
            log.warning("firewall.view.follow_failed", error=f"{type(exc).__name__}: {exc}")
            self._forget()
        finally:
            if self._warm:
                self._refresh_later()

    def _forget(self) -> None:
        self._view = self._told = None
        self._touched = Touched()

    async def current(self, engine: Any) -> GraphView:
        """The view at the engine's revision."""
        async with self._lock:
            revision = int(engine.revision)
            key: tuple[Any, ...] = ("revision", revision)
            view = self._view
            if view is not None and self._told == revision and not self._touched:
                self.last = "cached"
                return view
            before = self._compiled.compiled
            rules_before = self._compiled.rules_compiled
            started = time.perf_counter()
            if view is not None and self._told == revision:
                touched, self._touched = self._touched, Touched()
                try:
                    view = await self._update(view, touched, key)
                except BaseException:
                    self._forget()
                    raise
                self.last = "updated"
                log.info(
                    "firewall.view.updated",
                    devices=len(touched.l3 | touched.routes | touched.policy),
                    endpoints=len(touched.endpoints),
                    rule_sets_built=self._compiled.compiled - before,
                    rules_compiled=self._compiled.rules_compiled - rules_before,
                    elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            else:
                self._forget()
                self._told = revision  # changes from now on are followed while it is read
                self._compiled = CompiledRuleSets()
                before = rules_before = 0
                view = await read_view(self.store, key, self._compiled)
                self.last = "read"
                self._compile_later(view)
            self.last_compiled = self._compiled.compiled - before
            self.last_rules_compiled = self._compiled.rules_compiled - rules_before
            self._view = view
            return view

    async def ready(self) -> None:
        """Wait until the work in the background (the read at start-up, compiling the rule
        sets no question has used) is done."""
        for name in ("_refreshing", "_compiling"):
            task = getattr(self, name)
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        """Stop the work in the background (the service is stopping)."""
        self._warm = False
        for name in ("_refreshing", "_compiling"):
            task = getattr(self, name)
            setattr(self, name, None)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def keep_warm(self, engine: Any) -> None:
        """Read the view now, in the background, and bring it up to date after each change
        the same way, so that questions find it current."""
        self._warm = True
        self._engine = weakref.ref(engine)
        self._refresh_later()

    def _refresh_later(self) -> None:
        engine = self._engine() if self._engine is not None else None
        if engine is None or (self._refreshing is not None and not self._refreshing.done()):
            return  # the refresh under way goes on until the view is current
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._refreshing = loop.create_task(self._refresh(engine), name="firewall-refresh")

    async def _refresh(self, engine: Any) -> None:
        started = time.perf_counter()
        try:
            while self._warm and (
                self._view is None or self._told != int(engine.revision) or self._touched
            ):
                await asyncio.sleep(0)
                view = await self.current(engine)
                await asyncio.sleep(0)
                if self._view is view:
                    view.topology.prepare()
        except Exception as exc:  # the next question reads it again and says why
            log.warning("firewall.view.refresh_failed", error=f"{type(exc).__name__}: {exc}")
            return
        log.debug(
            "firewall.view.refreshed",
            how=self.last,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _compile_later(self, view: GraphView) -> None:
        """Compile the rule sets no question has used yet, one at a time between questions,
        so that the questions after the first find them compiled."""
        if self._compiling is not None:
            self._compiling.cancel()
        pending = [
            b.rule_set
            for _, policy in sorted(view.topology.policies.items())
            for b in policy.bindings
            if not b.rule_set.ready
        ]
        if pending:
            self._compiling = asyncio.get_running_loop().create_task(
                compile_rest(pending), name="firewall-compile"
            )

    async def _rows(self, cypher: str, ids: set[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        wanted = sorted(ids)
        for i in range(0, len(wanted), _CHUNK):
            out += await self.store.execute(cypher, {"ids": wanted[i : i + _CHUNK]})
        return out

    async def _update(self, view: GraphView, touched: Touched, key: tuple[Any, ...]) -> GraphView:
        topology = view.topology
        if touched.l3:
            rows = await self._rows(_ADDRESSES_IN, touched.l3)
            topology.replace_devices(touched.l3, [l3_interface(r) for r in rows])
        if touched.endpoints:
            rows = await self._rows(_ENDPOINTS_IN, touched.endpoints)
            topology.replace_endpoints(
                touched.endpoints, [e for r in rows for e in endpoint_addresses(r)]
            )
        if touched.routes:
            tables = routes_from_rows(await self._rows(_ROUTES_IN, touched.routes))
            for device in touched.routes:
                table = tables.get(device)
                if table is None:
                    topology.routes.pop(device, None)
                else:
                    topology.routes[device] = table
        if touched.policy:
            rule_sets = await self._rows(_RULESETS_IN, touched.policy)
            policies = policies_from_rows(
                await self._rows(_ZONES_IN, touched.policy),
                rule_sets,
                await self._rows(_RULES_IN, touched.policy),
                self._compiled,
            )
            self._compiled.keep_only({(r["device"], r["name"]) for r in rule_sets}, touched.policy)
            for device in touched.policy:
                policy = policies.get(device)
                if policy is None:
                    topology.policies.pop(device, None)
                else:
                    topology.policies[device] = policy
        return GraphView(key, topology)


def warm_up(store: GraphStore, engine: Any) -> Callable[[], Awaitable[None]]:
    """Read the view and compile its rule sets in the background now (at start-up, once the
    graph is loaded), and bring it up to date in the background after each change, so that
    questions find it current; a question that comes sooner waits only for what is left of
    the work. Returns what stops it."""
    live = live_view(store, engine)
    live.keep_warm(engine)
    return live.stop


def live_view(store: GraphStore, engine: Any) -> LiveView:
    """The engine's live view, made (and told of the engine's changes) on first use."""
    live = _LIVE.get(engine)
    if live is None or live.store is not store:
        if live is not None and live.on_change in engine.applied:
            engine.applied.remove(live.on_change)
        live = LiveView(store)
        engine.applied.append(live.on_change)
        _LIVE[engine] = live
    return live
