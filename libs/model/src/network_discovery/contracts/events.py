"""Every event type, grouped by topic, with one discriminated union per topic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar, overload

from pydantic import Field, TypeAdapter

from network_discovery.contracts import topics
from network_discovery.contracts.envelope import EventBase, Payload
from network_discovery.model import MetadataPatch, Snapshot

__all__ = [
    "ADAPTERS",
    "AlertChanged",
    "AlertChangedData",
    "AlertEvent",
    "AuditEvent",
    "AuditRecorded",
    "AuditRecordedData",
    "AuditRequestData",
    "AuditRequestEvent",
    "LicenseEvent",
    "LicenseState",
    "LicenseStateData",
    "NetboxSyncRequested",
    "NetboxSyncRequestedData",
    "SignedLicenseAnswer",
    "SnapshotChunk",
    "SnapshotChunkData",
    "SnapshotPatch",
    "SnapshotRejected",
    "SnapshotRejectedData",
    "SnapshotStored",
    "SnapshotStoredData",
    "SnapshotSubmitted",
    "SoarDeadLettered",
    "SoarDispatchData",
    "SoarDispatched",
    "TopologyChanged",
    "TopologyChangedData",
    "adapter_for",
]


# --- meshq.license.events -------------------------------------------------------------


class SignedLicenseAnswer(Payload):
    """The license server's signed statement, forwarded verbatim: ``payload`` is the JSON text
    that was signed, ``signature`` the base64 RSA-PSS-SHA256 signature over it."""

    payload: str = Field(max_length=16_384)
    signature: str = Field(max_length=2_048)


class LicenseStateData(Payload):
    """The installation's license as its agent sees it; ``plan``/``features`` are what gates use.

    ``answer`` is the license server's signed answer (or signed refusal) the state rests on;
    services (``LicenseFollower``) apply only what it proves, by their own clock, and read the
    other fields as the agent's unsigned account. No ``answer`` means Community. ``revision``
    grows with every change the agent publishes; it only orders states that prove the same
    thing (services order signed ones by their signed ``issued_at``).
    """

    plan: Literal["community", "starter", "pro", "enterprise"]
    status: Literal[
        "active",
        "grace",
        "restricted",
        "expired",
        "invalid",
        "community",
        "demo",
        "unverified",
        "not_found",
        "device_limit",
    ]
    features: dict[str, bool | int]
    expires: datetime | None = None
    grace_hours_left: float | None = None
    message: str = ""
    revision: int = Field(default=0, ge=0)
    installation_id: str = Field(default="", max_length=64)
    licensed_plan: Literal["community", "starter", "pro", "enterprise"] = "community"
    last_validated: datetime | None = None
    devices_registered: int | None = None
    devices_allowed: int | None = None
    answer: SignedLicenseAnswer | None = Field(
        default=None,
        description="The license server's signed answer or refusal; absent: Community.",
    )


class LicenseState(EventBase):
    topic: ClassVar[str] = topics.LICENSE_EVENTS.name
    type: Literal["license.state"] = "license.state"
    data: LicenseStateData


LicenseEvent = Annotated[LicenseState, Field(discriminator="type")]


# --- meshq.ingest.snapshots -----------------------------------------------------------


class SnapshotSubmitted(EventBase):
    """A whole snapshot, inline (it fits in one message)."""

    topic: ClassVar[str] = topics.INGEST_SNAPSHOTS.name
    type: Literal["ingest.snapshot"] = "ingest.snapshot"
    data: Snapshot


class SnapshotChunkData(Payload):
    """One piece of a snapshot too large for one message; reassembled by ``snapshot_id``."""

    snapshot_id: str = Field(min_length=1, max_length=128)
    index: int = Field(ge=0)
    count: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the whole reassembled JSON.")
    content: str = Field(description="Base64 of this slice of the snapshot's JSON.")


class SnapshotChunk(EventBase):
    topic: ClassVar[str] = topics.INGEST_SNAPSHOTS.name
    type: Literal["ingest.snapshot.chunk"] = "ingest.snapshot.chunk"
    data: SnapshotChunkData


class SnapshotPatch(EventBase):
    """Metadata from NetBox or a user: merged into devices, survives later snapshots."""

    topic: ClassVar[str] = topics.INGEST_SNAPSHOTS.name
    type: Literal["ingest.patch"] = "ingest.patch"
    data: MetadataPatch


class SnapshotStoredData(Payload):
    """A reference to a snapshot that graph-engine received through the gateway
    (``POST /snapshots``) and keeps on its own disk until it is applied: the event stays small
    whatever the snapshot's size."""

    snapshot_id: str = Field(min_length=1, max_length=256)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the stored snapshot JSON.")
    bytes: int = Field(ge=0, description="Size of the stored snapshot JSON.")
    source: str = Field(default="", max_length=256)
    submitted_by: str = Field(default="", max_length=256, description="The caller's identity.")


