"""The gateway's OpenAPI document tells the truth (issue 19): every status a route answers is
listed as problem+json, with the headers it carries; a method a path lacks is 405 with Allow;
query-string parameters are typed by the query's published schema, strictly."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from meshq_graph_engine.catalogue import REGISTRY, describe
from meshq_query_gateway.app import create_app
from meshq_query_gateway.openapi import MIDDLEWARE_STATUSES
from meshq_query_gateway.routes.queries import query_string_params
from meshq_query_gateway.settings import Settings

KEY = "unit-admin-" + "k" * 32
PROBLEM = "application/problem+json"
PUBLIC = {"/health", "/ready", "/health/platform"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # no lifespan: the document is built from the routes alone
    client = TestClient(create_app(Settings(API_KEY=KEY)))
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_post_queries_lists_every_refusal_it_can_answer(document: dict[str, Any]) -> None:
    responses = document["paths"]["/queries/{name}"]["post"]["responses"]
    for status in ("400", "401", "403", "404", "413", "422", "429", "502", "503"):
        assert status in responses, status
        content = responses[status]["content"]
        assert list(content) == [PROBLEM]
        assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert responses["429"]["headers"]["Retry-After"]["required"] is True
    assert "Retry-After" in responses["503"]["headers"]
    assert "MESHQ_GATEWAY_MAX_BODY_BYTES" in responses["413"]["description"]


def test_every_error_of_every_operation_is_a_problem(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    for path, method, op in _operations(document):
        for status, response in op["responses"].items():
            headers = response.get("headers") or {}
            assert "X-Correlation-ID" in headers, (path, method, status)
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM], (path, method, status)
        if path in PUBLIC:
            assert "security" not in op, path
            continue
        # the middleware answers these on every non-public route, before any handler
        for status in MIDDLEWARE_STATUSES:
            assert str(status) in op["responses"], (path, method, status)
        assert op["security"] == [{"ApiKey": []}], (path, method)
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "name": "X-API-Key", "in": "header"}


def test_route_specific_statuses(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert {"400", "413", "422", "429"} <= set(paths["/graph/chaos-simulate"]["post"]["responses"])
    assert {"409", "422"} <= set(paths["/admin/rbac/reload"]["post"]["responses"])
    assert "503" in paths["/ready"]["get"]["responses"]
    inventory = paths["/inventory/ansible"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/plain"} <= set(inventory)


def test_oidc_mode_documents_the_bearer_scheme() -> None:
    settings = Settings(
        API_KEY=KEY,
        AUTH_MODE="both",
        OIDC_ISSUER="https://idp.example.test/",
        OIDC_AUDIENCE="api://meshq",
        OIDC_JWKS_URL="https://idp.example.test/keys",
    )
    document = TestClient(create_app(settings)).get("/schema/openapi.json").json()
    assert document["components"]["securitySchemes"]["Bearer"]["scheme"] == "bearer"
    assert document["paths"]["/queries"]["get"]["security"] == [{"ApiKey": []}, {"Bearer": []}]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/queries/all_devices", {"GET", "POST", "OPTIONS"}),
        ("PUT", "/queries", {"GET", "OPTIONS"}),
        ("GET", "/graph/chaos-simulate", {"POST", "OPTIONS"}),
        ("PATCH", "/admin/rbac/reload", {"POST", "OPTIONS"}),
    ],
)
def test_a_method_the_path_lacks_is_405_with_allow(
    method: str, path: str, allowed: set[str]
) -> None:
    client = TestClient(create_app(Settings(API_KEY=KEY)))
    response = client.request(method, path, headers={"X-API-Key": KEY})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM)
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_options_names_both_methods_of_a_query() -> None:
    client = TestClient(create_app(Settings(API_KEY=KEY)))
    answer = client.options("/queries/all_devices", headers={"X-API-Key": KEY})
    assert answer.status_code == 204
    assert answer.headers["allow"] == "GET, OPTIONS, POST"


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = describe(REGISTRY[name])["parameters"]
    return schema


@pytest.mark.parametrize(
    ("name", "pairs", "expected"),
    [
        (
            "all_devices",
            [("managed_only", "false"), ("site", "hq")],
            {"managed_only": False, "site": "hq"},
        ),
        ("all_devices", [("managed_only", "true"), ("limit", "5")], {"managed_only": True}),
        # only the documented spellings become booleans: the rest stays text, and is refused
        ("all_devices", [("managed_only", "0")], {"managed_only": "0"}),
        ("all_devices", [("managed_only", "False")], {"managed_only": "False"}),
        ("topology_neighborhood", [("device", "42"), ("depth", "3")], {"device": "42", "depth": 3}),
        ("endpoints_without_location", [("vlan", "110")], {"vlan": 110}),
        ("endpoints_without_location", [("vlan", "1.5")], {"vlan": "1.5"}),
        ("topology_edges", [("min_confidence", "0.5")], {"min_confidence": 0.5}),
        ("topology_edges", [("min_confidence", "1e999")], {"min_confidence": "1e999"}),
        ("bgp_topology", [("asn", "65001")], {"asn": 65001}),
        ("bgp_topology", [("asn", "1.10")], {"asn": "1.10"}),
        ("update_device_metadata", [("tags", "a"), ("tags", "b")], {"tags": ["a", "b"]}),
        ("all_devices", [("nope", "1")], {"nope": "1"}),
    ],
)
def test_query_string_values_are_typed_by_the_published_schema(
    name: str, pairs: list[tuple[str, str]], expected: dict[str, Any]
) -> None:
    assert query_string_params(_schema(name), pairs) == expected
