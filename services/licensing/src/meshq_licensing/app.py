"""The licensing agent of an installation (the key, validation, grace, the seat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.postgres import create_pool
from meshq_runtime.service import kafka_probe, open_kafka, postgres_probe

from meshq_licensing.settings import Settings

__all__ = ["SERVICE", "create_app"]

SERVICE = "licensing"


def create_app(settings: Settings) -> Litestar:
    state = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings)
            stack.push_async_callback(pool.close)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            await kafka.start()
            state.probes[:] = [kafka_probe(kafka.broker), postgres_probe(pool)]
            state.extras.update(pool=pool, bus=kafka.bus)
            yield

    return build_app(service=SERVICE, lifespan=lifespan, state=state)
