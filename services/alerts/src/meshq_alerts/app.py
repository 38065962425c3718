"""The alerts service: evaluates the rules after every topology change and on an interval,
keeps the alerts in PostgreSQL, pushes them to Alertmanager, and serves the Alerts queries to
the gateway (``/internal/queries``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote

import httpx
import structlog
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.kafka import EventConsumer
from meshq_runtime.license import LicenseFollower
from meshq_runtime.outbox import OUTBOX_MIGRATIONS, OutboxRelay
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.served_queries import require_feature
from meshq_runtime.service import kafka_probe, open_kafka, postgres_probe
from meshq_runtime.service_auth import (
    ServiceAuthMiddleware,
    internal_client,
    service_credential,
)
from network_discovery.contracts import topics
from network_discovery.contracts.events import SnapshotRejected, TopologyChanged

from meshq_alerts import queries
from meshq_alerts.alertmanager import AlertmanagerPush
from meshq_alerts.evaluator import Evaluator, GraphQueries
from meshq_alerts.rules import AlertRule
from meshq_alerts.settings import Settings
from meshq_alerts.sources import BlastFigures, InterfaceWindow
from meshq_alerts.store import MIGRATIONS, SERVICE, AlertStore, init_connection

__all__ = ["ON_BEHALF_HEADER", "SCHEMA", "SERVICE", "create_app"]

log = structlog.get_logger(__name__)

SCHEMA: Schema = ((f"{SERVICE}-outbox", OUTBOX_MIGRATIONS), (SERVICE, MIGRATIONS))
#: Set by the gateway on a query it forwards: the name of the caller it runs for.
ON_BEHALF_HEADER = "X-MeshQ-On-Behalf-Of"
MAX_OFFSET = 100_000_000


@dataclass(frozen=True)
class AlertsDeps:
    store: AlertStore
    evaluator: Evaluator
    license: LicenseFollower
    settings: Settings


Deps = NamedDependency[AlertsDeps]


class Scheduler:
    """Runs the rules every ``interval_s``, and ``debounce_s`` after a topology change."""

    def __init__(self, evaluator: Evaluator, interval_s: float, debounce_s: float) -> None:
        self.evaluator = evaluator
        self.interval_s = interval_s
        self.debounce_s = debounce_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def loop(self) -> None:
        while True:
            try:
                await self.evaluator.run_once()
            except Exception:  # PostgreSQL away, a bug in one round: the next round retries
                log.exception("alerts.round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            if self._wake.is_set():
                await asyncio.sleep(self.debounce_s)  # let a burst of changes land first
                self._wake.clear()


def register(
    consumer: EventConsumer, scheduler: Scheduler, blast: BlastFigures | None = None
) -> None:
    async def on_topology(event: TopologyChanged | SnapshotRejected) -> None:
        if isinstance(event, TopologyChanged) and not event.data.empty:
            if blast is not None:
                # a metadata patch (a role, say) can move every figure: ask about every device
                data = event.data
                known = data.kind == "snapshot" and bool(data.scope_devices)
                blast.note_change(data.scope_devices if known else None)
            scheduler.wake()

    consumer.subscribe(topics.TOPOLOGY_CHANGED, on_topology, group=f"{SERVICE}.topology")


@get("/internal/queries", tags=["internal"])
async def list_queries() -> list[dict[str, Any]]:
    """The Alerts queries, in the shape of graph-engine's catalogue."""
    return [queries.describe(q) for q in queries.QUERIES.values()]


