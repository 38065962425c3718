"""The query catalogue in the gateway's OpenAPI document: one operation per query.

``POST /queries/{name}`` is one route, but each query has its own parameters and its own row
shape. The document served at ``/schema/openapi.json`` therefore also lists every query the
graph engine's catalogue holds as a concrete path (``POST /queries/all_devices``), whose request
body is the query's parameter schema and whose answer's ``rows`` are items of the query's row
model (the same schemas ``GET /queries`` publishes and MCP tools give as output schemas). A
client generator thus makes one typed method per query.

The catalogue comes from the graph engine; the document shows the one the gateway last read
(it reads it at start and every ``catalogue_ttl`` seconds while it serves queries). Until it
has read one, the document has the generic route only.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

__all__ = ["CatalogueJson", "with_queries"]

#: What a component name may hold (OpenAPI 3.1, ``components.schemas`` keys).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_TEMPLATE = "/queries/{name}"


def _component(*parts: str) -> str:
    return ".".join(_UNSAFE.sub("_", part) for part in parts)


def _hoist(
    schema: Mapping[str, Any], owner: str, kind: str, schemas: dict[str, Any]
) -> dict[str, Any]:
    """``schema`` (a JSON Schema with local ``$defs``) as a component reference; its
    definitions become components of their own, named after ``owner``, and every
    ``#/$defs/X`` reference points at them."""
    body = copy.deepcopy(dict(schema))
    defs = body.pop("$defs", None) or {}
    names = {name: _component(owner, kind, name) for name in defs}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                    target = names.get(value.removeprefix("#/$defs/"))
                    out[key] = f"#/components/schemas/{target}" if target else value
                else:
                    out[key] = rewrite(value)
            return out
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    for name, definition in defs.items():
        schemas[names[name]] = rewrite(definition)
    own = _component(owner, kind)
    schemas[own] = rewrite(body)
    return {"$ref": f"#/components/schemas/{own}"}


def _answer(document: Mapping[str, Any], rows: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The generic answer schema, its ``rows`` items shaped as one query's rows."""
    generic = (document.get("components") or {}).get("schemas", {}).get("QueryAnswer")
    if not isinstance(generic, Mapping):
        return None
    answer = copy.deepcopy(dict(generic))
    answer.pop("title", None)
    props = answer.setdefault("properties", {})
    props["rows"] = {"type": "array", "items": rows if rows is not None else {"type": "object"}}
    return answer


def with_queries(
    document: Mapping[str, Any], catalogue: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A copy of ``document`` with one ``POST /queries/<name>`` operation per catalogue entry
    (``document`` itself is left as it is)."""
    templates = (document.get("paths") or {}).get(_TEMPLATE, {})
    if not isinstance(templates, Mapping) or "post" not in templates or not catalogue:
        return dict(document)
    out = dict(document)
    paths = dict(out.get("paths") or {})
    components = dict(out.get("components") or {})
    schemas = dict(components.get("schemas") or {})
    for entry in catalogue:
        name = entry.get("name")
        if not isinstance(name, str) or not name or _UNSAFE.search(name):
            continue  # a name that is no safe path segment is reached through the template
        params = entry.get("parameters")
        body = _hoist(params, name, "Parameters", schemas) if isinstance(params, Mapping) else None
        row = entry.get("row_schema")
        rows = _hoist(row, name, "Row", schemas) if isinstance(row, Mapping) else None
        answer = _answer(document, rows)
        item: dict[str, Any] = {}
        for method, template in templates.items():
            if method not in ("get", "post") or not isinstance(template, Mapping):
                continue
            operation = copy.deepcopy(dict(template))
            operation["operationId"] = f"query_{name}" if method == "post" else f"query_{name}_get"
            operation["summary"] = str(entry.get("summary") or name)
            operation["description"] = _description(entry, name, method)
            paging = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
            if method == "post":
                operation["parameters"] = paging
                if body is not None:
                    operation["requestBody"] = {
                        "content": {"application/json": {"schema": body}},
                        "required": False,
                    }
            else:
                operation["parameters"] = paging + _query_string(body, schemas)
            ok = (operation.get("responses") or {}).get("200")
            if answer is not None and isinstance(ok, dict):
                ok["content"] = {"application/json": {"schema": answer}}
            item[method] = operation
        paths[f"/queries/{name}"] = item
    components["schemas"] = schemas
    out["paths"], out["components"] = paths, components
    return out


def _description(entry: Mapping[str, Any], name: str, method: str) -> str:
    how = (
        "Parameters in the JSON body."
        if method == "post"
        else "Parameters in the query string: true/false for a boolean, decimal digits for "
        "an integer, a name given twice for a list."
    )
    needs = f"RBAC 'execute' on {name!r}"
    if entry.get("feature"):
        needs = f"the plan feature {entry.get('feature')!r} and {needs}"
    return f"Run the query {name} (category {entry.get('category')}); needs {needs}. {how}"


def _query_string(
    body: Mapping[str, Any] | None, schemas: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One query-string parameter per property of the hoisted parameter schema."""
    if body is None:
        return []
    target = schemas.get(str(body.get("$ref", "")).removeprefix("#/components/schemas/"), {})
    properties = target.get("properties") or {}
    required = set(target.get("required") or ())
    return [
        {"name": key, "in": "query", "required": key in required, "schema": schema}
        for key, schema in properties.items()
        if key not in ("limit", "cursor")
    ]


class CatalogueJson(JsonRenderPlugin):
    """``/schema/openapi.json`` with the catalogue's queries (:func:`with_queries`), from the
    catalogue the gateway holds; when it holds none yet, it asks for one in the background."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        from meshq_query_gateway.context import gateway

        try:
            gw = gateway(request.app.state)
        except Exception:  # before the lifespan has run: the generic document
            return self.render_json(request, openapi_schema)
        known = gw.known_catalogue()
        if known is None:
            task = asyncio.get_running_loop().create_task(gw.catalogue())
            task.add_done_callback(_quiet)
            return self.render_json(request, openapi_schema)
        return self.render_json(request, with_queries(openapi_schema, known))


def _quiet(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # read, so an unreachable graph engine is not logged as unhandled
