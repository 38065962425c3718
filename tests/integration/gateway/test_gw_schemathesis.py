"""schemathesis against a real gateway (and graph engine, broker, Redis), in demo mode, on the
catalogue's fixture network: nothing answers 5xx, and every answer conforms to the published
documents (issue 19).

Two documents are fuzzed, each with a fixed seed and a bounded number of examples:

- the gateway's own OpenAPI document (``/schema/openapi.json``): every operation, valid and
  invalid input; every answer has a documented status, the documented content type, a body
  that matches the documented schema and the documented headers;
- every catalogue query's published parameter schema (``GET /queries``), as ``POST
  /queries/<name>`` with the JSON body and ``GET /queries/<name>`` with the query string:
  the same checks, the rows against the query's ``row_schema``, and input the schema calls
  invalid (a wrong type, out of range, unknown) is refused, never answered 200.

The attacks of the issue are pinned as plain regression tests at the end.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import schemathesis
import yaml
from gateway_support import ADMIN_KEY, problem
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.model import Snapshot
from schemathesis import GenerationMode
from schemathesis import checks as sc
from support.procs import ServiceProc, free_port, new_service_token
from support.submit import submit_sync

pytestmark = pytest.mark.integration

SEED = 19
#: Examples per operation of the gateway's document, and per query and generation mode.
GATEWAY_EXAMPLES = 12
QUERY_EXAMPLES = 3
AUTH = {"X-API-Key": ADMIN_KEY}
NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"

#: A documented status, content type, body and headers, and never a 5xx.
CONFORMANCE = [
    sc.not_a_server_error,
    sc.status_code_conformance,
    sc.content_type_conformance,
    sc.response_schema_conformance,
    sc.response_headers_conformance,
]


def _proc(module: str, port_env: str, env: dict[str, str], logs: Path) -> ServiceProc:
    port = free_port()
    return ServiceProc(
        module=module,
        port=port,
        env={**env, port_env: str(port)},
        log_path=logs / f"{module}.log",
    ).start()


@pytest.fixture(scope="module")
def demo_gateway(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProc]:
    tmp = tmp_path_factory.mktemp("fuzz")
    tag = uuid.uuid4().hex[:8]
    env = {
        "MESHQ_KAFKA_TOPIC_PREFIX": f"f{tag}.",
        "MESHQ_KAFKA_GROUP_PREFIX": f"f{tag}",
        "MESHQ_KAFKA_PARTITIONS": "1",
        "MESHQ_KAFKA_IDEMPOTENT": "false",
        "MESHQ_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "MESHQ_REDIS_URL": stack.redis_url,
        "MESHQ_DATA_DIR": str(tmp / "data"),
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHOPTIXIQ_DEMO_MODE": "true",
        **new_service_token(),
    }
    kafka = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
    asyncio.run(ensure_topics(kafka))
    database = f"meshq_fuzz_{tag}"
    asyncio.run(_database(stack.postgres_url, f'CREATE DATABASE "{database}"'))
    postgres = _with_db(stack.postgres_url, database)
    # with its metrics store (PostgreSQL) and flow store, so that every query is fuzzed for real
    graph_env = {**env, "MESHQ_POSTGRES_URL": postgres, "MESHQ_FLOWS_PATH": str(tmp / "flows")}
    graph = _proc("meshq_graph_engine", "MESHQ_GRAPH_ENGINE_PORT", graph_env, tmp)
    gateway = None
    # the services behind /audit/* and /soar/replay, so that those routes are fuzzed for real
    audit = _proc(
        "meshq_audit",
        "MESHQ_AUDIT_PORT",
        {**env, "MESHQ_POSTGRES_URL": postgres, "MESHQ_AUDIT_HMAC_KEY": "fuzz-audit-" + "k" * 24},
        tmp,
    )
    soar = _proc(
        "meshq_soar_dispatcher",
        "MESHQ_SOAR_DISPATCHER_PORT",
        {
            **env,
            "MESHQ_POSTGRES_URL": postgres,
            "SOAR_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "SOAR_WEBHOOK_TOKEN": "t" * 24,
        },
        tmp,
    )
    try:
        graph.wait_healthy()
        audit.wait_healthy()
        soar.wait_healthy()
        snapshot = Snapshot.model_validate(yaml.safe_load(NETWORK.read_text()))
        applied = submit_sync(graph.url, env, snapshot)
        assert applied["status"] == "applied", applied
        gateway = _proc(
            "meshq_query_gateway",
            "MESHQ_GATEWAY_PORT",
            {
                **env,
                "API_KEY": ADMIN_KEY,
                "MESHQ_GRAPH_ENGINE_URL": graph.url,
                "MESHQ_AUDIT_URL": audit.url,
                "MESHQ_SOAR_DISPATCHER_URL": soar.url,
                # a limit the fuzzer meets (its 429 is checked like any answer); chaos-simulate's
                # five a minute would leave its body checks to the first five examples
                "MESHQ_RATE_LIMITS": json.dumps(
                    {"GET /license": "3/minute", "POST /graph/chaos-simulate": "1000/minute"}
                ),
            },
            tmp,
        ).wait_healthy()
        yield gateway
    finally:
        if gateway is not None:
            gateway.stop()
        for proc in (soar, audit, graph):
            proc.stop()
        asyncio.run(
            _database(stack.postgres_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        )


def _with_db(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def _database(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)  # the name is made here, never input
    finally:
        await conn.close()


def _config() -> Any:
    """Every call carries the admin key for the document's ``ApiKey`` scheme; the fuzzer
    does not make the key itself invalid (the gateway's auth tests do that), so that invalid
    input tests the parameters and bodies."""
    return schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"ApiKey": {"api_key": ADMIN_KEY}}},
            "generation": {"with-security-parameters": False},
        }
    )


class Findings:
    """What the fuzzer found: one line per operation and kind of failure (hypothesis is not
    asked to shrink: nothing is raised inside the test function)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], str] = {}
        self.seen: set[str] = set()
        self.statuses: Counter[int] = Counter()
        self.modes: Counter[Any] = Counter()

    def summary(self, started: float) -> str:
        calls = sum(self.statuses.values())
        return f"{calls} calls in {time.monotonic() - started:.1f} s, {dict(self.modes)}"

    def check(self, case: Any, response: Any, checks: list[Callable[..., Any]]) -> None:
        mode = case.meta.generation.mode.value if case.meta else "?"
        self.statuses[response.status_code] += 1
        self.modes[(mode, response.status_code)] += 1
        label = f"{case.method.upper()} {case.path}"
        self.seen.add(label)
        try:
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup, or one Failure
            for failure in getattr(exc, "exceptions", [exc]):
                title = str(getattr(failure, "title", type(failure).__name__))
                message = str(getattr(failure, "message", failure))
                self.lines.setdefault(
                    (label, title),
                    f"{label} [{mode}] -> {response.status_code}: {title}: {message[:400]}\n"
                    f"    {case.as_curl_command()[:600]}",
                )


