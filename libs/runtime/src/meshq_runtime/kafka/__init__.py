"""Kafka plumbing: broker factory, event publishing, consumers with dead-lettering."""

from meshq_runtime.kafka.bootstrap import ensure_topics
from meshq_runtime.kafka.broker import EventBus, create_broker
from meshq_runtime.kafka.consumer import EventConsumer, FailurePolicy
from meshq_runtime.kafka.resets import LogResets

__all__ = [
    "EventBus",
    "EventConsumer",
    "FailurePolicy",
    "LogResets",
    "create_broker",
    "ensure_topics",
]
