"""Paging: a page of an answer is that slice of the whole answer, whether the store pages it
(a query whose Cypher ends in ORDER BY) or the whole answer is sliced; ``row_count`` is the size
of the whole answer; bounds are refused."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import GraphHolder, load_cases
from meshq_graph_engine.catalogue import REGISTRY, QueryError, run_query
from meshq_graph_engine.catalogue.base import MAX_LIMIT, paged_cypher

CASES = load_cases()


def _answered() -> list[Any]:
    """One case with rows per query that answers (not one that writes)."""
    out = []
    for query, cases in sorted(CASES.items()):
        if REGISTRY[query].writes:
            continue
        case = max((c for c in cases if "rows" in c), key=lambda c: len(c["rows"]), default=None)
        if case is not None:
            out.append(pytest.param(query, case, id=f"{query}[{case['name']}]"))
    return out


@pytest.mark.parametrize(("query", "case"), _answered())
async def test_a_page_is_a_slice_of_the_answer(
    graphs: GraphHolder, query: str, case: dict[str, Any]
) -> None:
    graph = await graphs.get()
    whole = case["rows"]
    for limit, offset in ((1, 0), (2, 1), (3, len(whole) - 1), (MAX_LIMIT, 0), (5, len(whole))):
        offset = max(offset, 0)
        page = await run_query(
            REGISTRY, query, case["params"], graph.ctx, limit=limit, offset=offset
        )
        assert page.rows == whole[offset : offset + limit], (query, limit, offset)
        assert page.row_count == len(whole)
        assert (page.offset, page.limit) == (offset, limit)
    rest = await run_query(REGISTRY, query, case["params"], graph.ctx, offset=1)
    assert rest.rows == whole[1:] and rest.row_count == len(whole)


def test_ordered_queries_are_paged_in_the_store() -> None:
    paged = {
        name
        for name, q in REGISTRY.items()
        if q.cypher is not None and q.post is None and paged_cypher(q.cypher) is not None
    }
    assert {
        "all_devices",
        "topology_edges",
        "device_neighbors",
        "devices_without_neighbors",
        "interfaces_no_description",
    } <= paged
    for name in paged:
        for text in (REGISTRY[name].cypher, *REGISTRY[name].keyed.values()):
            assert text is not None and paged_cypher(text) is not None, name


def test_unordered_or_aggregated_cypher_is_not_paged_in_the_store() -> None:
    assert paged_cypher("MATCH (d:Device) RETURN d.id AS device") is None
    assert paged_cypher("MATCH (d:Device) RETURN count(d) AS n ORDER BY n") is None
    assert paged_cypher("MATCH (d:Device) RETURN DISTINCT d.site AS s ORDER BY s") is None
    page, count = paged_cypher("MATCH (d:Device) WHERE d.x = 1 RETURN d.id AS a ORDER BY a") or (
        "",
        "",
    )
    assert page.endswith("ORDER BY a SKIP $page_skip LIMIT $page_limit")
    assert count == "MATCH (d:Device) WHERE d.x = 1 RETURN count(*) AS page_total"


@pytest.mark.parametrize(
    ("limit", "offset"), [(0, 0), (MAX_LIMIT + 1, 0), (-1, 0), (10, -1), (10, 10**9)]
)
async def test_out_of_bounds_pages_are_refused(
    graphs: GraphHolder, limit: int, offset: int
) -> None:
    graph = await graphs.get()
    with pytest.raises(QueryError) as raised:
        await run_query(REGISTRY, "all_devices", {}, graph.ctx, limit=limit, offset=offset)
    assert raised.value.status == 422
