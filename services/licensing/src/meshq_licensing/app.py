"""The license agent of an installation: ``GET /license`` and ``meshq.license.events``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, get
from litestar.di import NamedDependency
from meshq_runtime.http import ProblemError, ServiceState, build_app
from meshq_runtime.outbox import OUTBOX_MIGRATIONS, OutboxRelay
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.service import kafka_probe, open_kafka, postgres_probe
from meshq_runtime.service_auth import ServiceAuthMiddleware, service_credential
from network_discovery.licensing import protocol
from network_discovery.licensing.fingerprint import host_facts
from network_discovery.licensing.verifier import public_key_pem

from meshq_licensing.agent.repository import MIGRATIONS, AgentRepository
from meshq_licensing.agent.service import SERVICE, LicenseAgent
from meshq_licensing.settings import Settings

__all__ = ["SCHEMA", "SERVICE", "create_app"]

#: The agent's tables in PostgreSQL (also applied by deploy/migrate.py before an upgrade).
SCHEMA: Schema = (
    (f"{SERVICE}-outbox", OUTBOX_MIGRATIONS),
    (f"{SERVICE}-agent", MIGRATIONS),
)

log = structlog.get_logger(__name__)


@get("/license", tags=["license"])
async def get_license(deps: NamedDependency[LicenseAgent]) -> dict[str, Any]:
    """The installation's license: plan, status, features and limits, grace hours left."""
    agent = deps
    current = await agent.current()
    if current is None:
        raise ProblemError(503, "License state not ready", "the agent has not evaluated yet")
    return current


async def _loop(agent: LicenseAgent, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await agent.tick()
        except Exception as exc:
            log.warning("license.tick_failed", error=f"{type(exc).__name__}: {exc}"[:300])


def create_app(settings: Settings) -> Litestar:
    state: ServiceState[LicenseAgent] = ServiceState(service=SERVICE)
    credential = service_credential(settings, caller=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        env = {"MESHOPTIXIQ_LICENSE_PUBLIC_KEY": settings.license_public_key}
        public_key = protocol.load_public_key(public_key_pem(env))
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings)
            stack.push_async_callback(pool.close)
            await apply_schema(pool, SCHEMA)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            await kafka.start()
            relay = OutboxRelay(pool, kafka.bus, SERVICE)
            repo = AgentRepository(pool)
            installation_id, facts = await repo.installation(host_facts())
            offset = settings.clock_offset_s
            agent = LicenseAgent(
                pool,
                repo,
                relay,
                key=settings.license_key.get_secret_value().strip(),
                url=settings.license_url,
                public_key=public_key,
                installation_id=installation_id,
                facts=facts,
                retry_interval_s=settings.retry_interval_s,
                clock=lambda: time.time() + offset,
            )
            relay.start()
            stack.push_async_callback(relay.stop)
            await agent.tick(force=True)
            task = asyncio.create_task(_loop(agent, settings.check_interval_s))

            async def stop_loop() -> None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            stack.push_async_callback(stop_loop)
            state.probes[:] = [kafka_probe(kafka.broker), postgres_probe(pool)]
            state.hand_out(agent, stack)
            log.info("license.agent_started", installation=installation_id)
            yield

    return build_app(
        service=SERVICE,
        route_handlers=[get_license],
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential)],  # GET /license: services only
    )
