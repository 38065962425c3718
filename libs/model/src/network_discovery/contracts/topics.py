"""The one registry of Kafka topic names.

Every producer and consumer names its topic through this module; no topic string is
written anywhere else. ``key`` says what a record on the topic is keyed by, so that
order holds where it matters (per device or per tenant).

A :class:`Topic` is generic over the events its records decode to (the topic's union in
:mod:`network_discovery.contracts.events`, whose ``TypeAdapter`` decodes them): a consumer
subscribed to ``Topic[E]`` takes a handler of ``E``, and a type checker refuses a handler of
another topic's events. The event types are named for the type checker only, so this module
imports nothing from ``events`` (which imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Never, TypeVar

if TYPE_CHECKING:
    from network_discovery.contracts.envelope import EventBase
    from network_discovery.contracts.events import (
        AlertEvent,
        AuditEvent,
        AuditRecordedEvent,
        IngestEvent,
        LicenseEvent,
        NetboxSyncEvent,
        SoarDeadLetterEvent,
        SoarDispatchedEvent,
        TopologyEvent,
    )

__all__ = [
    "ALERTS_EVENTS",
    "ALL_TOPICS",
    "AUDIT_EVENTS",
    "AUDIT_RECORDED",
    "DEAD_LETTER",
    "FLOW_RECORDS",
    "INGEST_SNAPSHOTS",
    "LICENSE_EVENTS",
    "NETBOX_SYNC_REQUESTED",
    "RAW_TOPICS",
    "SOAR_DEAD_LETTER",
    "SOAR_DISPATCHED",
    "TOPOLOGY_CHANGED",
    "Topic",
    "topic_by_name",
]


#: The events a topic's records decode to.
E = TypeVar("E", bound="EventBase")


@dataclass(frozen=True, slots=True)
class Topic(Generic[E]):
    name: str
    key: str
    description: str
    compacted: bool = False

    def __str__(self) -> str:
        return self.name


LICENSE_EVENTS: Topic[LicenseEvent] = Topic(
    "meshq.license.events",
    key="installation",
    description="License state of the installation: plan, feature flags, grace and restriction.",
    compacted=True,
)
INGEST_SNAPSHOTS: Topic[IngestEvent] = Topic(
    "meshq.ingest.snapshots",
    key="source",
    description="Discovery snapshots and metadata patches for the graph engine to apply.",
)
TOPOLOGY_CHANGED: Topic[TopologyEvent] = Topic(
    "meshq.topology.changed",
    key="tenant",
    description="What a snapshot changed in the graph (diff summary).",
)
AUDIT_EVENTS: Topic[AuditEvent] = Topic(
    "meshq.audit.events",
    key="principal",
    description="Things users and machines did through the API, to be recorded by audit.",
)
AUDIT_RECORDED: Topic[AuditRecordedEvent] = Topic(
    "meshq.audit.recorded",
    key="principal",
    description="Audit entries after they were durably appended to the audit log.",
)
SOAR_DISPATCHED: Topic[SoarDispatchedEvent] = Topic(
    "meshq.soar.dispatched",
    key="rule",
    description="SOAR webhooks that were delivered.",
)
SOAR_DEAD_LETTER: Topic[SoarDeadLetterEvent] = Topic(
    "meshq.soar.dead-letter",
    key="rule",
    description="SOAR webhooks that could not be delivered after every retry.",
)
NETBOX_SYNC_REQUESTED: Topic[NetboxSyncEvent] = Topic(
    "meshq.netbox.sync.requested",
    key="target",
    description="Requests to push to or pull from NetBox.",
)
ALERTS_EVENTS: Topic[AlertEvent] = Topic(
    "meshq.alerts.events",
    key="fingerprint",
    description="Alerts that fired, were acknowledged or resolved (after PostgreSQL has them).",
)
#: Records of any topic, kept raw: no contract decodes them (``Topic[Never]``).
DEAD_LETTER: Topic[Never] = Topic(
    "meshq.dead-letter",
    key="topic",
    description=(
        "Records a consumer could not decode or kept failing on, with the reason in headers."
    ),
)

#: Decoded flow records as they are: an Arrow IPC stream of the flow decoder's columns per
#: record, no JSON envelope (``Topic[Never]``); headers carry the batch id and the exporter's
#: counters (docs/flows.md).
FLOW_RECORDS: Topic[Never] = Topic(
    "meshq.flows.records",
    key="exporter",
    description="Batches of decoded NetFlow/IPFIX records (Arrow IPC), for the flow store.",
)

ALL_TOPICS: tuple[Topic[Any], ...] = (
    LICENSE_EVENTS,
    INGEST_SNAPSHOTS,
    TOPOLOGY_CHANGED,
    AUDIT_EVENTS,
    AUDIT_RECORDED,
    SOAR_DISPATCHED,
    SOAR_DEAD_LETTER,
    NETBOX_SYNC_REQUESTED,
    ALERTS_EVENTS,
    DEAD_LETTER,
    FLOW_RECORDS,
)

#: The topics whose records are kept raw: no event contract decodes them.
RAW_TOPICS: tuple[Topic[Never], ...] = (DEAD_LETTER, FLOW_RECORDS)

_BY_NAME = {t.name: t for t in ALL_TOPICS}


def topic_by_name(name: str) -> Topic[Any]:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None
