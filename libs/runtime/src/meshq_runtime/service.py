"""Building blocks of a service's lifespan and its ``python -m`` entry point."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import structlog
import uvicorn
from aiokafka.client import AIOKafkaClient
from faststream.kafka import KafkaBroker
from litestar import Litestar
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from meshq_runtime.http import NotReady, Probe
from meshq_runtime.kafka.broker import EventBus, create_broker
from meshq_runtime.kafka.consumer import EventConsumer
from meshq_runtime.kafka.security import client_options
from meshq_runtime.logging import configure_logging
from meshq_runtime.settings import ServiceSettings

__all__ = [
    "KafkaClients",
    "http_probe",
    "kafka_probe",
    "open_kafka",
    "postgres_probe",
    "redis_probe",
    "run_service",
    "service_main",
    "stack_probe",
    "start_broker",
    "wait_for_kafka",
]

log = structlog.get_logger(__name__)


@dataclass
class KafkaClients:
    broker: KafkaBroker
    bus: EventBus
    consumer: EventConsumer
    bootstrap: str
    options: dict[str, Any] = field(default_factory=dict)

    async def start(self, *, deadline_s: float = 60.0) -> None:
        await start_broker(self.broker, self.bootstrap, deadline_s=deadline_s, **self.options)


def open_kafka(settings: Any, *, service: str) -> KafkaClients:
    """Broker, publisher and consumer registry for a service (not started yet); the consumer
    group is ``PREFIX.SERVICE`` unless a subscription names its own."""
    broker = create_broker(settings, client_id=f"meshq-{service}")
    bus = EventBus(broker, settings)
    consumer = EventConsumer(
        broker,
        bus,
        settings,
        service=service,
        service_settings=settings if isinstance(settings, ServiceSettings) else None,
    )
    return KafkaClients(
        broker=broker,
        bus=bus,
        consumer=consumer,
        bootstrap=settings.kafka_bootstrap,
        options=client_options(settings),
    )


async def start_broker(
    broker: KafkaBroker, bootstrap: str, *, deadline_s: float = 60.0, **options: Any
) -> None:
    """Start the broker once Kafka answers, waiting while it is not up yet (compose, restarts).

    ``options`` are the connection's security settings (``kafka.security.client_options``).
    """
    await wait_for_kafka(bootstrap, deadline_s=deadline_s, **options)
    await broker.start()


async def wait_for_kafka(bootstrap: Any, *, deadline_s: float = 60.0, **options: Any) -> None:
    """Poll the cluster metadata until Kafka answers, or fail with what went wrong."""
    start = time.monotonic()
    delay = 0.25
    while True:
        client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000, **options)
        try:
            await client.bootstrap()
            return
        except Exception as exc:
            if time.monotonic() - start > deadline_s:
                raise RuntimeError(f"Kafka unreachable after {deadline_s:.0f}s: {exc}") from exc
            log.warning("kafka.waiting", error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            await client.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


def kafka_probe(broker: KafkaBroker) -> Probe:
    async def check() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("broker did not answer")

    return ("kafka", check)


def postgres_probe(pool: asyncpg.Pool) -> Probe:
    async def check() -> None:
        await pool.fetchval("SELECT 1", timeout=2.0)

    return ("postgres", check)


def redis_probe(redis: Redis | RedisCluster) -> Probe:
    async def check() -> None:
        await redis.ping()

    return ("redis", check)


def http_probe(name: str, base_url: str, client: httpx.AsyncClient) -> Probe:
    async def check() -> None:
        response = await client.get(f"{base_url.rstrip('/')}/health", timeout=2.0)
        response.raise_for_status()

    return (name, check)


def stack_probe(supervisor_url: str, client: httpx.AsyncClient) -> Probe:
    """``stack``: the readiness of every process ``meshq serve`` supervises (its ``GET
    /ready``); when one is down, the answer names it, since when and its restart count."""

    async def check() -> None:
        response = await client.get(f"{supervisor_url.rstrip('/')}/ready", timeout=2.0)
        if response.status_code == 200:
            return
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        raise NotReady(
            str(body.get("detail") or f"meshq serve answered {response.status_code}"),
            down=[str(n) for n in body.get("unavailable") or ()],
            info=body.get("children"),
        )

    return ("stack", check)


def run_service(
    create_app: Callable[[Any], Litestar], settings: ServiceSettings, *, service: str, port: int
) -> None:
    """Configure logging and serve the app with uvicorn (the ``python -m`` entry point)."""
    configure_logging(service=service, level=settings.log_level, fmt=settings.log_format)
    app = create_app(settings)
    log.info("service.starting", host=settings.host, port=port)
    uvicorn.run(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def service_main(
    create_app: Callable[[Any], Litestar], settings_cls: type[ServiceSettings], *, service: str
) -> None:
    """The body of every service's ``__main__``: settings from the environment, then serve."""
    settings = settings_cls()
    run_service(create_app, settings, service=service, port=settings.port)
