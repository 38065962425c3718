"""Every query's row model against what the query really answers.

Each query runs on the bundled demo network (with the arguments below) and on the fixture
network (with every case of ``tests/fixtures/graph/expected``); every row must validate against
the row model and against the JSON Schema the catalogue publishes (what an MCP client checks),
and every query must answer rows at least once, so the schemas cannot drift from the Cypher.
A new query needs a row model, and arguments here when it needs some to answer on the demo
network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Graph, build_graph, load_cases
from jsonschema import Draft202012Validator
from meshq_graph_engine.catalogue import REGISTRY, Query, QueryError, describe, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery import demo
from pydantic import ValidationError
from support.demo_cases import demo_cases
from support.firewall_fixture import FIREWALL_CASES, firewall_snapshot


async def _demo_graph(path: Path, snapshot: Any = None) -> Graph:
    store = EmbeddedStore(path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(snapshot or demo.load_snapshot())
    return Graph("ladybug", store, engine)


@pytest.fixture(scope="module")
async def networks(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Graph]]:
    built = {
        "demo": await _demo_graph(tmp_path_factory.mktemp("demo")),
        "fixture": await build_graph("ladybug", tmp_path_factory.mktemp("fixture")),
        "firewall": await _demo_graph(tmp_path_factory.mktemp("firewall"), firewall_snapshot()),
    }
    yield built
    for graph in built.values():
        await graph.store.close()


def _cases(network: str, query: Query) -> list[dict[str, Any]]:
    if network == "demo":
        return demo_cases(query.name, query.params.model_json_schema())
    if network == "firewall":
        return FIREWALL_CASES.get(query.name, [])
    return [case["params"] for case in load_cases().get(query.name, []) if "rows" in case]


def _problems(query: Query, rows: list[dict[str, Any]], where: str) -> list[str]:
    assert query.row is not None
    schema = describe(query)["row_schema"]
    validator = Draft202012Validator(schema)
    out = []
    for row in rows:
        wire = json.loads(json.dumps(row))  # what the gateway sends
        for error in validator.iter_errors(wire):
            out.append(f"{where}: schema: {error.json_path}: {error.message}")
        try:
            query.row.model_validate(row)
        except ValidationError as exc:
            out.append(f"{where}: model: {exc.errors(include_url=False)}")
    return out


def test_every_query_has_a_row_model_and_publishes_its_schema() -> None:
    missing = sorted(name for name, q in REGISTRY.items() if q.row is None)
    assert not missing, (
        f"queries without a row model: {missing}; give each Query(row=...) a Row subclass "
        "(catalogue/base.py) naming every column it returns"
    )
    for query in REGISTRY.values():
        schema = describe(query)["row_schema"]
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert set(schema["required"]) == set(schema["properties"]), query.name


async def test_every_row_of_every_query_matches_its_row_model(
    networks: dict[str, Graph],
) -> None:
    problems: list[str] = []
    answered: dict[str, int] = dict.fromkeys(REGISTRY, 0)
    # Reads first, then the writes, so a write cannot change what a read sees.
    ordered = sorted(REGISTRY.values(), key=lambda q: (q.writes, q.name))
    for network, graph in networks.items():
        for query in ordered:
            if query.row is None or query.source != "graph":
                continue  # data outside the graph: rows checked against the real store
            for args in _cases(network, query):
                where = f"{query.name} on {network} with {args}"
                try:
                    rows = (await run_query(REGISTRY, query.name, args, graph.ctx)).rows
                except QueryError as exc:
                    problems.append(f"{where}: refused: {exc.detail}")
                    continue
                answered[query.name] += len(rows)
                problems.extend(_problems(query, rows, where))
    silent = sorted(
        name
        for name, n in answered.items()
        if n == 0 and REGISTRY[name].row and REGISTRY[name].source == "graph"
    )
    assert not silent, (
        f"{silent} answered no rows on the demo or fixture network, so their row models are "
        "unchecked: add arguments that find rows to tests/support/demo_cases.py"
    )
    assert not problems, "\n".join(problems)


def test_a_drifted_row_is_caught() -> None:
    """The check above fails when a column is missing, extra, or of the wrong type."""
    query = REGISTRY["summary_stats"]
    good = {name: 0 for name in query.row.model_fields} | {"site": None}  # type: ignore[union-attr]
    assert _problems(query, [good], "good") == []
    assert _problems(query, [{**good, "extra": 1}], "extra")
    assert _problems(query, [{k: v for k, v in good.items() if k != "links"}], "missing")
    assert _problems(query, [{**good, "devices": "31"}], "type")
    assert _problems(query, [{**good, "devices": None}], "null")
