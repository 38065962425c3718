"""The audit service: consumes ``meshq.audit.events``, appends to the hash-chained log."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import structlog
from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.outbox import OutboxRelay
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.service import kafka_probe, open_kafka, postgres_probe
from meshq_runtime.service_auth import OPEN_PATHS, ServiceAuthMiddleware, service_credential

from meshq_audit import handlers
from meshq_audit.checkpoints import CheckpointLog
from meshq_audit.controllers import ROUTES, AuditDeps
from meshq_audit.repository import MIGRATIONS, AuditRepository
from meshq_audit.service import FEATURE, RECORDED_TYPE, SERVICE, AuditService
from meshq_audit.settings import Settings
from meshq_audit.siem import SIEM_MIGRATIONS, HttpSink, SiemForwarder, Sink, SyslogSink

__all__ = ["SCHEMA", "create_app"]

#: The audit tables in PostgreSQL (also applied by deploy/migrate.py before an upgrade).
SCHEMA: Schema = ((SERVICE, (*MIGRATIONS, *SIEM_MIGRATIONS)),)

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> Litestar:
    state: ServiceState[AuditDeps] = ServiceState(service=SERVICE)
    key = settings.audit_key()
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
            await _learn_plan(follower, settings.license_wait_s)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            # audit.recorded is the producers' receipt and SOAR's input: both are idempotent
            # on it, so what a broker that lost its log may have lost is published again
            relay = OutboxRelay(
                pool,
                kafka.bus,
                SERVICE,
                republish=(RECORDED_TYPE,),
                republish_window_s=settings.republish_window_s,
                # a page holds at least a whole batch's announcements: one pass per batch
                page=max(500, settings.batch_max_records),
            )
            http = httpx.AsyncClient(timeout=10)
            stack.push_async_callback(http.aclose)
            siem = SiemForwarder(
                pool, _sinks(settings, http), max_backoff_s=settings.siem_retry_max_s
            )
            checkpoints = CheckpointLog(settings.checkpoint_path(), key)
            service = AuditService(
                pool,
                AuditRepository(pool, key),
                relay,
                follower,
                siem,
                checkpoints,
                failpoint=settings.failpoint,  # resilience tests only
            )
            await service.sign_unsigned_head()
            handlers.register(
                kafka.consumer,
                service,
                max_records=settings.batch_max_records,
                max_wait_ms=settings.batch_max_wait_ms,
            )
            await kafka.start()
            relay.start()
            stack.push_async_callback(relay.stop)
            siem.start()
            stack.push_async_callback(siem.stop)
            ticker = asyncio.create_task(
                _checkpoints(service, settings.checkpoint_interval_s), name="audit-checkpoints"
            )
            stack.push_async_callback(_stop_checkpoints, ticker, service)
            state.probes[:] = [
                kafka_probe(kafka.broker),
                postgres_probe(pool),
                kafka.consumer.probe("audit-consumer"),  # waiting for PostgreSQL, and why
            ]
            state.hand_out(
                AuditDeps(
                    service=service,
                    relay=relay,
                    consumer=kafka.consumer,
                    siem=siem,
                    license=follower,
                ),
                stack,
            )
            _settle_garbage_collector()
            yield

    # verify and export need the service credential (the CLI reads it where meshq serve
    # keeps it); the probes and the Prometheus metrics (counts only) stay open
    return build_app(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential, open_paths=OPEN_PATHS | {"/metrics"})],
    )


def _settle_garbage_collector() -> None:
    """Once started: what start-up built lives as long as the process, so the collector stops
    scanning it (``gc.freeze``), and the young generation is collected less often. At thousands
    of events a second each batch leaves many short-lived objects; with the default settings
    the collector took about a fifth of the service's time, scanning start-up objects again
    and again."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


async def _checkpoints(service: AuditService, interval_s: float) -> None:
    """Sign the chain head every ``interval_s`` while it moves."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await service.checkpoint()
        except Exception as exc:  # the next tick tries again
            log.warning("audit.checkpoint_failed", error=str(exc)[:200])


async def _stop_checkpoints(ticker: asyncio.Task[None], service: AuditService) -> None:
    ticker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ticker
    try:  # a last checkpoint of what was recorded before the stop
        await service.checkpoint()
    except Exception as exc:
        log.warning("audit.checkpoint_failed", error=str(exc)[:200])


async def _learn_plan(follower: LicenseFollower, wait_s: float) -> None:
    """Give the agent (or the license topic) a moment to tell the plan before the first event
    is consumed, so a licensed installation records from its first event on."""
    if not follower.known and not follower.allows(FEATURE):  # demo mode needs no answer
        try:
            await follower.wait_for(lambda s: s.revision > 0, timeout=wait_s)
        except TimeoutError:
            log.warning("audit.plan_unknown", assumed=follower.plan, waited_s=wait_s)
    log.info("audit.plan", plan=follower.plan, recording=follower.allows(FEATURE))


def _sinks(settings: Settings, http: httpx.AsyncClient) -> list[Sink]:
    sinks: list[Sink] = []
    address = settings.syslog_address()
    if address is not None:
        tls = None
        if settings.siem_syslog_tls:
            tls = ssl.create_default_context(cafile=settings.siem_syslog_ca)
        sinks.append(SyslogSink(*address, tls=tls, hostname=socket.gethostname()))
    if settings.siem_http_url:
        token = settings.siem_http_token
        sinks.append(
            HttpSink(http, settings.siem_http_url, token.get_secret_value() if token else None)
        )
    return sinks