class SnapshotStored(EventBase):
    topic: ClassVar[str] = topics.INGEST_SNAPSHOTS.name
    type: Literal["ingest.snapshot.stored"] = "ingest.snapshot.stored"
    data: SnapshotStoredData


IngestEvent = Annotated[
    SnapshotSubmitted | SnapshotChunk | SnapshotPatch | SnapshotStored,
    Field(discriminator="type"),
]


# --- meshq.topology.changed -----------------------------------------------------------


class TopologyChangedData(Payload):
    snapshot_id: str = Field(description="The snapshot applied; for a patch, ``patch:<id>``.")
    source: str
    kind: Literal["snapshot", "patch"] = Field(
        default="snapshot", description="What changed the graph: a snapshot or a metadata patch."
    )
    scope_devices: list[str] = Field(default_factory=list)
    added: dict[str, int] = Field(default_factory=dict)
    removed: dict[str, int] = Field(default_factory=dict)
    updated: dict[str, int] = Field(default_factory=dict)
    empty: bool = Field(description="True when the snapshot changed nothing but last-seen times.")
    revision: int | None = Field(
        default=None,
        ge=0,
        description="The graph's revision once the change was applied (it moves on every change).",
    )
    revision_at: str | None = Field(
        default=None,
        max_length=64,
        description="When the writer moved the graph to ``revision`` (RFC 3339): with it, one "
        "state of one graph, told apart from the same number of a graph whose store was "
        "replaced.",
    )


class TopologyChanged(EventBase):
    topic: ClassVar[str] = topics.TOPOLOGY_CHANGED.name
    type: Literal["topology.changed"] = "topology.changed"
    data: TopologyChangedData


class SnapshotRejectedData(Payload):
    snapshot_id: str
    source: str
    reason: str = Field(description="Why nothing of the snapshot was applied.")
    plan: str | None = None
    limit: int | None = None


class SnapshotRejected(EventBase):
    """A snapshot refused whole (over the plan's device limit, unreadable chunks, ...)."""

    topic: ClassVar[str] = topics.TOPOLOGY_CHANGED.name
    type: Literal["topology.snapshot_rejected"] = "topology.snapshot_rejected"
    data: SnapshotRejectedData


TopologyEvent = Annotated[TopologyChanged | SnapshotRejected, Field(discriminator="type")]


# --- meshq.audit.events / meshq.audit.recorded ----------------------------------------


class AuditRequestData(Payload):
    """One API call as the gateway saw it, or one internal write as the service that made it
    saw it (``auth_method`` ``service``: the principal is the calling service)."""

    principal: str = Field(
        description="API key name, the OIDC subject, or the calling service (internal writes)."
    )
    auth_method: Literal["api_key", "oidc", "anonymous", "service"]
    key_id: str | None = Field(
        default=None,
        description="The API key's id (admin for the installation's key): who called, even "
        "when two keys carried the same name over time.",
    )
    method: str
    path: str
    status: int = Field(ge=100, le=599)
    elapsed_ms: float = Field(ge=0)
    query: str | None = Field(default=None, description="Catalogue query name, when one ran.")
    params: dict[str, Any] = Field(default_factory=dict)
    row_count: int | None = Field(default=None, ge=0)
    sample_rows: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    client: str | None = None
    cached: bool | None = Field(
        default=None,
        description="For a query answer: true when the gateway served it from its answer "
        "cache, false when graph-engine worked it out for this call.",
    )


class AuditRequestEvent(EventBase):
    topic: ClassVar[str] = topics.AUDIT_EVENTS.name
    type: Literal["audit.request"] = "audit.request"
    data: AuditRequestData


AuditEvent = Annotated[AuditRequestEvent, Field(discriminator="type")]


class AuditRecordedData(Payload):
    seq: int = Field(ge=1, description="Position in the audit log.")
    entry_hash: str = Field(description="Hash of this entry, chained to the previous one.")
    audit_event_id: str
    request: AuditRequestData


class AuditRecorded(EventBase):
    topic: ClassVar[str] = topics.AUDIT_RECORDED.name
    type: Literal["audit.recorded"] = "audit.recorded"
    data: AuditRecordedData


AuditRecordedEvent = Annotated[AuditRecorded, Field(discriminator="type")]


# --- meshq.soar.dispatched / meshq.soar.dead-letter -----------------------------------


class SoarDispatchData(Payload):
    rule_name: str
    query: str | None
    audit_event_id: str
    attempts: int = Field(ge=1)
    status_code: int | None = None
    error: str | None = None
    outcome: Literal["delivered", "dead-lettered"] = "delivered"
    severity: str | None = None
    idempotency_key: str | None = Field(
        default=None, description="The Idempotency-Key header sent with every attempt."
    )
    payload: dict[str, Any] | None = Field(
        default=None, description="The webhook body, so that a dead letter can be replayed."
    )


