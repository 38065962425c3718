"""MCP tools generated from the gateway's query catalogue, and how a call runs."""

from __future__ import annotations

import copy
import json
from typing import Any

from mcp import types

from network_discovery.mcp._gateway import Credential, Gateway, GatewayError

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "ToolError", "call_tool", "compact", "tool_from_query"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

#: What every list answer holds besides its rows (see ``shape_answer``).
_ANSWER: dict[str, Any] = {
    "query": {"type": "string", "description": "The query that answered."},
    "row_count": {"type": "integer", "minimum": 0, "description": "Rows in this answer."},
    "total": {"type": "integer", "minimum": 0, "description": "Rows the query found."},
    "offset": {"type": "integer", "minimum": 1, "description": "Rows skipped before these."},
    "truncated": {"const": True, "description": "Present when rows were left out."},
    "hint": {"type": "string", "description": "How to get the rows left out."},
    "next_cursor": {"type": "string", "description": "Pass as cursor for the next rows."},
    "elapsed_ms": {"type": "number", "minimum": 0},
}
_ANSWERED = ["query", "rows", "row_count", "total"]
#: What a write answers without confirm=true (see ``_dry_run``).
_DRY_RUN: dict[str, Any] = {
    "dry_run": {"const": True, "description": "Nothing was changed."},
    "would_send": {"type": "object", "description": "The change confirm=true would apply."},
    "current": {"type": "object", "description": "The values the change would replace."},
}


class ToolError(Exception):
    """A call that cannot be answered; the message goes to the model as a tool error."""


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def single(query: dict[str, Any]) -> bool:
    """A query that answers one object (an acknowledgement), not a list of rows: its tool
    takes only the query's own arguments and answers that object as it is."""
    return query.get("answer") == "object"


def own_arguments(query: dict[str, Any]) -> set[str]:
    """The arguments this layer adds to a query (never one the query already has)."""
    if single(query):
        return set()
    taken = set((query.get("parameters") or {}).get("properties", {}))
    return {"confirm"} - taken if query.get("writes") else {"limit", "fields", "cursor"} - taken


def output_schema(query: dict[str, Any]) -> dict[str, Any]:
    """The schema of what the tool answers: the rows (typed by the query's published row
    schema) inside the list envelope, or for a write also the dry-run answer."""
    if single(query):
        published = query.get("row_schema")
        if isinstance(published, dict) and published.get("type") == "object":
            return copy.deepcopy(published)
        return {"type": "object"}
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
    row: dict[str, Any] = {"type": "object"}
    published = query.get("row_schema")
    if isinstance(published, dict) and published.get("type") == "object":
        row = copy.deepcopy(published)
        row.pop("required", None)  # `fields` keeps only the columns asked for
        if "$defs" in row:  # refs point at #/$defs: hoist them to the root
            schema["$defs"] = row.pop("$defs")
    properties = {**copy.deepcopy(_ANSWER), "rows": {"type": "array", "items": row}}
    if query.get("writes"):
        properties.update(copy.deepcopy(_DRY_RUN))
        schema["anyOf"] = [
            {"required": _ANSWERED},
            {"required": ["query", "dry_run", "would_send", "hint"]},
        ]
    else:
        schema["required"] = _ANSWERED
    schema["properties"] = properties
    return schema


def tool_from_query(query: dict[str, Any]) -> types.Tool:
    """One catalogue entry as an MCP tool: schema, description and annotations."""
    writes = bool(query.get("writes"))
    schema = copy.deepcopy(query.get("parameters") or {"type": "object", "properties": {}})
    schema.setdefault("type", "object")
    props = schema.setdefault("properties", {})
    schema.pop("title", None)
    own = own_arguments(query)
    if "confirm" in own:
        props["confirm"] = {
            "type": "boolean",
            "default": False,
            "description": "true applies the change; false (the default) only shows it (dry run).",
        }
    if "limit" in own:
        props["limit"] = {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIMIT,
            "default": DEFAULT_LIMIT,
            "description": f"At most this many rows (default {DEFAULT_LIMIT}); the answer "
            "says the total and hints when it was cut.",
        }
    if "cursor" in own:
        props["cursor"] = {
            "type": "string",
            "maxLength": 200,
            "description": "next_cursor from a previous answer of this tool: the next rows.",
        }
    if "fields" in own:
        props["fields"] = {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "description": "Only these columns of each row; all columns when absent.",
        }
    summary = str(query.get("summary") or query["name"]).strip()
    gate = query.get("feature") or "api_access"
    if single(query):
        extra = "Records what it is asked and answers one object."
    elif writes:
        extra = "Changes data: without confirm=true it only answers what it would change."
    else:
        extra = f"Read-only. Answers rows (limit {DEFAULT_LIMIT} by default; use fields to trim)."
    category = query.get("category", "Other")
    description = f"{summary} {extra} Category: {category}; plan flag: {gate}."
    return types.Tool(
        name=query["name"],
        title=str(query["name"]).replace("_", " ").capitalize(),
        description=description,
        inputSchema=schema,
        outputSchema=output_schema(query),
        annotations=types.ToolAnnotations(
            readOnlyHint=not writes,
            destructiveHint=writes and not single(query),
            idempotentHint=True,
            openWorldHint=False,
        ),
    )


