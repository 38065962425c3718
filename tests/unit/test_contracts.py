"""The envelope, the topic registry and the per-topic discriminated unions."""

from __future__ import annotations

import pytest
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    ADAPTERS,
    AuditRecorded,
    AuditRecordedData,
    AuditRequestData,
    AuditRequestEvent,
)
from pydantic import ValidationError


def _request() -> AuditRequestEvent:
    return AuditRequestEvent(
        source="query-gateway",
        subject="admin",
        correlation_id="c-1",
        data=AuditRequestData(
            principal="admin",
            auth_method="api_key",
            method="GET",
            path="/queries",
            status=200,
            elapsed_ms=3.2,
        ),
    )


def test_envelope_round_trips_through_the_topic_adapter() -> None:
    event = _request()
    decoded = ADAPTERS[topics.AUDIT_EVENTS.name].validate_json(event.model_dump_json())
    assert decoded == event
    assert set(event.model_dump()) == {
        "id",
        "type",
        "version",
        "source",
        "time",
        "subject",
        "correlation_id",
        "data",
    }
    assert event.key() == b"admin"


def test_follow_up_keeps_the_correlation_id() -> None:
    event = _request()
    recorded = event.follow_up(
        AuditRecorded,
        source="audit",
        data=AuditRecordedData(seq=1, entry_hash="h", audit_event_id=event.id, request=event.data),
    )
    assert recorded.correlation_id == "c-1"
    assert recorded.id != event.id


def test_events_are_frozen_and_strict() -> None:
    event = _request()
    with pytest.raises(ValidationError):
        event.source = "x"  # type: ignore[misc]
    payload = event.model_dump(mode="json")
    payload["surprise"] = 1
    with pytest.raises(ValidationError):
        ADAPTERS[topics.AUDIT_EVENTS.name].validate_python(payload)


def test_unknown_event_type_is_rejected_by_the_union() -> None:
    payload = _request().model_dump(mode="json")
    payload["type"] = "audit.something-else"
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        ADAPTERS[topics.AUDIT_EVENTS.name].validate_python(payload)


def test_topic_registry_is_complete_and_unique() -> None:
    names = [t.name for t in topics.ALL_TOPICS]
    assert len(names) == len(set(names))
    assert {
        "meshq.license.events",
        "meshq.ingest.snapshots",
        "meshq.topology.changed",
        "meshq.audit.events",
        "meshq.audit.recorded",
        "meshq.soar.dispatched",
        "meshq.soar.dead-letter",
        "meshq.netbox.sync.requested",
        "meshq.dead-letter",
        "meshq.flows.records",
        "meshq.alerts.events",
    } == set(names)
    # every topic but the raw ones (dead letters, flow records) has an event contract
    assert set(ADAPTERS) == set(names) - {t.name for t in topics.RAW_TOPICS}
    with pytest.raises(KeyError, match="unknown topic"):
        topics.topic_by_name("meshq.nope")
