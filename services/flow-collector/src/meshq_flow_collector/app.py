"""The flow collector: NetFlow v5/v9 and IPFIX listeners publishing Arrow batches to Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, get
from litestar.di import NamedDependency
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.service import kafka_probe, open_kafka

from meshq_flow_collector.service import SERVICE, FlowCollectorService
from meshq_flow_collector.settings import Settings

__all__ = ["SERVICE", "create_app"]


@dataclass(frozen=True)
class CollectorDeps:
    collector: FlowCollectorService


@get("/flows/status", tags=["flows"])
async def flows_status(deps: NamedDependency[CollectorDeps]) -> dict[str, Any]:
    """The ports listened on, each exporter's counters, decode errors by reason, and the
    batches published, waiting and dropped."""
    return deps.collector.status()


def create_app(settings: Settings) -> Litestar:
    state: ServiceState[CollectorDeps] = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            await kafka.start()
            service = FlowCollectorService(settings, kafka.bus.publish_raw_many)
            await service.start()
            stack.push_async_callback(service.stop)
            state.probes[:] = [kafka_probe(kafka.broker)]
            state.hand_out(CollectorDeps(collector=service), stack)
            yield

    return build_app(
        service=SERVICE,
        route_handlers=[flows_status],
        lifespan=lifespan,
        state=state,
    )
