"""Create every topic of the registry with the configured partitions and replication."""

from __future__ import annotations

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from network_discovery.contracts.topics import ALL_TOPICS, Topic

from meshq_runtime.kafka.security import client_options
from meshq_runtime.settings import KafkaSettings

__all__ = ["ensure_topics"]

log = structlog.get_logger(__name__)


async def ensure_topics(
    settings: KafkaSettings, topics: tuple[Topic, ...] = ALL_TOPICS
) -> list[str]:
    """Create the missing topics; return the names created. Safe to run again."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        request_timeout_ms=15_000,
        **client_options(settings),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = []
        for t in topics:
            name = settings.topic(t.name)
            if name in existing:
                continue
            configs = {"cleanup.policy": "compact"} if t.compacted else {}
            wanted.append(
                NewTopic(
                    name=name,
                    num_partitions=settings.kafka_partitions,
                    replication_factor=settings.kafka_replication,
                    topic_configs=configs,
                )
            )
        created: list[str] = []
        for nt in wanted:
            try:
                await admin.create_topics([nt])
                created.append(nt.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("kafka.topics.created", topics=created)
        return created
    finally:
        await admin.close()
