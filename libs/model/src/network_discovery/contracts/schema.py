"""JSON Schema export of the event contracts and of the snapshot format.

``export_schemas(directory)`` writes, for teams that consume our topics:

- ``<event type>.json`` for every event type (``audit.request.json``, ...): the envelope with
  that type's ``data``;
- ``envelope.json``: the envelope with an untyped ``data``;
- ``snapshot.json`` and ``metadata-patch.json``: what ``meshq ingest`` and metadata updates
  carry;
- ``index.json``: every topic (name, key, description) with the event types on it.

Schemas are generated from the pydantic models, written with sorted keys, and the same
models always give the same bytes; files already there with other names are left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from network_discovery.contracts import events, topics
from network_discovery.contracts.envelope import EventBase
from network_discovery.model import MetadataPatch, Snapshot

__all__ = ["JSON_SCHEMA_DIALECT", "event_types", "export_schemas", "schema_documents"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_types() -> dict[str, type[EventBase]]:
    """Every concrete event class, by its ``type``, sorted by type."""
    found: dict[str, type[EventBase]] = {}
    for name in events.__all__:
        cls = getattr(events, name)
        if not (isinstance(cls, type) and issubclass(cls, EventBase) and cls is not EventBase):
            continue
        event_type = cls.model_fields["type"].default
        if not isinstance(event_type, str):
            raise TypeError(f"event class {cls.__name__} has no default 'type'")
        if event_type in found and found[event_type] is not cls:
            raise ValueError(f"event type {event_type!r} is defined twice")
        found[event_type] = cls
    return dict(sorted(found.items()))


def _schema(model: type[BaseModel], title: str | None = None) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    if title is not None:
        schema["title"] = title
    return schema


def _index(types: dict[str, type[EventBase]]) -> dict[str, Any]:
    on_topic: dict[str, list[str]] = {}
    for event_type, cls in types.items():
        on_topic.setdefault(cls.topic, []).append(event_type)
    unknown = sorted(set(on_topic) - {t.name for t in topics.ALL_TOPICS})
    if unknown:
        raise ValueError(f"event types on topics missing from the registry: {unknown}")
    return {
        "topics": [
            {
                "name": topic.name,
                "key": topic.key,
                "description": topic.description,
                "compacted": topic.compacted,
                "event_types": sorted(on_topic.get(topic.name, [])),
                "schemas": [f"{t}.json" for t in sorted(on_topic.get(topic.name, []))],
            }
            for topic in topics.ALL_TOPICS
        ],
        "envelope": "envelope.json",
        "snapshot": "snapshot.json",
        "metadata_patch": "metadata-patch.json",
    }


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> JSON document, for everything :func:`export_schemas` writes."""
    types = event_types()
    documents: dict[str, dict[str, Any]] = {
        f"{event_type}.json": _schema(cls) for event_type, cls in types.items()
    }
    documents["envelope.json"] = _schema(EventBase, "Envelope")
    documents["snapshot.json"] = _schema(Snapshot)
    documents["metadata-patch.json"] = _schema(MetadataPatch)
    documents["index.json"] = _index(types)
    return dict(sorted(documents.items()))


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(directory: Path) -> list[Path]:
    """Write every schema file into ``directory`` (created if needed); return their paths.

    A file whose content is already right is not rewritten, so running it twice changes
    nothing, not even modification times.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, document in schema_documents().items():
        path = directory / name
        text = _render(document)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
