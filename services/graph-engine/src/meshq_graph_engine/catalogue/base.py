"""What a catalogue query is, and how one runs.

A query has a name (the contract: the REST path, the MCP tool, the RBAC resource), a category,
a parameter model (validated before anything runs; its JSON Schema is published), a row model
(the columns of one answer row; its JSON Schema is published too, and becomes the MCP tool's
output schema), the license feature that gates it, and Cypher — written once, with a
per-dialect variant only where Memgraph and LadybugDB disagree. Values reach Cypher as
parameters only. Where Cypher cannot say it portably (list comprehensions, IP arithmetic),
``post`` finishes the answer in Python.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from meshq_runtime.errors import field_errors as _field_errors
from meshq_runtime.graph.store import GraphStore
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

__all__ = [
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


Post = Callable[[list[dict[str, Any]], Any], list[dict[str, Any]]]
Runner = Callable[[QueryContext, Any], Awaitable[list[dict[str, Any]]]]


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
    writes: bool = False

    def cypher_for(self, dialect: str) -> str:
        text = self.variants.get(dialect, self.cypher)
        if text is None:
            raise RuntimeError(f"query {self.name} has no Cypher for {dialect}")
        return text


@dataclass(frozen=True)
class QueryResult:
    name: str
    rows: list[dict[str, Any]]
    elapsed_ms: float


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


async def run_query(
    registry: Mapping[str, Query], name: str, raw: Mapping[str, Any], ctx: QueryContext
) -> QueryResult:
    query = registry.get(name)
    if query is None:
        raise QueryError(404, "Unknown query", f"no query named {name!r}; GET /queries lists them")
    params = validate_params(query, raw)
    started = time.monotonic()
    if query.run is not None:
        rows = await query.run(ctx, params)
    else:
        rows = await ctx.store.execute(
            query.cypher_for(ctx.store.dialect), params.model_dump(mode="json")
        )
        if query.post is not None:
            rows = query.post(rows, params)
    return QueryResult(name, rows, round((time.monotonic() - started) * 1000, 3))
