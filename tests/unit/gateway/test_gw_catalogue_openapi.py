"""The gateway's OpenAPI document lists every catalogue query as its own operation, with the
query's parameter schema as body and its row model as the rows' items (issue 21)."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from meshq_graph_engine.catalogue import REGISTRY
from meshq_graph_engine.catalogue.base import describe
from meshq_query_gateway.app import create_app
from meshq_query_gateway.catalogue_openapi import with_queries
from meshq_query_gateway.settings import Settings

KEY = "k" * 32
COMPONENT, LOCAL = "#/components/schemas/", "#/$defs/"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = (
        TestClient(create_app(Settings(API_KEY=KEY))).get("/schema/openapi.json").json()
    )
    return document


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _inline(schema: Any, defs: dict[str, Any], prefix: str) -> Any:
    """``schema`` with every reference starting ``prefix`` replaced by what ``defs`` holds."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            return _inline(defs[ref.removeprefix(prefix)], defs, prefix)
        return {k: _inline(v, defs, prefix) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs, prefix) for v in schema]
    return schema


def test_every_query_gets_an_operation_with_its_schemas() -> None:
    base = _document()
    catalogue = [describe(q) for q in REGISTRY.values()]
    document = with_queries(base, catalogue)
    schemas = document["components"]["schemas"]
    for entry in catalogue:
        operation = document["paths"][f"/queries/{entry['name']}"]["post"]
        assert operation["operationId"] == f"query_{entry['name']}"
        assert not [p for p in operation.get("parameters", []) if p["in"] == "path"]
        assert {p["name"] for p in operation["parameters"]} == {"limit", "cursor"}
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        params, row = entry["parameters"], entry["row_schema"]
        by_query_string = document["paths"][f"/queries/{entry['name']}"]["get"]
        assert {p["name"] for p in by_query_string["parameters"]} == {"limit", "cursor"} | set(
            params.get("properties") or {}
        )
        assert _inline(body, schemas, COMPONENT) == _inline(params, params.get("$defs"), LOCAL)
        rows = _inline(answer, schemas, COMPONENT)["properties"]["rows"]
        if row is None:
            assert rows["items"] == {"type": "object"}
        else:
            assert rows["items"] == _inline(row, row.get("$defs"), LOCAL)
    # every reference names a component that exists; the input document is not changed
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas
    assert "/queries/all_devices" not in base["paths"]
    assert "/queries/{name}" in document["paths"]


def test_names_that_are_no_path_segment_are_left_to_the_template() -> None:
    base = _document()
    document = with_queries(
        base, [{"name": "a/b", "parameters": {"type": "object"}, "row_schema": None}]
    )
    assert document["paths"].keys() == base["paths"].keys()


def test_before_the_gateway_has_started_the_document_is_the_generic_one() -> None:
    """Served without its lifespan (no catalogue can be read): no per-query operations, and
    no failure (with a running graph engine they appear: tests/integration/gateway)."""
    document = _document()
    assert "/queries/{name}" in document["paths"]
    assert not [p for p in document["paths"] if p.startswith("/queries/") and "{" not in p]
