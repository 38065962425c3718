"""The NetBox sync: pushes discovered devices to NetBox and pulls its metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.service import kafka_probe, open_kafka

from meshq_netbox_sync._discovery import start_discovery
from meshq_netbox_sync.settings import Settings

__all__ = ["SERVICE", "create_app"]

SERVICE = "netbox-sync"


def create_app(settings: Settings) -> Litestar:
    state = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            await kafka.start()
            state.probes[:] = [kafka_probe(kafka.broker)]
            state.extras.update(bus=kafka.bus)
            state.extras.update(discovery=await start_discovery(settings, stack))
            yield

    return build_app(service=SERVICE, lifespan=lifespan, state=state)
