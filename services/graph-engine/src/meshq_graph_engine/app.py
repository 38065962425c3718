"""The graph engine: owns the topology graph, applies snapshots, answers catalogue queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar
from meshq_runtime.graph import open_graph_store
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.service import kafka_probe, open_kafka

from meshq_graph_engine import handlers
from meshq_graph_engine.archive import SnapshotArchive
from meshq_graph_engine.controllers import ROUTES
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.limits import device_limit_from
from meshq_graph_engine.settings import Settings

__all__ = ["SERVICE", "create_app"]

SERVICE = "graph-engine"


def create_app(settings: Settings) -> Litestar:
    state = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = open_graph_store(settings)
            stack.push_async_callback(store.close)
            follower = LicenseFollower(settings)
            await follower.start()
            stack.push_async_callback(follower.stop)
            engine = GraphEngine(store, device_limit=device_limit_from(follower))
            await engine.start()
            archive = SnapshotArchive(settings.data_dir / "graph-engine")
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            handlers.register(kafka.consumer, handlers.IngestHandlers(engine, kafka.bus, archive))
            await kafka.start()
            state.probes[:] = [kafka_probe(kafka.broker), ("graph-store", store.ping)]
            state.extras.update(
                store=store, engine=engine, archive=archive, bus=kafka.bus, license=follower
            )
            yield

    return build_app(service=SERVICE, route_handlers=ROUTES, lifespan=lifespan, state=state)
