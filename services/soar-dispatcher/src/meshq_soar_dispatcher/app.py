"""The SOAR dispatcher: evaluates SOAR rules over recorded audit events and delivers webhooks.

It keeps its outcomes and dead letters in PostgreSQL (``SCHEMA``), so that neither a restart of
its own nor of the broker loses a dead letter or sends a webhook twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.outbox import OUTBOX_MIGRATIONS, OutboxRelay
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.service import kafka_probe, open_kafka, postgres_probe
from meshq_runtime.service_auth import (
    ServiceAuthMiddleware,
    internal_client,
    service_credential,
)

from meshq_soar_dispatcher import handlers
from meshq_soar_dispatcher.alerts import BlastContext
from meshq_soar_dispatcher.delivery import RetryPolicy, WebhookClient
from meshq_soar_dispatcher.replay import ROUTES, SoarDeps
from meshq_soar_dispatcher.repository import MIGRATIONS, DispatchLog
from meshq_soar_dispatcher.rules import Rule
from meshq_soar_dispatcher.service import SERVICE, Dispatcher
from meshq_soar_dispatcher.settings import Settings

__all__ = ["SCHEMA", "SERVICE", "create_app"]

SCHEMA: Schema = ((f"{SERVICE}-outbox", OUTBOX_MIGRATIONS), (SERVICE, MIGRATIONS))


def create_app(settings: Settings, rules: list[Rule] | None = None) -> Litestar:
    """The app; the rules are parsed here, so a bad rule stops start-up (``RuleError``)."""
    rules = settings.load_rules() if rules is None else rules
    state: ServiceState[SoarDeps] = ServiceState(service=SERVICE)
    credential = service_credential(settings, caller=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings)
            stack.push_async_callback(pool.close)
            await apply_schema(pool, SCHEMA)
            follower = LicenseFollower(settings, credential=credential)
            await follower.start()
            stack.push_async_callback(follower.stop)
            http = httpx.AsyncClient(timeout=settings.request_timeout_s)
            stack.push_async_callback(http.aclose)
            client = None
            if settings.webhook_url:
                client = WebhookClient(
                    http,
                    settings.webhook_url,
                    token=settings.webhook_token.get_secret_value()
                    if settings.webhook_token
                    else None,
                    signing_key=settings.signing_key.get_secret_value()
                    if settings.signing_key
                    else None,
                    policy=RetryPolicy(
                        settings.max_attempts, settings.retry_base_s, settings.retry_max_s
                    ),
                )
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            relay = OutboxRelay(pool, kafka.bus, SERVICE)  # outcomes: nothing re-published
            store = DispatchLog(pool, SERVICE)
            graph = None
            if settings.graph_engine_url and settings.alerts_min_severity:
                graph = internal_client(
                    credential, base_url=settings.graph_engine_url, timeout=30.0
                )
                stack.push_async_callback(graph.aclose)
            dispatcher = Dispatcher(
                rules,
                client,
                kafka.bus,
                follower,
                store=store,
                notify=relay.notify,
                failpoint=settings.failpoint("soar.before_delivery"),
                alerts_min_severity=settings.alerts_min_severity,
                blast=BlastContext(graph),
            )
            handlers.register(kafka.consumer, dispatcher)
            await kafka.start()
            relay.start()
            stack.push_async_callback(relay.stop)
            state.probes[:] = [
                kafka_probe(kafka.broker),
                postgres_probe(pool),
                kafka.consumer.probe("soar-consumer"),  # waiting for PostgreSQL, and why
            ]
            state.hand_out(
                SoarDeps(dispatcher=dispatcher, store=store, license=follower, settings=settings),
                stack,
            )
            yield

    return build_app(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential)],  # POST /soar/replay
    )
