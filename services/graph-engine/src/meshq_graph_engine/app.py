"""The graph engine: owns the topology graph, applies snapshots, answers catalogue queries.

``MESHQ_GRAPH_ENGINE_ROLE=writer`` (the default, one per installation) consumes snapshots and
writes the graph; ``reader`` replicas answer queries from the same Memgraph (see ``reader``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar
from meshq_runtime.audit_confirm import open_audit_buffer
from meshq_runtime.graph import open_graph_store
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.metrics_store import MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.service import kafka_probe, open_kafka
from meshq_runtime.service_auth import (
    ServiceAuthMiddleware,
    ServiceCredential,
    internal_client,
    service_credential,
)
from network_discovery.contracts import topics
from network_discovery.k8s import InventoryStore
from network_discovery.vuln.feed import start_watch
from network_discovery.vuln.store import AdvisoryStore, PostgresAdvisoryStore, SqliteAdvisoryStore

from meshq_graph_engine import answers, blast, firewall, handlers
from meshq_graph_engine.answers.kept import keep_warm
from meshq_graph_engine.archive import SnapshotArchive
from meshq_graph_engine.compliance import (
    ComplianceService,
    ConfigStore,
    FileHistory,
    History,
    PostgresHistory,
)
from meshq_graph_engine.controllers import ROUTES, stored_reference
from meshq_graph_engine.deps import GraphDeps, ReaderDeps, WriterDeps
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.flow_intake import open_flow_store, start_flow_intake
from meshq_graph_engine.intake import SnapshotIntake
from meshq_graph_engine.limits import device_limit_from
from meshq_graph_engine.reader import GraphReader, check_reader_store, follow_topology
from meshq_graph_engine.settings import Settings

__all__ = ["SERVICE", "create_app"]

log = structlog.get_logger(__name__)

SERVICE = "graph-engine"
#: Audit events of internal writes held while the broker is away; full means 503.
AUDIT_CAPACITY = 1_000


async def _metrics(settings: Settings, stack: AsyncExitStack) -> MetricsStore | None:
    """The interface metrics store where MESHQ_POSTGRES_URL is set (connections open on first
    use, so graph-engine starts and answers its graph queries while PostgreSQL is away)."""
    if not settings.metrics_configured:
        log.info("metrics.store.off", reason="MESHQ_POSTGRES_URL is not set")
        return None
    pool = await create_pool(settings, max_size=4)
    stack.push_async_callback(pool.close)
    return MetricsStore(pool)


async def _compliance(settings: Settings, stack: AsyncExitStack, store: Any) -> ComplianceService:
    """Compliance runs over the graph; their history in PostgreSQL where MESHQ_POSTGRES_URL
    is set, else in the state directory (see docs/compliance.md)."""
    base = settings.data_dir / "graph-engine" / "compliance"
    history: History
    if settings.metrics_configured:
        pool = await create_pool(settings, max_size=2)
        stack.push_async_callback(pool.close)
        history = PostgresHistory(pool)
    else:
        history = FileHistory(base / "runs")
    packs = settings.compliance_packs_dir or None
    service = ComplianceService(store, history, ConfigStore(base / "configs"), packs_dir=packs)
    stack.push_async_callback(service.close)
    return service


def _vulns(settings: Settings) -> AdvisoryStore:
    """The advisory store: PostgreSQL where MESHQ_POSTGRES_URL is set, else SQLite in the data
    directory (where 'meshq vuln load' writes too; see docs/vulnerabilities.md)."""
    if settings.metrics_configured:
        return PostgresAdvisoryStore(settings.postgres_url.get_secret_value())
    return SqliteAdvisoryStore(settings.data_dir / "vuln" / "advisories.sqlite3")


async def _writer(
    settings: Settings,
    stack: AsyncExitStack,
    state: ServiceState[GraphDeps],
    credential: ServiceCredential,
) -> None:
    store = open_graph_store(settings)
    stack.push_async_callback(store.close)
    follower = LicenseFollower(settings, credential=credential)
    await follower.start()
    stack.push_async_callback(follower.stop)
    archive = SnapshotArchive(settings.data_dir / "graph-engine")
    # the archive lets a restart finish an apply a crash cut short; failpoints: tests only
    engine = GraphEngine(
        store,
        device_limit=device_limit_from(follower),
        archive=archive,
        failpoint=settings.failpoint,
    )
    await answers.mark_interrupted(store)
    await engine.start()
    await answers.repair(store)
    # path analysis's view read and compiled in the background: the first question finds it
    stack.push_async_callback(firewall.warm_up(store, engine))
    # the blast-radius topology and segment lookups likewise
    stack.push_async_callback(blast.warm_up(store, engine))
    # the whole-graph answers kept in memory (topology_edges, all_devices) likewise
    stack.callback(keep_warm(engine))
    intake = SnapshotIntake(
        settings.data_dir / "graph-engine", max_bytes=settings.snapshot_max_bytes
    )
    kafka = open_kafka(settings, service=SERVICE)
    stack.push_async_callback(kafka.broker.stop)
    compliance = await _compliance(settings, stack, store)
    handlers.register(
        kafka.consumer,
        handlers.IngestHandlers(engine, kafka.bus, archive, intake, configs=compliance.configs),
    )
    if settings.compliance_after_snapshot:
        kafka.consumer.subscribe(
            topics.TOPOLOGY_CHANGED,
            compliance.on_topology_changed,
            offset_reset="latest",
            group=f"{SERVICE}-compliance",
        )
    await kafka.start()
    sweeper = asyncio.create_task(
        _sweep(intake, kafka.bus, settings.intake_requeue_after), name="snapshot-intake-sweep"
    )

    async def stop_sweeper() -> None:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)

    stack.push_async_callback(stop_sweeper)
    # each internal write's audit event stays in the journal until the chain confirms it
    audit = await open_audit_buffer(
        stack,
        kafka.bus,
        settings,
        settings,
        directory=settings.data_dir / "graph-engine",
        capacity=AUDIT_CAPACITY,
        confirming=lambda: follower.allows("audit_logging"),
    )
    state.probes[:] = [kafka_probe(kafka.broker), ("graph-store", store.ping)]
    vulns = _vulns(settings)
    stop_feed = await start_watch(vulns)  # MESHQ_VULN_FEED_DIR: the scheduled load
    if stop_feed is not None:
        stack.push_async_callback(stop_feed)
    flows = open_flow_store()
    await start_flow_intake(
        flows,
        settings,
        stack,
        client_id=f"meshq-{SERVICE}-flows",
        graph=store,
        revision=lambda: engine.revision,
    )
    deps = WriterDeps(
        store=store,
        engine=engine,
        archive=archive,
        bus=kafka.bus,
        license=follower,
        audit=audit,
        intake=intake,
        intake_slots=asyncio.Semaphore(settings.intake_concurrency),
        metrics=await _metrics(settings, stack),
        flows=flows,
        compliance=compliance,
        vulns=vulns,
        k8s=InventoryStore(settings.data_dir / "k8s"),  # what 'meshq k8s sync' writes
    )
    state.hand_out(deps, stack)


async def _sweep(intake: SnapshotIntake, bus: Any, after: float) -> None:
    """Accepted snapshots left behind (the broker lost their reference, or was away when they
    came in) are queued again: at start, then every few seconds."""

    async def publish(record: dict[str, Any]) -> None:
        await bus.publish(stored_reference(record))

    first = True
    while True:
        try:
            # at start every pending one goes out again: the embedded broker keeps nothing
            # across its own restart
            await intake.sweep(publish, after=0.0 if first else after)
            first = False
        except Exception as exc:  # the sweep must outlive any one failure
            log.error("intake.sweep_failed", error=f"{type(exc).__name__}: {exc}"[:300])
        await asyncio.sleep(min(15.0, after / 4))


async def _reader(
    settings: Settings,
    stack: AsyncExitStack,
    state: ServiceState[GraphDeps],
    credential: ServiceCredential,
) -> None:
    store = open_graph_store(settings)
    stack.push_async_callback(store.close)
    reader = GraphReader(store)
    kafka = open_kafka(settings, service=SERVICE)
    stack.push_async_callback(kafka.broker.stop)
    follow_topology(kafka.consumer, reader, SERVICE)
    await kafka.start()
    state.probes[:] = [
        kafka_probe(kafka.broker),
        ("graph-store", store.ping),
        ("graph-revision", reader.ready_probe),
    ]
    # The first refresh runs at once: the reader is ready once it has loaded the revision.
    task = asyncio.create_task(reader.follow(settings.refresh_interval), name="graph-reader")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(stop)
    writer = internal_client(credential, base_url=settings.writer_url, timeout=60.0)
    stack.push_async_callback(writer.aclose)
    metrics = await _metrics(settings, stack)
    flows = open_flow_store(reader=True)
    deps = ReaderDeps(
        store=store,
        engine=reader,
        writer=writer,
        metrics=metrics,
        flows=flows,
        vulns=_vulns(settings),
        k8s=InventoryStore(settings.data_dir / "k8s"),
    )
    state.hand_out(deps, stack)


def create_app(settings: Settings) -> Litestar:
    if settings.role == "reader":
        check_reader_store(settings)  # before anything starts, with what to set
    credential = service_credential(settings, caller=SERVICE)
    state: ServiceState[GraphDeps] = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            start = _reader if settings.role == "reader" else _writer
            await start(settings, stack, state, credential)
            yield

    return build_app(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential)],
    )
