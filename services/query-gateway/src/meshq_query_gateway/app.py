"""The query gateway: the public REST API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import structlog
from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.redis import RedisClusterNotLicensed, create_redis, require_cluster_license
from meshq_runtime.service import (
    http_probe,
    kafka_probe,
    open_kafka,
    stack_probe,
)
from meshq_runtime.service_auth import (
    internal_client,
    load_or_create_token,
    service_credential,
    token_file,
)

from meshq_query_gateway.answer_cache import AnswerCache, RevisionWatcher
from meshq_query_gateway.apikeys import KeyFile
from meshq_query_gateway.audit import AUDIT_FEATURE, AuditMiddleware, open_audit_buffer
from meshq_query_gateway.auth import ApiKeyMiddleware, KeyChecker
from meshq_query_gateway.catalogue_openapi import CatalogueJson
from meshq_query_gateway.context import Gateway
from meshq_query_gateway.gates import LicenseGate
from meshq_query_gateway.graph_hop import QueryHop
from meshq_query_gateway.oidc import OidcVerifier
from meshq_query_gateway.openapi import complete
from meshq_query_gateway.policy_store import PolicyStore
from meshq_query_gateway.ratelimit import RateLimiter, RateLimitMiddleware
from meshq_query_gateway.redis_guard import CircuitBreaker, GuardedRedis
from meshq_query_gateway.routes import collect_routes
from meshq_query_gateway.routes.operations import open_operations
from meshq_query_gateway.settings import Settings
from meshq_query_gateway.ui.routes import ui_routes
from meshq_query_gateway.ui.schema_pages import schema_pages
from meshq_query_gateway.ui.session import SessionCookies

__all__ = ["SERVICE", "create_app"]

SERVICE = "query-gateway"

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> Litestar:
    state: ServiceState[Gateway] = ServiceState(service=SERVICE)
    keys = KeyFile(settings.keys_path)
    oidc = _oidc(settings)
    cookies = _session_cookies(settings, keys)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # graph-engine and the license agent answer services only: the credential
            credential = service_credential(settings, caller=SERVICE)
            graph = internal_client(credential, base_url=settings.graph_engine_url, timeout=30.0)
            stack.push_async_callback(graph.aclose)
            follower = LicenseFollower(settings, credential=credential)
            await follower.start()
            stack.push_async_callback(follower.stop)
            try:
                await require_cluster_license(settings, follower)
            except RedisClusterNotLicensed as exc:
                log.error("redis.cluster_refused", reason=str(exc))
                raise
            # every Redis call bounded and behind a breaker: a hung Redis costs each call at
            # most MESHQ_REDIS_TIMEOUT, then nothing until it answers again (redis_guard)
            redis = GuardedRedis(
                create_redis(settings, timeout=settings.redis_timeout),
                timeout=settings.redis_timeout,
                breaker=CircuitBreaker(
                    failures=settings.redis_breaker_failures,
                    cooldown=settings.redis_breaker_cooldown,
                ),
            )
            redis.start()
            stack.push_async_callback(redis.stop)  # closes the client too, within a bound
            rbac = PolicyStore(
                settings.rbac_policy_file, interval=settings.rbac_reload_interval, redis=redis
            )
            await rbac.start()
            stack.push_async_callback(rbac.stop)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            await kafka.start()
            # each event stays in the journal until meshq.audit.recorded confirms it
            audit = await open_audit_buffer(
                stack,
                kafka.bus,
                settings,
                settings,
                directory=settings.data_dir / "query-gateway",
                capacity=settings.audit_buffer_size,
                confirming=lambda: follower.allows(AUDIT_FEATURE),
            )
            operations = await open_operations(stack, settings, credential)
            # catalogue queries: their own kept-alive hop, and answers shared through Redis
            hop = QueryHop(
                settings.graph_engine_url,
                credential.headers(),
                timeout=30.0,
                connections=settings.graph_connections,
            )
            stack.push_async_callback(hop.close)
            services: dict[str, tuple[Any, QueryHop]] = {}
            if settings.alerts_url:  # the alerts service serves the Alerts queries
                lister = internal_client(credential, base_url=settings.alerts_url, timeout=10.0)
                stack.push_async_callback(lister.aclose)
                # a stream call may wait up to 30 s for a change
                alerts_hop = QueryHop(settings.alerts_url, credential.headers(), timeout=45.0)
                stack.push_async_callback(alerts_hop.close)
                services["alerts"] = (lister, alerts_hop)
            if settings.prober_url:  # the prober serves the Synthetic queries
                prober_lister = internal_client(
                    credential, base_url=settings.prober_url, timeout=10.0
                )
                stack.push_async_callback(prober_lister.aclose)
                prober_hop = QueryHop(settings.prober_url, credential.headers(), timeout=30.0)
                stack.push_async_callback(prober_hop.close)
                services["prober"] = (prober_lister, prober_hop)
            cache = AnswerCache(
                redis,
                namespace=settings.kafka_topic_prefix,
                ttl=settings.query_cache_ttl,
                max_bytes=settings.query_cache_max_bytes,
                enabled=settings.query_cache,
                local_bytes=settings.query_cache_local_bytes,
            )
            if cache.enabled:
                watcher = RevisionWatcher(settings, cache)
                watcher.start()
                stack.push_async_callback(watcher.stop)
                stack.push_async_callback(cache.drain)
            gw = Gateway(
                graph=graph,
                gate=LicenseGate(follower),
                rbac=rbac,
                follower=follower,
                redis=redis,
                catalogue_ttl=settings.catalogue_ttl,
                snapshot_max_bytes=settings.snapshot_max_bytes,
                bus=kafka.bus,
                audit_buffer=audit,
                limiter=RateLimiter(redis, settings.rate_limits),
                audit_client=operations.audit,
                soar_client=operations.soar,
                hop=hop,
                services=services,
                cache=cache,
            )
            _announce_rbac(gw)
            state.probes[:] = [
                kafka_probe(kafka.broker),
                http_probe("graph-engine", settings.graph_engine_url, graph),
            ]
            # the gateway runs without Redis (limits per pod, RBAC by re-read): degraded
            state.degraded[:] = [("redis", redis.readiness)]
            if settings.supervisor_url:  # under meshq serve: every child it runs
                plain = httpx.AsyncClient()  # no credential: the supervisor wants none
                stack.push_async_callback(plain.aclose)
                state.probes.append(stack_probe(settings.supervisor_url, plain))
            state.hand_out(gw, stack)
            reading = asyncio.create_task(_read_catalogue(gw))
            stack.callback(reading.cancel)
            yield

    app = build_app(
        service=SERVICE,
        route_handlers=[
            *collect_routes(),
            *ui_routes(settings, cookies, KeyChecker(settings.api_key, keys), oidc),
        ],
        lifespan=lifespan,
        request_max_body_size=settings.max_body_bytes,
        state=state,
        openapi_title="MeshOptixIQ API",
        openapi_json=CatalogueJson(),
        render_plugins=schema_pages(),
        middleware_extra=[
            AuditMiddleware(state),
            ApiKeyMiddleware(
                settings.api_key,
                keys,
                oidc=oidc,
                mode=settings.auth_mode,
                sessions=cookies,
            ),
            RateLimitMiddleware(state),
        ],
    )
    complete(app, auth_mode=settings.auth_mode)
    return app


async def _read_catalogue(gw: Gateway, pause: float = 5.0) -> None:
    """Read the query catalogue once the graph engine answers (for the OpenAPI document's
    per-query operations); queries read it again as it ages."""
    while True:
        try:
            await gw.catalogue()
            return
        except Exception as exc:  # graph-engine still starting: try again
            log.debug("catalogue.not_yet", error=type(exc).__name__)
            await asyncio.sleep(pause)


def _session_cookies(settings: Settings, keys: KeyFile) -> SessionCookies:
    """The web UI's cookie signer: keyed from ``API_KEY`` (changing it ends every session),
    else from the services' shared credential (named keys and single sign-on still sign in;
    there is no local admin then)."""
    ttl = settings.ui_session_ttl
    from_admin = SessionCookies.from_api_key(settings.api_key, ttl, keys=keys)
    if from_admin is not None:
        return from_admin
    token = settings.service_token
    secret = (
        token.get_secret_value()
        if token is not None
        else load_or_create_token(token_file(settings.data_dir))
    )
    return SessionCookies.from_service_secret(secret, ttl, keys=keys)


def _oidc(settings: Settings) -> OidcVerifier | None:
    config = settings.oidc_config()
    if config is None or settings.auth_mode == "api_key":
        return None
    issuer, audiences, jwks_url = config
    return OidcVerifier(
        issuer=issuer,
        audiences=audiences,
        jwks_url=jwks_url,
        leeway=settings.oidc_leeway,
        min_refresh=settings.oidc_jwks_min_refresh,
    )


def _announce_rbac(gw: Gateway) -> None:
    """Say once, at start, when RBAC is not in force and why."""
    if not gw.rbac.enabled:
        log.warning(
            "rbac.not_enforced",
            reason="RBAC_POLICY_FILE is not set",
            effect="every authenticated identity may list and execute what the plan allows",
        )
    elif not gw.gate.allows("rbac"):
        log.warning(
            "rbac.not_enforced",
            reason=f"the {gw.gate.plan} plan has no rbac flag",
            effect="every authenticated identity may list and execute what the plan allows",
        )
    else:
        log.info("rbac.enforced", file=str(gw.rbac.path), digest=gw.rbac.digest)
