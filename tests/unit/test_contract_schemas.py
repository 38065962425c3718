"""JSON Schema export: one valid schema per event type, the snapshot format, and an index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from network_discovery.contracts import events, topics
from network_discovery.contracts.schema import event_types, export_schemas
from network_discovery.demo import snapshot_text
from network_discovery.model import MetadataPatch, PatchSource


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("schemas") / "nested"
    export_schemas(directory)
    return directory


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_one_file_per_event_type_plus_the_fixed_ones(exported: Path) -> None:
    names = {p.name for p in exported.iterdir()}
    expected = {f"{t}.json" for t in event_types()} | {
        "envelope.json",
        "snapshot.json",
        "metadata-patch.json",
        "index.json",
    }
    assert names == expected
    assert {"audit.request.json", "ingest.snapshot.json", "license.state.json"} <= names


def test_every_file_is_a_valid_json_schema(exported: Path) -> None:
    for path in exported.iterdir():
        if path.name == "index.json":
            continue
        schema = _load(path)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_index_lists_every_topic_with_its_event_types(exported: Path) -> None:
    index = _load(exported / "index.json")
    listed = {t["name"]: t for t in index["topics"]}
    assert list(listed) == [t.name for t in topics.ALL_TOPICS]
    for topic in topics.ALL_TOPICS:
        entry = listed[topic.name]
        assert (entry["key"], entry["description"]) == (topic.key, topic.description)
        for schema_file in entry["schemas"]:
            assert (exported / schema_file).is_file()
    ingest = listed[topics.INGEST_SNAPSHOTS.name]["event_types"]
    assert ingest == [
        "ingest.patch",
        "ingest.snapshot",
        "ingest.snapshot.chunk",
        "ingest.snapshot.stored",
    ]
    assert listed[topics.AUDIT_EVENTS.name]["event_types"] == ["audit.request"]
    every_type = sorted(t for entry in index["topics"] for t in entry["event_types"])
    assert every_type == sorted(event_types())


def test_sample_events_validate_against_their_schemas(exported: Path) -> None:
    audit = events.AuditRequestEvent(
        source="query-gateway",
        subject="ops-key",
        data=events.AuditRequestData(
            principal="ops-key",
            auth_method="api_key",
            method="GET",
            path="/queries/all_devices",
            status=200,
            elapsed_ms=12.5,
            query="all_devices",
            row_count=3,
        ),
    )
    patch = events.SnapshotPatch(
        source="netbox-sync",
        subject="hq-core-01",
        data=MetadataPatch(
            hostname="hq-core-01", source=PatchSource.NETBOX, site="hq", rack="A-MDF"
        ),
    )
    for event in (audit, patch):
        document = json.loads(event.model_dump_json())
        Draft202012Validator(_load(exported / f"{event.type}.json")).validate(document)
        Draft202012Validator(_load(exported / "envelope.json")).validate(document)
    bad = json.loads(audit.model_dump_json()) | {"type": "audit.other"}
    with pytest.raises(SchemaError, match=r"audit\.request"):
        Draft202012Validator(_load(exported / "audit.request.json")).validate(bad)


def test_the_demo_snapshot_validates_against_the_snapshot_schema(exported: Path) -> None:
    validator = Draft202012Validator(_load(exported / "snapshot.json"))
    validator.validate(json.loads(snapshot_text()))
    broken = json.loads(snapshot_text()) | {"surprise": 1}
    assert list(validator.iter_errors(broken))


def test_export_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    first = export_schemas(tmp_path / "a")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in first}
    second = export_schemas(tmp_path / "a")
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in second}
    assert before == after
    elsewhere = {p.name: p.read_bytes() for p in export_schemas(tmp_path / "b")}
    assert elsewhere == {name: data for name, (data, _) in before.items()}
    text = (tmp_path / "a" / "snapshot.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_a_stale_file_is_rewritten(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    (tmp_path / "envelope.json").write_text("{}", encoding="utf-8")
    (tmp_path / "unrelated.txt").write_text("keep me", encoding="utf-8")
    export_schemas(tmp_path)
    assert _load(tmp_path / "envelope.json")["title"] == "Envelope"
    assert (tmp_path / "unrelated.txt").read_text(encoding="utf-8") == "keep me"