class SoarDispatched(EventBase):
    topic: ClassVar[str] = topics.SOAR_DISPATCHED.name
    type: Literal["soar.dispatched"] = "soar.dispatched"
    data: SoarDispatchData


class SoarDeadLettered(EventBase):
    topic: ClassVar[str] = topics.SOAR_DEAD_LETTER.name
    type: Literal["soar.dead-lettered"] = "soar.dead-lettered"
    data: SoarDispatchData


SoarDispatchedEvent = Annotated[SoarDispatched, Field(discriminator="type")]
SoarDeadLetterEvent = Annotated[SoarDeadLettered, Field(discriminator="type")]


# --- meshq.netbox.sync.requested ------------------------------------------------------


class NetboxSyncRequestedData(Payload):
    direction: Literal["push", "pull", "both"]
    dry_run: bool = False
    requested_by: str = "cli"


class NetboxSyncRequested(EventBase):
    topic: ClassVar[str] = topics.NETBOX_SYNC_REQUESTED.name
    type: Literal["netbox.sync.requested"] = "netbox.sync.requested"
    data: NetboxSyncRequestedData


NetboxSyncEvent = Annotated[NetboxSyncRequested, Field(discriminator="type")]


# --- meshq.alerts.events ----------------------------------------------------------------


class AlertChangedData(Payload):
    """One alert moved (fired, acknowledged, resolved), as the alerts service keeps it."""

    alert_id: str = Field(max_length=32, description="alert-<number>.")
    rule: str = Field(max_length=128)
    query: str = Field(max_length=64, description="The catalogue query the rule watches.")
    change: Literal["firing", "acknowledged", "resolved"]
    severity: str = Field(max_length=16)
    summary: str = Field(max_length=1_000)
    labels: dict[str, str] = Field(default_factory=dict)
    key: dict[str, Any] = Field(default_factory=dict, description="The row's key columns.")
    devices: list[str] = Field(default_factory=list, max_length=16)
    row: dict[str, Any] = Field(default_factory=dict, description="The row that raised it.")
    fingerprint: str = Field(max_length=64)
    starts_at: str = Field(max_length=64)
    at: str = Field(max_length=64, description="When it moved (RFC 3339).")
    actor: str | None = Field(default=None, max_length=255, description="Who acknowledged.")


class AlertChanged(EventBase):
    topic: ClassVar[str] = topics.ALERTS_EVENTS.name
    type: Literal["alert.changed"] = "alert.changed"
    data: AlertChangedData


AlertEvent = Annotated[AlertChanged, Field(discriminator="type")]


#: The events of one topic (``Topic[E]``).
E = TypeVar("E", bound=EventBase)


def _contract(topic: topics.Topic[E], adapter: TypeAdapter[E]) -> tuple[str, TypeAdapter[Any]]:
    """A topic with the adapter of its events: the type checker holds both to the same ``E``."""
    return topic.name, adapter


#: One TypeAdapter per topic; consumers decode with these.
ADAPTERS: dict[str, TypeAdapter[Any]] = dict(
    [
        _contract(topics.LICENSE_EVENTS, TypeAdapter(LicenseEvent)),
        _contract(topics.INGEST_SNAPSHOTS, TypeAdapter(IngestEvent)),
        _contract(topics.TOPOLOGY_CHANGED, TypeAdapter(TopologyEvent)),
        _contract(topics.AUDIT_EVENTS, TypeAdapter(AuditEvent)),
        _contract(topics.AUDIT_RECORDED, TypeAdapter(AuditRecordedEvent)),
        _contract(topics.SOAR_DISPATCHED, TypeAdapter(SoarDispatchedEvent)),
        _contract(topics.SOAR_DEAD_LETTER, TypeAdapter(SoarDeadLetterEvent)),
        _contract(topics.NETBOX_SYNC_REQUESTED, TypeAdapter(NetboxSyncEvent)),
        _contract(topics.ALERTS_EVENTS, TypeAdapter(AlertEvent)),
    ]
)


@overload
def adapter_for(topic: topics.Topic[E]) -> TypeAdapter[E]: ...


@overload
def adapter_for(topic: str) -> TypeAdapter[Any]: ...


def adapter_for(topic: topics.Topic[Any] | str) -> TypeAdapter[Any]:
    """The adapter that decodes ``topic``'s records (those of ``E`` for a ``Topic[E]``)."""
    name = topic if isinstance(topic, str) else topic.name
    try:
        return ADAPTERS[name]
    except KeyError:
        raise KeyError(f"no event contract for topic {name!r}") from None
