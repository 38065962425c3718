"""One-shot Kafka topic bootstrap: ``python deploy/kafka_topics.py``.

Creates every topic of the contracts registry that does not exist yet, with the partition
count and replication factor taken from ``MESHQ_KAFKA_PARTITIONS`` / ``MESHQ_KAFKA_REPLICATION``,
then exits 0. Running it again changes nothing. compose.yaml runs it as the ``kafka-topics``
service before any service starts; the topic names come from
``network_discovery.contracts.topics`` and are not repeated here.

A broker that has just turned healthy can still refuse topic creation for a moment (the
controller is settling), so failures are retried with backoff until a deadline.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

import structlog
from meshq_runtime.kafka.bootstrap import ensure_topics
from meshq_runtime.logging import configure_logging
from meshq_runtime.settings import KafkaSettings, ServiceSettings
from pydantic import Field

__all__ = ["Settings", "bootstrap", "main"]

log = structlog.get_logger("meshq.kafka_topics")


class Settings(ServiceSettings, KafkaSettings):
    """The Kafka settings shared with every service, plus logging and a deadline."""

    deadline_s: float = Field(
        120.0,
        gt=0,
        alias="MESHQ_KAFKA_BOOTSTRAP_TIMEOUT",
        description="Seconds to keep retrying topic creation before giving up.",
    )


async def bootstrap(
    settings: Settings,
    *,
    ensure: Callable[[KafkaSettings], Awaitable[list[str]]] = ensure_topics,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Create the missing topics, retrying until ``settings.deadline_s`` has passed."""
    started = clock()
    delay = 0.5
    attempt = 0
    while True:
        attempt += 1
        try:
            return await ensure(settings)
        except Exception as exc:
            if clock() - started + delay > settings.deadline_s:
                raise
            log.warning(
                "kafka.topics.retry",
                attempt=attempt,
                bootstrap=settings.kafka_bootstrap,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            await sleep(delay)
            delay = min(delay * 2, 5.0)


def main() -> int:
    settings = Settings()
    configure_logging(service="kafka-topics", level=settings.log_level, fmt=settings.log_format)
    try:
        created = asyncio.run(bootstrap(settings))
    except Exception as exc:
        log.error(
            "kafka.topics.failed",
            bootstrap=settings.kafka_bootstrap,
            error=f"{type(exc).__name__}: {exc}"[:300],
        )
        return 1
    log.info(
        "kafka.topics.ready",
        created=created,
        partitions=settings.kafka_partitions,
        replication=settings.kafka_replication,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
