"""What a catalogue query is, and how one runs.

A query has a name (the contract: the REST path, the MCP tool, the RBAC resource), a category,
a parameter model (validated before anything runs; its JSON Schema is published), a row model
(the columns of one answer row; its JSON Schema is published too, and becomes the MCP tool's
output schema), the license feature that gates it, and Cypher — written once, with a
per-dialect variant only where Memgraph and LadybugDB disagree. Values reach Cypher as
parameters only. Where Cypher cannot say it portably (list comprehensions, IP arithmetic),
``post`` finishes the answer in Python.

An answer can be asked for a page at a time (``limit``, ``offset``). A query whose Cypher
ends in ``ORDER BY`` over a stable key (and returns no aggregate) is paged in the store: the
page with ``SKIP``/``LIMIT``, its size with a count of the same match. Any other answer is
worked out whole and sliced. Either way ``row_count`` is the size of the whole answer.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshq_runtime.errors import field_errors as _field_errors
from meshq_runtime.graph.store import GraphStore
from meshq_runtime.metrics_store import MetricsStore
from network_discovery.flows.store import FlowStore
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

__all__ = [
    "MAX_LIMIT",
    "MAX_OFFSET",
    "NoParams",
    "Params",
    "Query",
    "QueryContext",
    "QueryError",
    "QueryResult",
    "Row",
    "describe",
    "field_errors",
    "run_query",
    "validate_json",
    "validate_params",
]


class Params(BaseModel):
    """Base of every parameter model: strict types, no unknown names, trimmed strings.

    Parameters arrive as a JSON object and are validated as JSON, strictly: a boolean is
    ``true`` or ``false`` (never ``0``, ``1`` or ``"true"``); an integer is a JSON integer
    (``2.0`` too, which JSON Schema counts as one; never ``2.5``, a boolean or ``"2"``); a
    number is any JSON number but a boolean; a string is a string. A parameter that takes
    another spelling too (an AS number in asdot text, tags as ``a,b``) says so in its own
    validator and in its published JSON Schema. Query strings (``GET /queries/{name}?depth=3``)
    are typed by the gateway from that schema first.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _integral_numbers(cls, data: Any) -> Any:
        """``2.0`` for an integer parameter is 2: JSON has one number type."""
        if not isinstance(data, dict):
            return data
        names = _integer_fields(cls)
        return {
            k: int(v) if k in names and isinstance(v, float) and v.is_integer() else v
            for k, v in data.items()
        }


@functools.cache
def _integer_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields of ``model`` whose type is ``int`` (or ``int | None``)."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if info.annotation is int or info.annotation == int | None
    )


class NoParams(Params):
    pass


