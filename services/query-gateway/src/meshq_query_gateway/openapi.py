"""The gateway's OpenAPI document, truthful about errors.

Every refusal is ``application/problem+json`` (RFC 9457). The statuses an operation can answer
come from two places, and the document lists both:

- what its handler refuses, declared on the route's decorator with :func:`problems`
  (``opt=problems(400, 403, 404, 413, 422)``): malformed input, plan and RBAC refusals,
  unknown names, invalid parameters, the graph engine failing or away;
- what the middleware in front of every non-public route answers before any handler runs, added
  here to every such operation: 401 (no or bad credential, with ``WWW-Authenticate``), 429 (a
  limit ``MESHQ_RATE_LIMITS`` sets on the route, with ``Retry-After``) and 503 (the audit buffer
  is full: the gateway fails closed, with ``Retry-After``).

A method a path does not have is answered 405 with ``Allow`` (``meshq_runtime.http``); that
is no operation of the document, so it is said once, in the document's description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Litestar
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute
from meshq_runtime.http import CORRELATION_HEADER, PROBLEM_JSON

from meshq_query_gateway.auth import is_public

__all__ = ["MIDDLEWARE_STATUSES", "PROBLEM_STATUSES", "complete", "problems"]

#: What each status means, wherever it is answered.
PROBLEM_STATUSES: dict[int, str] = {
    400: "Malformed request: the body is not a JSON object (or not JSON at all), or a "
    "query-string parameter of the route itself (limit, cursor, format) is invalid; "
    "`errors` names it.",
    401: "No credential, or one that is not valid: send X-API-Key (or, with AUTH_MODE oidc "
    "or both, Authorization: Bearer <token>).",
    403: "Refused: the plan lacks the feature (`feature`, `plan`, `plans`), the caller's roles "
    "do not grant the verb (`verb`, `resource`), or the route is for the admin only.",
    404: "Nothing of that name: no such query, snapshot or target (`field` names it).",
    409: "Conflict with the installation's configuration (no RBAC policy file).",
    415: "The body's Content-Type or Content-Encoding is not one this route reads.",
    413: "The body is larger than MESHQ_GATEWAY_MAX_BODY_BYTES; refused before it is read.",
    422: "Invalid parameters: `errors` holds one {field, message} per parameter at fault, "
    "saying what it expects (a wrong type, out of range, unknown, malformed).",
    429: "Over the rate limit MESHQ_RATE_LIMITS sets for this route and caller "
    "(`route`, `limit`, `period_seconds`, `retry_after`); retry after Retry-After seconds.",
    502: "The graph engine failed to answer this request.",
    503: "Unavailable: the audit log cannot take the event (the gateway refuses rather than "
    "serve a call it cannot audit; Retry-After), or the graph engine does not answer.",
}

#: Answered by the middleware in front of every non-public route.
MIDDLEWARE_STATUSES = (401, 429, 503)

#: The route ``opt`` keys this module reads (``meshq_runtime.http`` sets the first on /ready).
_OPT_KEY = "problems"
_ALSO_KEY = "also_returns"
_BODY_KEY = "request_body"


def problems(
    *statuses: int,
    described: Mapping[int, str] | None = None,
    also_returns: Iterable[str] = (),
    body: str | None = None,
) -> dict[str, Any]:
    """A route decorator's ``opt``: the statuses its handler answers with a problem (described
    as :data:`PROBLEM_STATUSES` says, or as ``described`` says for this route), and any media
    type its success answer has besides JSON (``also_returns=["text/plain"]``)."""
    unknown = [s for s in statuses if s not in PROBLEM_STATUSES]
    if unknown:
        raise ValueError(f"no description for status {unknown}: add it to PROBLEM_STATUSES")
    table: dict[int, str | None] = dict.fromkeys(statuses)
    table.update(described or {})
    return {_OPT_KEY: table, _ALSO_KEY: tuple(also_returns), _BODY_KEY: body}


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, description="A URI naming the problem."),
            "title": text,
            "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
            "detail": Schema(type=OpenAPIType.STRING, description="What to fix."),
            "errors": Schema(
                type=OpenAPIType.ARRAY,
                description="One entry per field or parameter at fault.",
                items=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["field", "message"],
                    properties={
                        "field": Schema(one_of=[text, Schema(type=OpenAPIType.NULL)]),
                        "message": Schema(one_of=[text, Schema(type=OpenAPIType.NULL)]),
                    },
                ),
            ),
        },
        description="RFC 9457 problem details; more members say what was wrong "
        "(feature, plan, plans, verb, resource, field, route, limit, retry_after, ...).",
    )


def _header(description: str, schema: Schema, *, required: bool) -> OpenAPIHeader:
    return OpenAPIHeader(schema=schema, description=description, required=required)


_CORRELATION = _header(
    "The request's correlation id (yours when you sent a valid one).",
    Schema(type=OpenAPIType.STRING),
    required=True,
)
_RETRY_AFTER = Schema(type=OpenAPIType.INTEGER, minimum=0)


def _problem_response(status: int, description: str) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] = {CORRELATION_HEADER: _CORRELATION}
    if status == 401:
        headers["WWW-Authenticate"] = _header(
            "The scheme to authenticate with.", Schema(type=OpenAPIType.STRING), required=True
        )
    elif status == 429:
        headers["Retry-After"] = _header(
            "Seconds until a call is allowed again.", _RETRY_AFTER, required=True
        )
    elif status == 503:
        headers["Retry-After"] = _header(
            "Seconds to wait (when the audit log is full).", _RETRY_AFTER, required=False
        )
    return OpenAPIResponse(
        description=description,
        headers=headers,
        content={
            PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
        },
    )


def _security_schemes(auth_mode: str) -> dict[str, SecurityScheme]:
    schemes: dict[str, SecurityScheme] = {}
    if auth_mode in {"api_key", "both"}:
        schemes["ApiKey"] = SecurityScheme(
            type="apiKey",
            name="X-API-Key",
            security_scheme_in="header",
            description="The admin key (API_KEY) or a named key (meshq apikey create).",
        )
    if auth_mode in {"oidc", "both"}:
        schemes["Bearer"] = SecurityScheme(
            type="http",
            scheme="bearer",
            bearer_format="JWT",
            description="An access token of the configured identity provider (Entra ID).",
        )
    return schemes


def _operations(app: Litestar) -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    """(OpenAPI path, method, the handler's opt) for every documented operation."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            for method in handler.http_methods:
                yield route.path_format or "/", method.lower(), handler.opt


def complete(app: Litestar, *, auth_mode: str = "api_key") -> OpenAPI:
    """Finish ``app``'s OpenAPI document in place (it is built once and served as is): every
    error response as problem+json with the statuses above, the security schemes, the
    ``X-Correlation-ID`` header. Call it once every route is registered."""
    document = app.openapi_schema
    components = document.components
    if not isinstance(components, Components):  # pragma: no cover - Litestar always sets one
        components = document.components = Components()
    components.schemas = {**(components.schemas or {}), "Problem": _problem_schema()}
    schemes = _security_schemes(auth_mode)
    components.security_schemes = {**(components.security_schemes or {}), **schemes}
    document.info.description = (
        "Errors are application/problem+json (RFC 9457). A method a path does not have is "
        "answered 405 with an Allow header listing the methods it has; every answer carries "
        "X-Correlation-ID."
    )
    for path, method, opt in _operations(app):
        item = (document.paths or {}).get(path)
        operation: Operation | None = getattr(item, method, None) if item else None
        if operation is None:
            continue
        _complete_operation(operation, path, opt, list(schemes))
    return document


def _complete_operation(
    operation: Operation, path: str, opt: Mapping[str, Any], schemes: list[str]
) -> None:
    responses = dict(operation.responses or {})
    # Litestar's own error entries (a 400 for any route with parameters) describe its
    # default error body, not the problem this app answers: they are replaced.
    statuses: dict[int, str | None] = {
        int(code): None for code in responses if code.isdigit() and int(code) >= 400
    }
    statuses.update(opt.get(_OPT_KEY) or {})
    if not is_public(path):
        for status in MIDDLEWARE_STATUSES:
            statuses.setdefault(status, None)
        operation.security = [{name: []} for name in schemes]
    for code, response in responses.items():
        if isinstance(response, OpenAPIResponse) and not code.startswith(("4", "5")):
            response.headers = {**(response.headers or {}), CORRELATION_HEADER: _CORRELATION}
            content = response.content or {}
            for media_type in opt.get(_ALSO_KEY, ()):
                content[media_type] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            response.content = content or None
    for status, description in sorted(statuses.items()):
        text = description or PROBLEM_STATUSES.get(status) or "A problem."
        responses[str(status)] = _problem_response(status, text)
    operation.responses = responses
    if opt.get(_BODY_KEY):
        operation.request_body = RequestBody(
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.OBJECT, description=str(opt[_BODY_KEY]))
                )
            },
            required=True,
            description=str(opt[_BODY_KEY]),
        )