@post("/internal/queries/{name:str}", tags=["internal"], status_code=200)
async def execute_query(
    name: FromPath[str],
    deps: Deps,
    request: Request[Any, Any, Any],
    data: JSONBody[dict[str, Any] | None] = None,
    limit: Annotated[int | None, Parameter(ge=1, le=queries.MAX_LIMIT)] = None,
    offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Run one Alerts query for the calling service (and the caller it names)."""
    require_feature(deps.license, queries.FEATURE)
    caller = request.scope.get("state", {}).get("service_caller") or "service"
    on_behalf = unquote((request.headers.get(ON_BEHALF_HEADER) or "")[:1024]).strip()[:255]
    actor = on_behalf or caller
    ctx = queries.Context(store=deps.store, evaluator=deps.evaluator, actor=actor)
    return await queries.run(ctx, name, data or {}, limit=limit, offset=offset)


@post("/internal/alerts/evaluate", tags=["internal"], status_code=200)
async def evaluate_now(deps: Deps) -> dict[str, Any]:
    """Evaluate every rule now (what the interval and topology changes do)."""
    result = await deps.evaluator.run_once()
    return result.summary()


@get("/internal/alerts/status", tags=["internal"])
async def status(deps: Deps) -> dict[str, Any]:
    """The rules in force and the last evaluation."""
    last = deps.evaluator.last
    return {
        "rules": len(deps.evaluator.rules),
        "last_round": last.summary() if last is not None else None,
        "blast": deps.evaluator.blast.last if deps.evaluator.blast is not None else {},
        "alertmanagers": deps.evaluator.push.urls if deps.evaluator.push else [],
    }


def create_app(settings: Settings, rules: list[AlertRule] | None = None) -> Litestar:
    """The app; the rules are read here, so a bad rules file stops start-up."""
    rules = settings.load_rules() if rules is None else rules
    state: ServiceState[AlertsDeps] = ServiceState(service=SERVICE)
    credential = service_credential(settings, caller=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings, init=init_connection)
            stack.push_async_callback(pool.close)
            await apply_schema(pool, SCHEMA)
            store = AlertStore(pool, service=SERVICE)
            await store.forget_rules([r.name for r in rules], datetime.now(UTC))
            follower = LicenseFollower(settings, credential=credential)
            await follower.start()
            stack.push_async_callback(follower.stop)
            graph = internal_client(credential, base_url=settings.graph_engine_url, timeout=60.0)
            stack.push_async_callback(graph.aclose)
            http = httpx.AsyncClient(timeout=10.0)
            stack.push_async_callback(http.aclose)
            urls = [u.strip() for u in settings.alertmanager_urls.split(",") if u.strip()]
            push = AlertmanagerPush(urls, http, generator_url=settings.public_url) if urls else None
            routes = {}
            if settings.prober_url:  # rules over the Synthetic queries ask the prober
                prober = internal_client(credential, base_url=settings.prober_url, timeout=30.0)
                stack.push_async_callback(prober.aclose)
                routes["meshq_synthetic_"] = prober
            queries_ = GraphQueries(graph, routes)
            blast = BlastFigures(
                store,
                queries_,
                concurrency=settings.blast_concurrency,
                full_every_s=settings.blast_full_interval_s,
            )
            evaluator = Evaluator(
                rules,
                store,
                queries_,
                push=push,
                metrics=InterfaceWindow(pool),
                blast=blast,
                max_rows=settings.max_rows,
            )
            scheduler = Scheduler(evaluator, settings.interval_s, settings.debounce_s)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            register(kafka.consumer, scheduler, blast)
            await kafka.start()
            # every change's alert.changed event leaves through the outbox, once committed
            relay = OutboxRelay(pool, kafka.bus, SERVICE)
            relay.start()
            stack.push_async_callback(relay.stop)

            async def wake_relay(_: Any) -> None:
                relay.notify()

            evaluator.listeners.append(wake_relay)
            loop = asyncio.create_task(scheduler.loop(), name="alerts-loop")

            async def stop_loop() -> None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop

            stack.push_async_callback(stop_loop)
            state.probes[:] = [kafka_probe(kafka.broker), postgres_probe(pool)]
            state.hand_out(
                AlertsDeps(store=store, evaluator=evaluator, license=follower, settings=settings),
                stack,
            )
            yield

    return build_app(
        service=SERVICE,
        route_handlers=[list_queries, execute_query, evaluate_now, status],
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential)],
    )