def _fuzz(
    schema: Any,
    findings: Findings,
    *,
    examples: int,
    modes: tuple[GenerationMode, ...],
    checks: list[Callable[..., Any]],
    base_url: str | None = None,
) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @seed(SEED)
            def fuzz(case: Any) -> None:
                response = case.call(base_url=base_url, timeout=30)
                findings.check(case, response, checks)

            try:
                fuzz()
            except Unsatisfiable:
                # nothing to make invalid: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE, operation.label


def test_the_gateway_document_holds_for_every_operation(demo_gateway: ServiceProc) -> None:
    started = time.monotonic()
    # the per-query operations (``POST /queries/all_devices``) are fuzzed by the test below,
    # from the catalogue's own schemas; the test after it checks the document says the same
    schema = schemathesis.openapi.from_url(
        f"{demo_gateway.url}/schema/openapi.json", config=_config()
    ).exclude(path_regex=r"^/queries/[^{]")
    # ``GET /map/view``'s repeated text parameters: a "negative" case the fuzzer makes (a
    # boolean) reaches the server as the text ``false``, a valid value; its own tests
    # (tests/unit/ui/test_ui_map_lod.py) refuse what is not a known group
    schema = schema.exclude(path_regex=r"^/map/view$")
    findings = Findings()
    _fuzz(
        schema,
        findings,
        examples=GATEWAY_EXAMPLES,
        modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
        checks=[*CONFORMANCE, sc.negative_data_rejection],
    )
    print(f"gateway document: {findings.summary(started)}")
    assert not findings.lines, "\n".join(findings.lines.values())
    operations = {f"{r.ok().method.upper()} {r.ok().path}" for r in schema.get_all_operations()}
    assert findings.seen == operations
    assert {"POST /queries/{name}", "GET /license", "POST /admin/rbac/reload"} <= findings.seen
    assert {"GET /audit/export", "POST /soar/replay", "POST /netbox/sync"} <= findings.seen


