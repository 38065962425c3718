"""RFC 5424 formatting of an audit record."""

from __future__ import annotations

from datetime import UTC, datetime

from meshq_audit.siem import rfc5424


def test_header_structured_data_and_escaping() -> None:
    record = {
        "seq": 7,
        "event_id": "e7",
        "event_time": datetime(2026, 3, 6, 14, 22, tzinfo=UTC),
        "entry_hash": "ab" * 32,
        "event": {"data": {"principal": 'we"ird]\\name', "status": 200, "query": None}},
    }
    text = rfc5424(record, hostname="host1").decode()
    assert text.startswith(
        "<85>1 2026-03-06T14:22:00+00:00 host1 meshq-audit - audit [meshq@32473 "
    )
    assert 'seq="7"' in text and 'status="200"' in text
    assert 'principal="we\\"ird\\]\\\\name"' in text
    assert "query=" not in text
    assert text.endswith('{"data":{"principal":"we\\"ird]\\\\name","query":null,"status":200}}')
