"""Event contracts: the envelope, the event types and the topic registry."""

from network_discovery.contracts.envelope import EventBase, Payload, new_event_id, utcnow
from network_discovery.contracts.events import ADAPTERS, adapter_for

__all__ = ["ADAPTERS", "EventBase", "Payload", "adapter_for", "new_event_id", "utcnow"]