class Row(BaseModel):
    """Base of every row model: one row of a query's answer.

    Every column is always present (``None`` when unknown), so every field is required and
    a column that can be null says so in its type; a column the model does not name is an
    error. The catalogue tests run each query on the demo network and validate every row
    against the published schema, so a row model cannot drift from its Cypher.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class QueryError(Exception):
    """A request that cannot run: unknown query (404) or invalid parameters (422)."""

    def __init__(
        self, status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors or []


@dataclass
class QueryContext:
    store: GraphStore
    engine: Any = None  # the GraphEngine, for queries that write (metadata patches)
    #: Interface metrics (PostgreSQL), for the Metrics queries; None where none is configured.
    metrics: MetricsStore | None = None
    #: Flow records and rollups, for the Flows queries; None where no flow store is configured.
    flows: FlowStore | None = None
    #: Compliance runs and their history (``compliance.ComplianceService``); None where the
    #: process keeps none.
    compliance: Any = None
    #: Loaded advisories (``network_discovery.vuln.store``), for the Vulnerabilities queries;
    #: None where this process keeps none.
    vulns: Any = None
    #: Kubernetes inventories (``network_discovery.k8s.InventoryStore``), for the Kubernetes
    #: queries; None where this process keeps none.
    k8s: Any = None


#: The largest page (``limit``) and the farthest start (``offset``) an answer is asked for.
MAX_LIMIT = 10_000
MAX_OFFSET = 100_000_000

Post = Callable[[list[dict[str, Any]], Any], list[dict[str, Any]]]
Runner = Callable[[QueryContext, Any], Awaitable[list[dict[str, Any]]]]
#: The whole answer from rows kept in memory (``answers.kept``), or None to read the store.
Kept = Callable[[QueryContext, Any], list[dict[str, Any]] | None]


@dataclass(frozen=True)
class Query:
    name: str
    category: str
    summary: str
    params: type[Params] = NoParams
    #: The columns of one row of the answer (published as ``row_schema``).
    row: type[Row] | None = None
    feature: str = "api_access"
    #: Open to the Community plan through the local CLI (Topology and Inventory reads).
    community: bool = False
    cypher: str | None = None
    variants: Mapping[str, str] = field(default_factory=dict)
    post: Post | None = None
    run: Runner | None = None
    #: Asked first: the answer from rows the writer keeps in memory, or None (the store).
    kept: Kept | None = None
    writes: bool = False
    #: Where the answer's data lives: "graph", or the QueryContext handle it also reads
    #: ("metrics"); such an answer changes with time, not with the graph's revision.
    source: str = "graph"
    #: Cypher used instead when the parameter it is keyed by is set (not ``""``): the same
    #: answer with that key looked up, where ``$x = '' OR n.prop = $x`` would scan.
    keyed: Mapping[str, str] = field(default_factory=dict)

    def cypher_for(self, dialect: str, params: Mapping[str, Any] | None = None) -> str:
        for name, text in self.keyed.items():
            if params is not None and params.get(name) not in (None, ""):
                return text
        found = self.variants.get(dialect, self.cypher)
        if found is None:
            raise RuntimeError(f"query {self.name} has no Cypher for {dialect}")
        return found


@dataclass(frozen=True)
class QueryResult:
    name: str
    #: The answer, or the page of it that was asked for.
    rows: list[dict[str, Any]]
    elapsed_ms: float
    #: Rows in the whole answer (None: ``rows`` is the whole answer).
    total: int | None = None
    offset: int = 0
    limit: int | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows) if self.total is None else self.total


#: The last ``RETURN … ORDER BY …`` of a query that can be paged in the store.
_PAGEABLE = re.compile(r"^(?P<match>.*)\sRETURN\s(?P<columns>.*?)\sORDER BY\s[^()]*$", re.S)
_AGGREGATE = re.compile(r"\b(?:count|collect|sum|avg|min|max)\s*\(|\bDISTINCT\b", re.I)


def paged_cypher(text: str) -> tuple[str, str] | None:
    """(the page, the count) of a query whose answer ends in ``ORDER BY``; None when the
    answer cannot be paged in the store (no final ordering, or an aggregate in it)."""
    found = _PAGEABLE.match(text)
    if found is None or " RETURN " in f" {found['columns']} ":
        return None
    if _AGGREGATE.search(found["columns"]):
        return None
    page = f"{text} SKIP $page_skip LIMIT $page_limit"
    return page, f"{found['match']} RETURN count(*) AS page_total"


def describe(query: Query) -> dict[str, Any]:
    return {
        "name": query.name,
        "category": query.category,
        "summary": query.summary,
        "feature": query.feature,
        "community": query.community,
        "writes": query.writes,
        "parameters": query.params.model_json_schema(),
        "row_schema": query.row.model_json_schema() if query.row is not None else None,
    }


def field_errors(exc: ValidationError, allowed: list[str] | None = None) -> list[dict[str, Any]]:
    """One ``{"field", "message"}`` per failure (the service chassis' reading, naming the
    parameters the query accepts when an unknown one is sent)."""
    return _field_errors(exc, allowed=allowed or [])


M = TypeVar("M", bound=BaseModel)


def validate_json(model: type[M], raw: Any) -> M:
    """``raw`` (a decoded JSON document) as ``model``, validated as the JSON it came as (so a
    strict model takes an enumeration's text, and nothing but JSON reaches it); a
    ``ValidationError`` otherwise. A value JSON cannot hold is a ``ValueError``."""
    try:
        document = json.dumps(raw, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueError("parameters must be JSON values") from None
    return model.model_validate_json(document)


def validate_params(query: Query, raw: Mapping[str, Any]) -> Params:
    """``raw`` (a decoded JSON object) as the query's parameters, or a 422 naming each one at
    fault and what it expects."""
    try:
        return validate_json(query.params, dict(raw))
    except ValidationError as exc:
        errors = field_errors(exc, list(query.params.model_fields))
    except ValueError as exc:
        errors = [{"field": "(body)", "message": str(exc)}]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    raise QueryError(422, "Invalid parameters", detail, errors) from None


def _check_page(limit: int | None, offset: int) -> None:
    errors = []
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        errors.append({"field": "limit", "message": f"must be between 1 and {MAX_LIMIT}"})
    if not 0 <= offset <= MAX_OFFSET:
        errors.append({"field": "offset", "message": f"must be between 0 and {MAX_OFFSET}"})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise QueryError(422, "Invalid page", detail, errors)


async def run_query(
    registry: Mapping[str, Query],
    name: str,
    raw: Mapping[str, Any],
    ctx: QueryContext,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> QueryResult:
    """Run one query; with ``limit`` (and ``offset``), only that page of its answer."""
    query = registry.get(name)
    if query is None:
        raise QueryError(404, "Unknown query", f"no query named {name!r}; GET /queries lists them")
    params = validate_params(query, raw)
    _check_page(limit, offset)
    paged = limit is not None or offset > 0
    started = time.monotonic()
    total: int | None = None
    kept = query.kept(ctx, params) if query.kept is not None else None
    if kept is not None:
        rows = kept
    elif query.run is not None:
        rows = await query.run(ctx, params)
    else:
        values = params.model_dump(mode="json")
        text = query.cypher_for(ctx.store.dialect, values)
        split = paged_cypher(text) if paged and query.post is None else None
        if split is not None:
            page, count = split
            counted = await ctx.store.execute(count, values)
            total = int(counted[0]["page_total"]) if counted else 0
            if limit is not None and total > offset + limit:
                window = {"page_skip": offset, "page_limit": limit}
                rows = await ctx.store.execute(page, {**values, **window})
            else:  # the page reaches the end: the whole answer is no larger than the page
                # (and the store orders it faster without SKIP/LIMIT: 3x for a small answer)
                rows = await ctx.store.execute(text, values)
                total = len(rows)
                rows = rows[offset : None if limit is None else offset + limit]
        else:
            rows = await ctx.store.execute(text, values)
            if query.post is not None:
                rows = query.post(rows, params)
    if paged and total is None:
        total = len(rows)
        rows = rows[offset : None if limit is None else offset + limit]
    elapsed = round((time.monotonic() - started) * 1000, 3)
    if not paged:
        return QueryResult(name, rows, elapsed)
    return QueryResult(name, rows, elapsed, total=total, offset=offset, limit=limit)
