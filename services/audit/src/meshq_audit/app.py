"""The audit service: consumes ``meshq.audit.events``, appends to the hash-chained log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.outbox import OutboxRelay
from meshq_runtime.postgres import apply_migrations, create_pool
from meshq_runtime.service import kafka_probe, open_kafka, postgres_probe

from meshq_audit import handlers
from meshq_audit.controllers import ROUTES
from meshq_audit.repository import MIGRATIONS, AuditRepository
from meshq_audit.service import SERVICE, AuditService
from meshq_audit.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> Litestar:
    state = ServiceState(service=SERVICE)
    key = settings.audit_key()

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings)
            stack.push_async_callback(pool.close)
            await apply_migrations(pool, SERVICE, MIGRATIONS)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            relay = OutboxRelay(pool, kafka.bus, SERVICE)
            service = AuditService(pool, AuditRepository(pool, key), relay)
            handlers.register(kafka.consumer, service)
            await kafka.start()
            relay.start()
            stack.push_async_callback(relay.stop)
            state.probes[:] = [kafka_probe(kafka.broker), postgres_probe(pool)]
            state.extras.update(service=service, relay=relay, kafka=kafka)
            yield

    return build_app(service=SERVICE, route_handlers=ROUTES, lifespan=lifespan, state=state)
