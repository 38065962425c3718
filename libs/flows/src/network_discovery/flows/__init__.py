"""Flow collection: NetFlow v5, NetFlow v9 and IPFIX datagrams decoded into Arrow columns,
per-exporter statistics, and per-conversation aggregation."""

from network_discovery.flows.aggregate import conversation_dict, conversations
from network_discovery.flows.decode import SCHEMA, Decoded, DomainOptions, FlowDecoder, Limits
from network_discovery.flows.listener import FlowCollector, SequenceTracker, listen

__all__ = [
    "SCHEMA",
    "Decoded",
    "DomainOptions",
    "FlowCollector",
    "FlowDecoder",
    "Limits",
    "SequenceTracker",
    "conversation_dict",
    "conversations",
    "listen",
]
