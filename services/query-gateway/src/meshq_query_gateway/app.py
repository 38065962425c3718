"""The query gateway: the public REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.redis import create_redis
from meshq_runtime.service import http_probe, kafka_probe, open_kafka, redis_probe

from meshq_query_gateway.audit import AuditMiddleware
from meshq_query_gateway.auth import ApiKeyMiddleware
from meshq_query_gateway.controllers import ROUTES
from meshq_query_gateway.settings import Settings

__all__ = ["SERVICE", "create_app"]

SERVICE = "query-gateway"


def create_app(settings: Settings) -> Litestar:
    state = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            redis = create_redis(settings)
            stack.push_async_callback(redis.aclose)
            graph = httpx.AsyncClient(base_url=settings.graph_engine_url, timeout=30.0)
            stack.push_async_callback(graph.aclose)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            await kafka.start()
            state.probes[:] = [
                kafka_probe(kafka.broker),
                redis_probe(redis),
                http_probe("graph-engine", settings.graph_engine_url, graph),
            ]
            state.extras.update(bus=kafka.bus, redis=redis, graph_client=graph)
            yield

    return build_app(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        state=state,
        openapi_title="MeshOptixIQ API",
        middleware_extra=[AuditMiddleware(state), ApiKeyMiddleware(settings.api_key)],
    )