def _rewrite_refs(node: Any, prefix: str, defs: dict[str, Any]) -> Any:
    """A pydantic JSON Schema with its ``$defs`` moved to ``components/schemas``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$defs":
                for name, definition in value.items():
                    defs[f"{prefix}{name}"] = _rewrite_refs(definition, prefix, defs)
            elif key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = "#/components/schemas/" + prefix + value.removeprefix("#/$defs/")
            else:
                out[key] = _rewrite_refs(value, prefix, defs)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, prefix, defs) for v in node]
    return node


def _query_parameter(name: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def catalogue_document(gateway: dict[str, Any], catalogue: list[dict[str, Any]]) -> dict[str, Any]:
    """One operation per query and method, from the query's published schemas, with the
    gateway's documented answers (the 200 body holding rows of the query's ``row_schema``)."""
    post_template = gateway["paths"]["/queries/{name}"]["post"]
    get_template = gateway["paths"]["/queries/{name}"]["get"]
    defs: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for entry in catalogue:
        name = entry["name"]
        params = _rewrite_refs(entry["parameters"], f"{name}__", defs)
        rows = _rewrite_refs(entry.get("row_schema") or {}, f"{name}__row__", defs)
        answer = {
            "type": "object",
            "required": ["query", "rows", "row_count", "offset", "next_cursor"],
            "properties": {
                "query": {"const": name},
                "rows": {"type": "array", "items": rows},
                "row_count": {"type": "integer", "minimum": 0},
            },
        }

        def responses(template: dict[str, Any], answer: dict[str, Any] = answer) -> Any:
            out = copy.deepcopy(template["responses"])
            out["200"]["content"] = {"application/json": {"schema": answer}}
            return out

        properties = params.get("properties") or {}
        required = set(params.get("required") or ())
        paths[f"/queries/{name}"] = {
            "post": {
                "operationId": f"post_{name}",
                "security": post_template.get("security"),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": params}},
                },
                "responses": responses(post_template),
            },
            "get": {
                "operationId": f"get_{name}",
                "security": get_template.get("security"),
                "parameters": [
                    _query_parameter(p, s, p in required) for p, s in properties.items()
                ],
                "responses": responses(get_template),
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "the catalogue, as published", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {**gateway["components"]["schemas"], **defs},
            "securitySchemes": gateway["components"]["securitySchemes"],
        },
    }


def test_every_query_holds_to_its_published_schemas(demo_gateway: ServiceProc) -> None:
    started = time.monotonic()
    gateway = httpx.get(f"{demo_gateway.url}/schema/openapi.json", timeout=30).json()
    catalogue = httpx.get(f"{demo_gateway.url}/queries", headers=AUTH, timeout=30).json()
    assert len(catalogue) > 40
    schema = schemathesis.openapi.from_dict(
        catalogue_document(gateway, catalogue), config=_config()
    )
    findings = Findings()
    _fuzz(
        schema,
        findings,
        examples=QUERY_EXAMPLES,
        modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
        checks=[*CONFORMANCE, sc.negative_data_rejection],
        base_url=demo_gateway.url,
    )
    print(f"catalogue: {findings.summary(started)}")
    assert findings.statuses[200] > len(catalogue)  # most queries answered rows, not only 4xx
    assert not findings.lines, "\n".join(findings.lines.values())
    assert len(findings.seen) == 2 * len(catalogue)


def _resolve(document: dict[str, Any], node: Any) -> Any:
    """``node`` with every ``#/components/schemas`` reference replaced by what it names."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            target = document["components"]["schemas"][ref.removeprefix("#/components/schemas/")]
            return _resolve(document, target)
        return {k: _resolve(document, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(document, v) for v in node]
    return node


def _inline(schema: dict[str, Any]) -> Any:
    """A pydantic JSON Schema with its local ``$defs`` references replaced by what they name."""
    defs = schema.get("$defs") or {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def test_the_document_has_each_query_with_its_own_schemas(demo_gateway: ServiceProc) -> None:
    """Client generators read one typed operation per query: its body is the query's
    parameter schema and its rows are the query's row model, as ``GET /queries`` says."""
    catalogue = httpx.get(f"{demo_gateway.url}/queries", headers=AUTH, timeout=30).json()
    document = httpx.get(f"{demo_gateway.url}/schema/openapi.json", timeout=30).json()
    for entry in catalogue:
        operation = document["paths"][f"/queries/{entry['name']}"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert _resolve(document, body) == _inline(entry["parameters"]), entry["name"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        rows = _resolve(document, answer)["properties"]["rows"]["items"]
        expected = _inline(entry["row_schema"]) if entry["row_schema"] else {"type": "object"}
        assert rows == expected, entry["name"]
        assert {"403", "404", "422", "503"} <= set(operation["responses"])
        assert operation["security"] == document["paths"]["/queries/{name}"]["post"]["security"]


# -- the attacks of issue 19, and the documented answers, as plain regression tests ----------

LOOSE = [
    ("all_devices", {"managed_only": 0}, "managed_only"),
    ("devices_without_neighbors", {"managed_only": "false"}, "managed_only"),
    ("endpoints_without_location", {"vlan": False}, "vlan"),
    ("blast_radius_vlan", {"vlan": False}, "vlan"),
    ("topology_neighborhood", {"device": "hq-core-01", "depth": "2"}, "depth"),
    (
        "path_analysis",
        {"source": "10.10.10.101", "destination": "10.20.0.10", "protocol": "tcp", "port": False},
        "port",
    ),
]


#: What a loose parser takes for each JSON type, and a strict one refuses.
CONFUSABLE: dict[frozenset[str], list[Any]] = {
    frozenset({"boolean"}): [0, 1, "true", "false", None],
    frozenset({"integer"}): [True, False, "1", 1.5],
    frozenset({"integer", "null"}): [True, False, "1", 1.5],
    frozenset({"number"}): [True, "0.5"],
}


def _json_types(schema: dict[str, Any]) -> frozenset[str]:
    found: set[str] = set()
    for part in (schema, *schema.get("anyOf", ())):
        kind = part.get("type")
        found.update([kind] if isinstance(kind, str) else kind or [])
    return frozenset(found)


def test_every_published_boolean_and_integer_refuses_confusable_values(
    demo_gateway: ServiceProc,
) -> None:
    """Random fuzzing rarely sends the values a loose parser takes (0 for false, "1" for 1):
    this sends them to every boolean, integer and number parameter the catalogue publishes."""
    catalogue = httpx.get(f"{demo_gateway.url}/queries", headers=AUTH, timeout=30).json()
    accepted: list[str] = []
    checked = 0
    with httpx.Client(base_url=demo_gateway.url, headers=AUTH, timeout=30) as client:
        for entry in catalogue:
            for field, schema in entry["parameters"].get("properties", {}).items():
                for value in CONFUSABLE.get(_json_types(schema), []):
                    response = client.post(f"/queries/{entry['name']}", json={field: value})
                    checked += 1
                    fields = (
                        [e["field"] for e in problem(response).get("errors", [])]
                        if response.status_code == 422
                        else []
                    )
                    if field not in fields:
                        accepted.append(
                            f"{entry['name']} {field}={value!r}: {response.status_code}"
                        )
    assert accepted == []
    assert checked > 60


@pytest.mark.parametrize(("name", "body", "field"), LOOSE)
def test_loosely_typed_parameters_are_422_naming_them(
    demo_gateway: ServiceProc, name: str, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(f"{demo_gateway.url}/queries/{name}", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in problem(response)["errors"]}
    assert field in errors
    assert errors[field].startswith("expected ")


def test_unknown_parameters_are_422_naming_them(demo_gateway: ServiceProc) -> None:
    response = httpx.post(
        f"{demo_gateway.url}/queries/blast_radius_vlan",
        json={"vlan": 110, "managed_only": True},
        headers=AUTH,
        timeout=30,
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "managed_only", "message": "unknown parameter; accepted: vlan, depth"}
    ]


def test_query_strings_take_the_documented_spellings_only(demo_gateway: ServiceProc) -> None:
    url = f"{demo_gateway.url}/queries/all_devices"
    good = httpx.get(url, params={"managed_only": "false"}, headers=AUTH, timeout=30)
    assert good.status_code == 200, good.text
    assert any(not row["managed"] for row in good.json()["rows"])
    for spelling in ("0", "no", "False"):
        bad = httpx.get(url, params={"managed_only": spelling}, headers=AUTH, timeout=30)
        assert bad.status_code == 422, spelling
        assert problem(bad)["errors"][0]["field"] == "managed_only"
    depth = httpx.get(
        f"{demo_gateway.url}/queries/topology_neighborhood",
        params={"device": "hq-core-01", "depth": "1"},
        headers=AUTH,
        timeout=30,
    )
    assert depth.status_code == 200, depth.text


def test_chaos_simulate_depth_is_an_integer(demo_gateway: ServiceProc) -> None:
    response = httpx.post(
        f"{demo_gateway.url}/graph/chaos-simulate",
        json={"scenario_type": "device_failure", "target": "hq-core-01", "depth": True},
        headers=AUTH,
        timeout=30,
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "depth"


def test_every_path_answers_405_with_allow_for_a_method_it_lacks(
    demo_gateway: ServiceProc,
) -> None:
    """What schemathesis's unsupported-method check asks, for every path of the document:
    405 with ``Allow`` naming exactly the documented methods (and OPTIONS), and OPTIONS
    answering the same list."""
    document = httpx.get(f"{demo_gateway.url}/schema/openapi.json", timeout=30).json()
    examples = {"{name}": "all_devices", "{a}": "s1", "{b}": "s2"}
    for template, item in document["paths"].items():
        path = template
        for placeholder, value in examples.items():
            path = path.replace(placeholder, value)
        documented = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
        allowed = documented | {"OPTIONS"}
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - documented:
            response = httpx.request(method, f"{demo_gateway.url}{path}", headers=AUTH, timeout=30)
            assert response.status_code == 405, (method, path)
            assert problem(response)["status"] == 405
            assert response.headers["x-correlation-id"]
            assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
        options = httpx.options(f"{demo_gateway.url}{path}", headers=AUTH, timeout=30)
        assert options.status_code == 204, path
        assert {m.strip() for m in options.headers["allow"].split(",")} == allowed, path


def test_the_document_lists_the_refusals_of_post_queries(demo_gateway: ServiceProc) -> None:
    document = httpx.get(f"{demo_gateway.url}/schema/openapi.json", timeout=30).json()
    responses = document["paths"]["/queries/{name}"]["post"]["responses"]
    for status in ("401", "403", "413", "422", "429", "503"):
        assert list(responses[status]["content"]) == ["application/problem+json"], status


def test_the_ini_inventory_names_its_charset_once(demo_gateway: ServiceProc) -> None:
    """Found by the fuzzer: ``text/plain; charset=utf-8; charset=utf-8``."""
    response = httpx.get(
        f"{demo_gateway.url}/inventory/ansible", params={"format": "ini"}, headers=AUTH, timeout=30
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
