"""The web UI's routes: the one-time sign-in link, the session cookie, and the UI's own page.

- ``POST /admin/ui-links`` (the admin only): a new single-use sign-in link.
- ``GET /ui/login?token=...``: uses the link up, sets the session cookie, redirects to ``/ui/``.
- ``POST /ui/login`` (a form with ``api_key``): signs in as that key's principal (the admin
  key, or a named key with its RBAC groups); the key travels in the body, never in a URL.
- ``GET /ui/oidc/start`` and ``/ui/oidc/callback``: single sign-on (``sso``).
- ``GET /ui/session``: who the session cookie stands for, with the roles RBAC gives them, and
  which ways of signing in this gateway offers (the pages read it).
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

from meshq_query_gateway.auth import SESSION_COOKIE, AuthError, KeyChecker, same_origin
from meshq_query_gateway.context import admin_only, gateway
from meshq_query_gateway.oidc import OidcVerifier
from meshq_query_gateway.openapi import problems
from meshq_query_gateway.redis_guard import RedisUnavailable
from meshq_query_gateway.settings import Settings
from meshq_query_gateway.ui import map_api
from meshq_query_gateway.ui.session import LinkRefused, SessionCookies, SignInLinks
from meshq_query_gateway.ui.sso import landing, page, secure, session_cookie, sso_routes

__all__ = ["LOGIN_PATH", "UI_ROOT", "ui_routes"]

log = structlog.get_logger(__name__)

UI_ROOT = "/ui/"
LOGIN_PATH = "/ui/login"

#: name -> media type: the only files ``/ui/static/`` serves.
_STATIC = {
    "ui.js": "text/javascript",
    "session.js": "text/javascript",
    "map.js": "text/javascript",
    "map.css": "text/css",
    "ui.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
_HTML = "text/html"
#: Longest API key the sign-in form reads.
_MAX_KEY = 512
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


def ui_routes(
    settings: Settings,
    cookies: SessionCookies | None,
    checker: KeyChecker | None = None,
    verifier: OidcVerifier | None = None,
) -> list[Any]:
    """The routes, bound to ``settings`` (link and session lifetimes, ``AUTH_MODE``), the
    cookie signer (links answer 409 unless it was derived from ``API_KEY``), the API key
    checker of the sign-in form and the OIDC verifier of single sign-on."""
    link_ttl = settings.ui_link_ttl
    namespace = settings.kafka_topic_prefix
    keys_on = settings.auth_mode in {"api_key", "both"}
    tokens_on = settings.auth_mode in {"oidc", "both"}
    sso = sso_routes(settings.browser_sign_in(), cookies, verifier)
    admin_sessions = cookies is not None and cookies.admin

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
        if cookies is None or not admin_sessions or not keys_on:
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
        if cookies is None or not admin_sessions or not keys_on:
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
        log.info("ui.signed_in", principal="admin", method="link")
        return Redirect(
            UI_ROOT,
            status_code=303,
            cookies=[session_cookie(request, cookies, cookies.issue())],
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    @post(LOGIN_PATH, include_in_schema=False, status_code=303)
    async def key_login(request: Request[Any, Any, Any]) -> Response[Any]:
        """The sign-in form: the API key in the body (a password field), never in a URL."""
        title = "Sign-in refused"
        if cookies is None or checker is None or not keys_on or not checker.configured:
            return page(title, "This gateway does not take API keys: use single sign-on.", 409)
        try:
            same_origin(request.scope)
        except AuthError as exc:
            return page(title, str(exc), 403)
        form = await request.form()
        key, wanted = form.get("api_key"), form.get("next")
        if not isinstance(key, str) or not key.strip() or len(key) > _MAX_KEY:
            return page(title, "Type or paste an API key.", 401, retry=UI_ROOT)
        try:
            who = checker.check(key.strip().encode("utf-8"))
            value = cookies.issue(who)
        except AuthError:
            log.info("ui.key_refused")
            return page(title, "That API key is not valid (or was revoked).", 401, retry=UI_ROOT)
        log.info("ui.signed_in", principal=who.name, method="api_key", key_id=who.key_id)
        return Redirect(
            landing(wanted if isinstance(wanted, str) else None),
            status_code=303,
            cookies=[session_cookie(request, cookies, value)],
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    @get("/ui/session", include_in_schema=False, cache_control=None)
    async def session(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Who the cookie stands for (nothing when it is missing or not good), the roles RBAC
        grants them, and the ways of signing in offered here."""
        answer: dict[str, Any] = {
            "signed_in": False,
            "sign_in": {
                "api_key": keys_on and checker is not None and checker.configured,
                "oidc": bool(sso),
                "link": admin_sessions and keys_on,
            },
        }
        raw = request.cookies.get(SESSION_COOKIE)
        if raw and cookies is not None:
            try:
                who = cookies.verify(raw)
                if not (tokens_on if who.auth_method == "oidc" else keys_on):
                    raise AuthError("this way of signing in is off here: sign in again")
            except AuthError as exc:
                answer["problem"] = str(exc)
            else:
                answer.update(_describe(request, who))
        return Response(answer, headers={"Cache-Control": "no-store"})

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
                    secure=secure(request),
                )
            ],
        )

    @get(["/ui", UI_ROOT], include_in_schema=False, sync_to_thread=False)
    def ui_page() -> Response[bytes]:
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

    return [
        create_link,
        login,
        key_login,
        session,
        logout,
        ui_page,
        map_page,
        static,
        *sso,
        *map_api.ROUTES,
    ]


def _describe(request: Request[Any, Any, Any], who: Any) -> dict[str, Any]:
    gw = gateway(request.app.state)
    rbac = gw.rbac_active()
    policy = gw.rbac.policy
    if who.admin_key:
        roles = ["admin"]
    elif rbac and policy is not None:
        roles = sorted(policy.roles_of(who.groups))
    else:
        roles = []
    out: dict[str, Any] = {
        "signed_in": True,
        "name": who.name,
        "method": who.auth_method,
        "admin": gw.is_admin(who),
        "groups": sorted(who.groups)[:100],
        "roles": roles,
        "rbac": rbac,
    }
    if who.auth_method == "oidc" and not gw.gate.allows("oidc_sso"):
        out["problem"] = (
            f"the {gw.gate.plan} plan has no single sign-on (oidc_sso): every call this session "
            "makes is refused"
        )
    return out
