"""Which rules fire for a recorded audit event, and the license gate."""

from __future__ import annotations

from typing import Any

from meshq_soar_dispatcher.rules import load_rules
from meshq_soar_dispatcher.service import Dispatcher, build_payload
from network_discovery.contracts.events import AuditRecorded, AuditRecordedData, AuditRequestData


class _Gate:
    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed

    def allows(self, feature: str) -> bool:
        assert feature == "soar_webhooks"
        return self.allowed


class _Bus:
    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, event: Any) -> None:
        self.published.append(event)


RULES = load_rules(
    '[{"condition":"row_count > 0","query":"deny_rules_summary","label":"a"},'
    '{"condition":"status >= 500 or elapsed_ms > 100","query":"*","label":"b","severity":"high"}]'
)


def _event(query: str | None, rows: int | None, status: int = 200, ms: float = 1) -> AuditRecorded:
    request = AuditRequestData(
        principal="p",
        auth_method="api_key",
        method="GET",
        path="/x",
        status=status,
        elapsed_ms=ms,
        query=query,
        row_count=rows,
        sample_rows=[{"n": 1}] if rows else [],
    )
    return AuditRecorded(
        source="audit",
        subject="p",
        data=AuditRecordedData(seq=1, entry_hash="0" * 64, audit_event_id="e", request=request),
    )


def test_matching_rules() -> None:
    d = Dispatcher(RULES, None, _Bus(), _Gate(True))  # type: ignore[arg-type]
    assert [r.label for r in d.matching(_event("deny_rules_summary", 3))] == ["a"]
    assert [r.label for r in d.matching(_event("deny_rules_summary", 3, 503))] == ["a", "b"]
    assert [r.label for r in d.matching(_event("topology", 0, ms=101))] == ["b"]
    assert d.matching(_event(None, None, 503)) == []


def test_payload_fields() -> None:
    payload = build_payload(RULES[1], _event("deny_rules_summary", 3, 503))
    assert payload["rule_name"] == "b" and payload["severity"] == "high"
    assert payload["matched_rows"] == 3 and payload["sample_data"] == [{"n": 1}]
    assert payload["triggered_at"].endswith("Z")


async def test_unlicensed_or_unconfigured_sends_nothing() -> None:
    bus = _Bus()
    await Dispatcher(RULES, None, bus, _Gate(False)).handle(  # type: ignore[arg-type]
        _event("deny_rules_summary", 3)
    )
    await Dispatcher(RULES, None, bus, _Gate(True)).handle(  # type: ignore[arg-type]
        _event("deny_rules_summary", 3)
    )
    assert bus.published == []