def _select(rows: list[Any], fields: list[str] | None) -> list[Any]:
    if not fields:
        return rows
    known: set[str] = set()
    for row in rows:
        if isinstance(row, dict):
            known.update(row)
    unknown = [f for f in fields if f not in known]
    if rows and unknown:
        raise ToolError(
            f"unknown field(s) {', '.join(unknown)}; the rows have: {', '.join(sorted(known))}"
        )
    return [{f: row.get(f) for f in fields} if isinstance(row, dict) else row for row in rows]


def shape_answer(answer: Any, limit: int, fields: list[str] | None) -> dict[str, Any]:
    """Cut the gateway's answer to ``limit`` rows and the chosen ``fields``.

    ``total`` is every row the query found: the gateway's ``row_count`` (which counts all
    rows, not just this page), or the rows received when it does not say.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("rows"), list):
        raise ToolError("the gateway answered without rows; is MESHOPTIXIQ_API_URL a gateway?")
    rows = answer["rows"]
    counted = answer.get("row_count")
    raw_offset = answer.get("offset")
    offset = raw_offset if isinstance(raw_offset, int) else 0
    total = counted if isinstance(counted, int) and counted >= len(rows) else offset + len(rows)
    kept = _select(rows[:limit], fields)
    out: dict[str, Any] = {"query": answer.get("query", ""), "rows": kept}
    out["row_count"] = len(kept)
    out["total"] = total
    if offset:
        out["offset"] = offset
    if total > offset + len(kept):
        out["truncated"] = True
        shown = f"rows {offset + 1}-{offset + len(kept)}" if kept else "no rows"
        hint = f"showing {shown} of {total}; "
        cursor = answer.get("next_cursor") if len(kept) == len(rows) else None
        if cursor:
            out["next_cursor"] = cursor
            hint += "pass cursor=next_cursor for the next rows, "
        hint += (
            f"raise limit (max {MAX_LIMIT}), narrow the query with its parameters, "
            "or pass fields to keep only the columns you need"
        )
        out["hint"] = hint
    if "elapsed_ms" in answer:
        out["elapsed_ms"] = answer["elapsed_ms"]
    return out


async def _dry_run(
    gateway: Gateway, query: dict[str, Any], params: dict[str, Any], credential: Credential
) -> dict[str, Any]:
    """What a write would change, without changing it."""
    out: dict[str, Any] = {"query": query["name"], "dry_run": True, "would_send": params}
    device = params.get("device")
    if isinstance(device, str) and device:
        answer = await gateway.run("all_devices", {"managed_only": False}, credential, limit=10_000)
        rows = answer.get("rows", []) if isinstance(answer, dict) else []
        match = next(
            (r for r in rows if str(r.get("device", "")).lower() == device.lower()),
            None,
        )
        if match is None:
            raise ToolError(
                f"{query['name']}: no device {device!r} in the inventory; all_devices lists them"
            )
        changing = {k: v for k, v in params.items() if k not in {"device", "clear"}}
        out["current"] = {k: match.get(k) for k in (*changing, *params.get("clear", []))}
        out["current"]["device"] = match.get("device")
    out["hint"] = "nothing changed; call again with confirm=true to apply"
    return out


async def call_tool(
    gateway: Gateway, name: str, arguments: dict[str, Any], credential: Credential
) -> tuple[list[types.TextContent], dict[str, Any]]:
    """Run one tool call against the gateway; raises ToolError with a message for the model."""
    try:
        state = await gateway.license(credential)
        if state.denied:
            raise ToolError(
                f"the {state.plan} plan does not include the mcp_server feature, which MCP tools "
                "need (Pro or Enterprise); `meshq license info` shows the plan"
            )
        catalogue = {q["name"]: q for q in await gateway.catalogue(credential)}
        query = catalogue.get(name)
        if query is None:
            raise ToolError(f"no tool named {name!r}; tools/list names every tool")
        own = own_arguments(query)
        params = {k: v for k, v in arguments.items() if k not in own}
        if single(query):
            answer = await gateway.run(name, params, credential)
            rows = answer.get("rows") if isinstance(answer, dict) else None
            if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
                raise ToolError(f"{name}: the gateway answered no object")
            result = rows[0]
        elif query.get("writes"):
            if "confirm" in own and arguments.get("confirm") is not True:
                result = await _dry_run(gateway, query, params, credential)
            else:
                result = shape_answer(await gateway.run(name, params, credential), MAX_LIMIT, None)
        else:
            limit = int(arguments.get("limit") or DEFAULT_LIMIT) if "limit" in own else MAX_LIMIT
            limit = max(1, min(limit, MAX_LIMIT))
            fields = (arguments.get("fields") or None) if "fields" in own else None
            cursor = (arguments.get("cursor") or None) if "cursor" in own else None
            answer = await gateway.run(name, params, credential, limit=limit, cursor=cursor)
            result = shape_answer(answer, limit, fields)
    except GatewayError as exc:
        raise ToolError(str(exc)) from exc
    return [types.TextContent(type="text", text=compact(result))], result
