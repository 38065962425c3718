"""``/queries``: the catalogue this caller may see, and running one query (forwarded to
graph-engine), behind license gates and RBAC, with a row limit and cursor for large answers."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypedDict

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from meshq_runtime.http import ProblemError

from meshq_query_gateway.answer_cache import Revision
from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, Gateway, authorize, principal
from meshq_query_gateway.openapi import problems

__all__ = ["ROUTES", "query_string_params"]

#: How many rows an audit event carries as a sample.
SAMPLE_ROWS = 5
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
_PAGING = ("limit", "cursor")

Limit = Annotated[
    int | None,
    QueryParameter(ge=1, le=MAX_LIMIT, description=f"Rows per page (default {DEFAULT_LIMIT})."),
]
Cursor = Annotated[
    str | None, QueryParameter(max_length=200, description="next_cursor of the previous page.")
]


class QueryAnswer(TypedDict):
    """A query's answer: one page of its rows (each shaped as the query's ``row_schema`` in
    ``GET /queries`` says), how many rows it has in all, and the cursor of the next page."""

    query: str
    rows: list[dict[str, Any]]
    row_count: int
    elapsed_ms: float
    offset: int
    next_cursor: str | None


@get("/queries", tags=["queries"], opt=problems(403, 502, 503))
async def list_queries(request: Request[Any, Any, Any], deps: Deps) -> list[dict[str, Any]]:
    """The query catalogue this caller may see, each with the JSON Schema of its parameters."""
    gw, who = deps, principal(request)
    gw.gate.community_only(who)  # refuses callers without api_access up front
    return [
        q
        for q in await gw.catalogue()
        if gw.gate.visible(who, q) and gw.permits(who, "list", str(q.get("name")))
    ]


def _offset(cursor: str | None, name: str) -> int:
    if not cursor:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
        offset = int(raw["o"])
        if raw.get("q") != name or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ProblemError(
            400,
            "Invalid cursor",
            "cursor is not a next_cursor this query returned",
            errors=[{"field": "cursor", "message": "unknown cursor"}],
        ) from None
    return offset


def _cursor(name: str, offset: int) -> str:
    raw = json.dumps({"q": name, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_INTEGER = re.compile(r"^[+-]?[0-9]{1,20}$")
_NUMBER = re.compile(
    r"^[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][+-]?[0-9]{1,3})?$"
)


def _types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a parameter's schema allows (``type``, or each ``anyOf``/``oneOf``)."""
    found: set[str] = set()
    for part in (schema, *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if isinstance(kind, str):
            found.add(kind)
        elif isinstance(kind, list):
            found.update(k for k in kind if isinstance(k, str))
    return found


def _from_text(text: str, types: set[str]) -> Any:
    """One query-string value as the JSON value its schema takes: ``true``/``false`` for a
    boolean, decimal digits for an integer, a decimal for a number; anything else stays text
    (and the strict parameter check names it when text is not what the parameter takes)."""
    if "boolean" in types and text in ("true", "false"):
        return text == "true"
    if "integer" in types and _INTEGER.match(text):
        return int(text)
    if "number" in types and _NUMBER.match(text) and math.isfinite(float(text)):
        return float(text)
    return text


def query_string_params(
    schema: Mapping[str, Any], pairs: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """``GET /queries/{name}?k=v``: the pairs typed by the query's published parameter schema.
    A name given twice is a list (a list parameter, or a 422 for any other)."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key not in _PAGING:
            grouped.setdefault(key, []).append(value)
    out: dict[str, Any] = {}
    for key, values in grouped.items():
        prop = properties.get(key)
        types = _types(prop) if isinstance(prop, Mapping) else set()
        typed = [_from_text(v, types) for v in values]
        out[key] = typed[0] if len(typed) == 1 else typed
    return out


async def _run(
    gw: Gateway,
    name: str,
    params: dict[str, Any],
    request: Request[Any, Any, Any],
    limit: int | None,
    cursor: str | None,
    *,
    query_string: bool = False,
) -> QueryAnswer:
    note = audit_note(request)
    note.query, note.params = name, params
    who = principal(request)
    gw.gate.community_only(who)
    entry = await gw.query(name)
    if query_string:
        schema = entry.get("parameters")
        params = query_string_params(
            schema if isinstance(schema, Mapping) else {}, request.query_params.multi_items()
        )
        note.params = params
    gw.gate.require_query(who, entry)
    authorize(gw, who, "execute", name)
    offset = _offset(cursor, name)
    size = limit or DEFAULT_LIMIT
    # only after the gates, RBAC and the rate limit: a cached answer is served to whoever may
    # run the query, and audited like any other
    result, cached = await _answer(
        gw, name, params, entry, offset=offset, size=size, on_behalf=who.name
    )
    note.cached = cached
    rows = result.get("rows", [])
    if not isinstance(rows, list):
        rows = []
    total = result.get("row_count", len(rows))
    total = int(total) if isinstance(total, int) and not isinstance(total, bool) else len(rows)
    if "offset" in result:  # graph-engine paged: ``rows`` is the page, ``row_count`` the total
        page = rows[:size]
        following = offset + len(page)
        more = bool(page) and following < total
    else:  # a graph-engine that answers every row: the page is cut here
        page = rows[offset : offset + size]
        following = offset + size
        more = following < len(rows)
    note.row_count = total
    note.sample_rows = page[:SAMPLE_ROWS]
    return QueryAnswer(
        query=str(result.get("query", name)),
        rows=page,
        row_count=total,
        elapsed_ms=float(result.get("elapsed_ms", 0.0)),
        offset=offset,
        next_cursor=_cursor(name, following) if more else None,
    )


async def _answer(
    gw: Gateway,
    name: str,
    params: dict[str, Any],
    entry: Mapping[str, Any],
    *,
    offset: int,
    size: int,
    on_behalf: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """graph-engine's answer for one page, from the answer cache when the query may be cached
    and the page is there; ``(answer, cached)``."""
    cache = gw.cache
    # only queries that change nothing and whose answers depend on the graph alone
    cacheable = cache is not None and entry.get("writes") is False and entry.get("cacheable", True)
    if cacheable:
        assert cache is not None
        key = cache.key(name, params, offset=offset, limit=size)
        if key is not None:
            hit = await cache.get(key)
            if hit is not None:
                return hit, True
    hop = gw.hop_for(name)
    if hop is None:  # the lifespan has not built it
        raise ProblemError(503, "Starting", "the gateway is not ready to run queries yet")
    # the services besides graph-engine learn who the query runs for (an acknowledgement
    # records it)
    answer = await hop.run(
        name, params, offset=offset, limit=size, on_behalf=on_behalf if hop is not gw.hop else None
    )
    if cache is not None and hop is gw.hop:
        revision = Revision.parse(answer.body.get("revision"), answer.body.get("revision_at"))
        cache.learn(revision, via="answer")
        if cacheable:
            cache.put(
                name,
                params,
                offset=offset,
                limit=size,
                revision=revision,
                raw=answer.raw,
                answer=answer.body,
            )
    return answer.body, False


@post(
    "/queries/{name:str}",
    tags=["queries"],
    status_code=200,
    opt=problems(400, 403, 404, 413, 422, 502, 503),
)
async def execute_query(
    name: FromPath[str],
    request: Request[Any, Any, Any],
    deps: Deps,
    data: JSONBody[dict[str, Any] | None] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> QueryAnswer:
    """Run a named query; the JSON body holds its parameters. Answers 200."""
    return await _run(deps, name, data or {}, request, limit, cursor)


@get("/queries/{name:str}", tags=["queries"], opt=problems(400, 403, 404, 422, 502, 503))
async def execute_query_get(
    name: FromPath[str],
    request: Request[Any, Any, Any],
    deps: Deps,
    limit: Limit = None,
    cursor: Cursor = None,
) -> QueryAnswer:
    """Run a named query with its parameters in the query string: ``true``/``false`` for a
    boolean, decimal digits for an integer, text for the rest (``tags=a,b`` for a list)."""
    params = {k: v for k, v in request.query_params.items() if k not in _PAGING}
    return await _run(deps, name, params, request, limit, cursor, query_string=True)


ROUTES = [list_queries, execute_query, execute_query_get]
