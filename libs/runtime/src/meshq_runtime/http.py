"""What every service's Litestar app shares: probes, correlation ids, problem+json errors."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Generic, TypeVar

import structlog
from litestar import HttpMethod, Litestar, Request, Response, get, route
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from pydantic import ValidationError

from meshq_runtime.errors import field_errors

__all__ = [
    "CORRELATION_HEADER",
    "DegradedCheck",
    "NotReady",
    "Probe",
    "ProblemError",
    "ServiceState",
    "build_app",
    "problem_response",
    "send_response",
]

log = structlog.get_logger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
PROBLEM_JSON = "application/problem+json"

#: A readiness probe: a name (the dependency) and a coroutine that raises when it is down.
Probe = tuple[str, Callable[[], Awaitable[Any]]]
#: A dependency the service can run without: a name and a coroutine that answers why the
#: service is degraded without it (None when it is not); ``/ready`` stays 200 and says so.
DegradedCheck = tuple[str, Callable[[], Awaitable[str | None]]]


class NotReady(Exception):
    """What a probe raises to say more than "unreachable": ``detail`` is told as it is,
    ``down`` names what is down behind the dependency (listed in ``unavailable`` instead of the
    probe's name) and ``info`` is shown in the 503 body under ``details`` and the probe's name."""

    def __init__(self, detail: str, *, down: Sequence[str] = (), info: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.down = tuple(down)
        self.info = info


D = TypeVar("D")


@dataclass
class ServiceState(Generic[D]):
    """What a service's lifespan fills in: the probes of ``/ready`` and ``deps``, the frozen
    object of everything its handlers use (stores, clients, the bus), built once the
    lifespan has started them. Handlers receive it as the ``deps`` dependency (Litestar's
    ``Provide``), typed as the service's own dependencies class."""

    service: str
    probes: list[Probe] = field(default_factory=list)
    degraded: list[DegradedCheck] = field(default_factory=list)
    deps: D | None = None

    def hand_out(self, deps: D, stack: AsyncExitStack) -> None:
        """Give handlers ``deps`` until ``stack`` closes; on the way out they are taken back
        first, so a call that comes in while the service stops is answered 503 instead of
        reaching what is being closed."""
        self.deps = deps
        stack.callback(self._take_back)

    def _take_back(self) -> None:
        self.deps = None

    def need(self) -> D:
        """The dependencies; 503 while the service is still starting (or stopping)."""
        if self.deps is None:
            raise ProblemError(
                503, "Starting", f"{self.service} is starting; retry shortly", retry_after=1
            )
        return self.deps


class ProblemError(Exception):
    """An RFC 9457 problem: raise it from a handler to answer ``application/problem+json``."""

    def __init__(
        self, status: int, title: str, detail: str = "", *, type_: str = "about:blank", **ext: Any
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type_, self.ext = (
            status,
            title,
            detail,
            type_,
            ext,
        )


def problem_response(
    status: int, title: str, detail: str = "", *, type_: str = "about:blank", **ext: Any
) -> Response[dict[str, Any]]:
    body = {
        "type": type_,
        "title": title,
        "status": status,
        **({"detail": detail} if detail else {}),
    }
    body.update(ext)
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


async def send_response(
    response: Response[Any], scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer from an ASGI middleware, before any route: there is no request object yet."""
    # Litestar declares ``request`` as required, but builds the ASGI response without it
    await response.to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]


def _on_problem(_: Request[Any, Any, Any], exc: ProblemError) -> Response[dict[str, Any]]:
    response = problem_response(exc.status, exc.title, exc.detail, type_=exc.type_, **exc.ext)
    retry = exc.ext.get("retry_after")
    if isinstance(retry, int | float) and retry >= 0:  # the body's hint, as the header too
        response.headers["Retry-After"] = str(int(retry))
    return response


def _on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {"field": item.get("key") or item.get("source"), "message": item.get("message")}
            )
    return problem_response(400, "Invalid request", exc.detail, errors=errors)


def _on_pydantic(_: Request[Any, Any, Any], exc: ValidationError) -> Response[Any]:
    return problem_response(
        422, "Invalid parameters", f"{exc.error_count()} invalid", errors=field_errors(exc)
    )


def _on_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own refusals as problems, with the headers they carry (``Allow`` on a 405,
    which RFC 9110 requires)."""
    title = HTTPStatus(exc.status_code).phrase
    detail = "" if exc.detail == title else exc.detail
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status_code == 405 and "allow" in headers and not detail:
        detail = f"this path takes {headers['allow']}"
    response = problem_response(exc.status_code, title, detail)
    for name, value in headers.items():
        response.headers[name] = value
    return response


#: What a body that cannot be read raises while it is decoded: nesting too deep for the
#: decoder, bytes that are not UTF-8, a decoder's own error. The client sent it: 400.
_UNREADABLE = (RecursionError, UnicodeDecodeError)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: a body the decoder choked on is the client's (400); the rest is ours
    (500), logged with the correlation id, and neither says more than it must."""
    name = type(exc).__name__
    if isinstance(exc, _UNREADABLE) or name in ("DecodeError", "MsgspecError"):
        log.warning("http.body_unreadable", path=request.url.path[:200], error=name)
        return problem_response(
            400,
            "Bad Request",
            "the body is not a JSON document this service reads (too deeply nested, not "
            "UTF-8, or malformed)",
        )
    log.error(
        "http.unexpected_error",
        correlation_id=request.scope.get("state", {}).get("correlation_id"),
        path=request.url.path[:200],
        method=request.method,
        error=f"{name}: {str(exc)[:300]}",
        exc_info=exc,
    )
    return problem_response(500, "Internal Server Error", "an unexpected error; see the logs")


def _correlation_id(scope: Scope) -> str:
    """The request's ``X-Correlation-ID`` when it is a valid one, else a new id."""
    incoming = ""
    for key, value in scope.get("headers", []):
        if key.decode("latin-1").lower() == CORRELATION_HEADER.lower():
            incoming = value.decode("latin-1")
            break
    return incoming if _CORRELATION_RE.match(incoming) else str(uuid.uuid4())


async def _correlation_on_every_answer(message: Message, scope: Scope) -> None:
    """Answers given before any route's middleware runs (404 and 405 from routing) carry
    ``X-Correlation-ID`` too."""
    if message["type"] != "http.response.start":
        return
    name = CORRELATION_HEADER.lower().encode()
    headers = list(message.get("headers", []))
    if any(bytes(key).lower() == name for key, _ in headers):
        return
    cid = scope.get("state", {}).get("correlation_id") or _correlation_id(scope)
    headers.append((name, cid.encode()))
    message["headers"] = headers


class CorrelationMiddleware(ASGIMiddleware):
    """Binds the request's correlation id (``X-Correlation-ID`` or a new one) to the logs."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        cid = _correlation_id(scope)
        scope.setdefault("state", {})["correlation_id"] = cid

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.lower().encode(), cid.encode()))
                message["headers"] = headers
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(correlation_id=cid)
        try:
            await next_app(scope, receive, send_with_header)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)


def _probe_routes() -> list[Any]:
    @get("/health", sync_to_thread=False, include_in_schema=True, tags=["probes"])
    def health(state: State) -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "service": state.service.service}

    @get(
        "/ready",
        tags=["probes"],
        # statuses answered with problem+json, for a service that documents them (the gateway)
        opt={"problems": {503: "A dependency does not answer; `unavailable` names it."}},
    )
    async def ready(state: State) -> Response[dict[str, Any]]:
        """Ready: every dependency (broker, stores) answers; 503 names the ones that do not.
        One the service can run without (the gateway's Redis) makes it ``degraded``: still 200,
        with the reason under ``degraded``."""
        svc: ServiceState = state.service
        results, soft = await asyncio.gather(
            asyncio.gather(*(_check(name, fn) for name, fn in svc.probes)),
            asyncio.gather(*(_soft_check(name, fn) for name, fn in svc.degraded)),
        )
        checks = {name: ("down" if err else "up") for name, err, _ in results}
        # a dependency the service runs without: "degraded" (200) with the reason
        degraded = {name: why for name, why in soft if why is not None}
        checks.update({name: ("degraded" if why else "up") for name, why in soft})
        extra: dict[str, Any] = {"degraded": degraded} if degraded else {}
        said: list[str] = []
        unavailable: set[str] = set()
        details: dict[str, Any] = {}
        for name, err, why in results:
            if err is None:
                continue
            if why is None:
                said.append(f"{name} is unreachable: {err}")
                unavailable.add(name)
                continue
            said.append(why.detail)
            unavailable.update(why.down or (name,))
            if why.info is not None:
                details[name] = why.info
        if said:
            if details:
                extra["details"] = details
            return problem_response(
                503,
                "Service not ready",
                "; ".join(said),
                unavailable=sorted(unavailable),
                checks=checks,
                service=svc.service,
                **extra,
            )
        status = "degraded" if degraded else "ready"
        return Response({"status": status, "service": svc.service, "checks": checks, **extra})

    return [health, ready]


async def _check(
    name: str, fn: Callable[[], Awaitable[Any]]
) -> tuple[str, str | None, NotReady | None]:
    started = time.monotonic()
    try:
        await asyncio.wait_for(fn(), timeout=3.0)
        return name, None, None
    except NotReady as exc:
        return name, exc.detail[:300] or name, exc
    except Exception as exc:
        log.warning(
            "ready.probe_failed",
            dependency=name,
            error=f"{type(exc).__name__}: {exc}"[:300],
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return name, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__, None


async def _soft_check(name: str, fn: Callable[[], Awaitable[str | None]]) -> tuple[str, str | None]:
    try:
        why = await asyncio.wait_for(fn(), timeout=3.0)
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}"[:300]
    if why is not None:
        log.warning("ready.degraded", dependency=name, reason=why[:300])
    return name, why


def build_app(
    *,
    service: str,
    route_handlers: Sequence[Any] = (),
    lifespan: Callable[[Litestar], AbstractAsyncContextManager[None]] | None = None,
    state: ServiceState[Any] | None = None,
    openapi_title: str | None = None,
    middleware_extra: Sequence[Any] = (),
    openapi_json: Any = None,
    render_plugins: Sequence[Any] | None = None,
    **kwargs: Any,
) -> Litestar:
    """A Litestar app with /health, /ready, correlation ids and problem+json errors.
    ``openapi_json``: a render plugin serving ``/schema/openapi.json`` in place of the plain
    one (the other pages under ``/schema`` stay). ``render_plugins``: the pages under
    ``/schema`` in place of Litestar's (whose scripts come from a CDN); the first answers
    ``/schema`` itself."""
    from litestar.openapi import OpenAPIConfig
    from litestar.openapi.plugins import (
        RapidocRenderPlugin,
        RedocRenderPlugin,
        StoplightRenderPlugin,
        SwaggerRenderPlugin,
        YamlRenderPlugin,
    )

    handlers = [*_probe_routes(), *route_handlers]
    allow: dict[str, str] = {}
    state = state or ServiceState(service=service)
    app = Litestar(
        route_handlers=[*_options_routes(handlers, allow), *handlers],
        lifespan=[lifespan] if lifespan else [],
        state=State({"service": state}),
        # handlers name ``deps: NamedDependency[TheirDeps]`` to receive them
        dependencies={"deps": Provide(state.need, sync_to_thread=False)},
        middleware=[CorrelationMiddleware(), *middleware_extra],
        before_send=[_correlation_on_every_answer],
        logging_config=None,
        exception_handlers={
            ProblemError: _on_problem,
            ValidationException: _on_validation,
            ValidationError: _on_pydantic,
            HTTPException: _on_http,
            Exception: _on_unexpected,
        },
        openapi_config=OpenAPIConfig(
            title=openapi_title or f"MeshOptixIQ {service}",
            version="0.1.0",
            path="/schema",
            # the same pages as Litestar's defaults (ReDoc first: it answers /schema itself)
            render_plugins=[
                *(
                    render_plugins
                    if render_plugins is not None
                    else [
                        RedocRenderPlugin(),
                        SwaggerRenderPlugin(),
                        StoplightRenderPlugin(),
                        RapidocRenderPlugin(),
                    ]
                ),
                YamlRenderPlugin(path=["/openapi.yaml", "/openapi.yml"]),
                openapi_json,
            ]
            if openapi_json is not None
            else [],
        ),
        **kwargs,
    )
    for registered in app.routes:
        if isinstance(registered, HTTPRoute):
            allow[registered.path] = ", ".join(sorted(registered.methods))
    return app


def _options_routes(handlers: Sequence[Any], allow: dict[str, str]) -> list[Any]:
    """One ``OPTIONS`` handler per path, answering 204 with ``Allow``: every method the path
    has. Litestar makes its own when the path's first handler is registered and never updates
    it, so a path with GET and POST handlers would advertise only the first; ``allow`` is
    filled in once every route is registered."""
    paths = sorted({path for h in handlers if isinstance(h, HTTPRouteHandler) for path in h.paths})

    def options_for(path: str) -> Any:
        def options() -> Response[None]:
            return Response(None, status_code=204, headers={"Allow": allow.get(path, "OPTIONS")})

        return route(
            path, http_method=[HttpMethod.OPTIONS], include_in_schema=False, sync_to_thread=False
        )(options)

    return [options_for(path) for path in paths]
