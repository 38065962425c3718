"""Kafka plumbing: broker factory, event publishing, consumers with dead-lettering."""

from meshq_runtime.kafka.bootstrap import ensure_topics
from meshq_runtime.kafka.broker import EventBus, create_broker
from meshq_runtime.kafka.consumer import Dedupe, EventConsumer, RedisDedupe

__all__ = ["Dedupe", "EventBus", "EventConsumer", "RedisDedupe", "create_broker", "ensure_topics"]
