"""The web UI's routes: the one-time sign-in link, the session cookie, and the UI's own page.

- ``POST /admin/ui-links`` (the admin only): a new single-use sign-in link.
- ``GET /ui/login?token=...``: uses the link up, sets the session cookie, redirects to ``/ui/``.
- ``POST /ui/logout``: removes the cookie.
- ``GET /ui/`` and ``/ui/static/<name>``: the page (packaged files; no CDN). It reads the
  catalogue and runs queries through the REST API like any client, authenticated by the cookie.
"""

from __future__ import annotations

import html
import importlib.resources
from functools import cache
from typing import Annotated, Any

import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Redirect
from meshq_runtime.http import ProblemError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from meshq_query_gateway.auth import SESSION_COOKIE
from meshq_query_gateway.context import admin_only, gateway
from meshq_query_gateway.openapi import problems
from meshq_query_gateway.redis_guard import RedisUnavailable
from meshq_query_gateway.settings import Settings
from meshq_query_gateway.ui import map_api
from meshq_query_gateway.ui.session import LinkRefused, SessionCookies, SignInLinks

__all__ = ["LOGIN_PATH", "UI_ROOT", "ui_routes"]

log = structlog.get_logger(__name__)

UI_ROOT = "/ui/"
LOGIN_PATH = "/ui/login"

#: name -> media type: the only files ``/ui/static/`` serves.
_STATIC = {
    "ui.js": "text/javascript",
    "map.js": "text/javascript",
    "map.css": "text/css",
    "ui.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
_HTML = "text/html"
#: No inline script, no other origin: what the UI's page may load.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class LinkRequest(BaseModel):
    """Optional: a shorter life for the link than ``MESHQ_UI_LINK_TTL``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ttl_seconds: float | None = Field(None, gt=0, le=86_400)

    @field_validator("ttl_seconds", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        # checked before any coercion (the body decoder is lenient): true or "5" is no number
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError("ttl_seconds is a number of seconds")
        return value


@cache
def _file(name: str) -> bytes:
    return (
        importlib.resources.files("meshq_query_gateway.ui").joinpath(f"static/{name}").read_bytes()
    )


def _secure(request: Request[Any, Any, Any]) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def _refused_page(reason: str) -> bytes:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Sign-in link not valid</title>"
        "<link rel='stylesheet' href='/ui/static/ui.css'></head><body><main>"
        "<h1>This sign-in link does not work</h1>"
        f"<p>{html.escape(reason)}</p>"
        "<p>A link works once and for a short time. Ask for a new one: "
        '<code>curl -X POST -H "X-API-Key: $API_KEY" &lt;gateway&gt;/admin/ui-links</code> '
        "(or restart <code>meshq serve</code>).</p></main></body></html>"
    ).encode()


def ui_routes(settings: Settings, cookies: SessionCookies | None) -> list[Any]:
    """The routes, bound to ``settings`` (link and session lifetimes) and the cookie signer
    (None without ``API_KEY``: the links answer 409)."""
    link_ttl = settings.ui_link_ttl
    namespace = settings.kafka_topic_prefix

    def links(request: Request[Any, Any, Any]) -> SignInLinks:
        redis = gateway(request.app.state).redis
        if redis is None:
            raise ProblemError(503, "Unavailable", "sign-in links need Redis")
        return SignInLinks(redis, namespace=namespace, ttl=link_ttl)

    @post(
        "/admin/ui-links",
        guards=[admin_only],
        status_code=201,
        tags=["ui"],
        opt=problems(
            403,
            409,
            422,
            503,
            described={409: "No API_KEY is configured: there is no local admin to sign in."},
        ),
    )
    async def create_link(
        request: Request[Any, Any, Any], data: JSONBody[LinkRequest | None] = None
    ) -> dict[str, Any]:
        """A single-use sign-in link for the web UI: opening it sets a session cookie for the
        admin and redirects to the UI. It stops working once used, and after ``expires_at``
        (``MESHQ_UI_LINK_TTL`` seconds, or ``ttl_seconds`` when shorter)."""
        if cookies is None:
            raise ProblemError(409, "No local admin", "set API_KEY to sign in to the web UI")
        try:
            token, expires_at = await links(request).mint(data.ttl_seconds if data else None)
        except RedisUnavailable as exc:
            raise ProblemError(503, "Unavailable", f"Redis: {exc.reason}") from None
        path = f"{LOGIN_PATH}?token={token}"
        base = str(request.base_url).rstrip("/")
        log.info("ui.link_created", expires_at=round(expires_at))
        return {"url": f"{base}{path}", "path": path, "expires_at": expires_at}

    @get(LOGIN_PATH, include_in_schema=False, cache_control=None)
    async def login(
        request: Request[Any, Any, Any],
        token: Annotated[str, QueryParameter(min_length=1, max_length=128)],
    ) -> Response[Any]:
        wants_html = "text/html" in request.headers.get("accept", "")
        if cookies is None:
            raise ProblemError(409, "No local admin", "set API_KEY to sign in to the web UI")
        try:
            await links(request).redeem(token)
        except RedisUnavailable as exc:
            raise ProblemError(503, "Unavailable", f"Redis: {exc.reason}") from None
        except LinkRefused:
            log.info("ui.link_refused")
            reason = "It was used already, it expired, or it is not a link this server made."
            if wants_html:
                return Response(
                    _refused_page(reason),
                    status_code=401,
                    media_type=_HTML,
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
                )
            raise ProblemError(401, "Unauthorized", f"sign-in link refused: {reason}") from None
        log.info("ui.signed_in", principal="admin")
        return Redirect(
            UI_ROOT,
            status_code=303,
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value=cookies.issue(),
                    max_age=int(cookies.ttl),
                    path="/",
                    httponly=True,
                    samesite="strict",
                    secure=_secure(request),
                )
            ],
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    @post("/ui/logout", include_in_schema=False, status_code=303)
    async def logout(request: Request[Any, Any, Any]) -> Redirect:
        return Redirect(
            UI_ROOT,
            status_code=303,
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value="",
                    max_age=0,
                    path="/",
                    httponly=True,
                    samesite="strict",
                    secure=_secure(request),
                )
            ],
        )

    @get(["/ui", UI_ROOT], include_in_schema=False, sync_to_thread=False)
    def page() -> Response[bytes]:
        return Response(
            _file("index.html"),
            media_type=_HTML,
            headers={"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"},
        )

    @get("/ui/static/{name:str}", include_in_schema=False, sync_to_thread=False)
    def static(name: FromPath[str]) -> Response[bytes]:
        media_type = _STATIC.get(name)
        if media_type is None:
            raise ProblemError(404, "Not found", "no such file of the web UI", field="name")
        return Response(
            _file(name),
            media_type=media_type,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    @get(["/ui/map", "/ui/map/"], include_in_schema=False, sync_to_thread=False)
    def map_page() -> Response[bytes]:
        return Response(
            _file("map.html"),
            media_type=_HTML,
            headers={"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"},
        )

    return [create_link, login, logout, page, map_page, static, *map_api.ROUTES]
