"""The web UI's single sign-on: OpenID Connect's authorization code flow with PKCE (RFC 7636),
against Entra ID or any provider whose tokens the gateway already accepts.

- ``GET /ui/oidc/start``: a random ``state``, ``nonce`` and PKCE verifier go into a short-lived
  signed cookie (``meshq_oidc``: ``SameSite=Lax``, since the provider sends the browser back
  with a cross-site navigation; ``Path=/ui/oidc``), and the browser is sent to the provider.
- ``GET /ui/oidc/callback``: the ``state`` is compared in constant time with the cookie's, the
  code is exchanged at the token endpoint with the verifier, and the ID token is checked by the
  gateway's :class:`~meshq_query_gateway.oidc.OidcVerifier` (signature from the JWKS, issuer,
  the app's client id as audience, times) and its ``nonce`` against the cookie's. The session
  cookie then names the identity and the groups (or app roles) its token carried; under RBAC only
  the groups the policy names are kept, so that a member of hundreds of groups still fits in a
  cookie.

Neither codes, tokens nor cookies are logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import jwt
import structlog
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect

from meshq_query_gateway.auth import SESSION_COOKIE, AuthError, Principal
from meshq_query_gateway.context import gateway
from meshq_query_gateway.oidc import OidcVerifier, principal_of_claims
from meshq_query_gateway.settings import BrowserSignIn
from meshq_query_gateway.ui.session import SessionCookies

__all__ = ["FLOW_COOKIE", "NEXT_PAGES", "landing", "page", "secure", "session_cookie", "sso_routes"]

log = structlog.get_logger(__name__)

FLOW_COOKIE = "meshq_oidc"
_FLOW_PATH = "/ui/oidc"
_FLOW_AUDIENCE = "meshoptixiq-ui-oidc"
_FLOW_TTL = 600
#: Where a sign-in may land afterwards.
NEXT_PAGES = ("/ui/", "/ui/map")
_MAX_TOKEN_ANSWER = 64 * 1024

Param = Annotated[str | None, QueryParameter(max_length=2048)]
#: ``state`` is a name Litestar keeps for the app's state: read under another.
StateParam = Annotated[str | None, QueryParameter(name="state", max_length=2048)]


def landing(value: str | None) -> str:
    """``value`` when it is one of the UI's pages, else the UI's first page."""
    return value if value in NEXT_PAGES else NEXT_PAGES[0]


def page(title: str, message: str, status: int, *, retry: str | None = None) -> Response[bytes]:
    """A small HTML page saying what went wrong, in words (the UI's stylesheet, no script)."""
    again = f"<p><a href='{html.escape(retry)}'>Try again</a></p>" if retry else ""
    body = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<link rel='stylesheet' href='/ui/static/ui.css'></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p role='alert'>{html.escape(message)}</p>{again}"
        "<p><a href='/ui/'>Back to the sign-in page</a></p></main></body></html>"
    ).encode()
    return Response(
        body,
        status_code=status,
        media_type="text/html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def secure(request: Request[Any, Any, Any]) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def session_cookie(request: Request[Any, Any, Any], cookies: SessionCookies, value: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=int(cookies.ttl),
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _callback_url(request: Request[Any, Any, Any], config: BrowserSignIn) -> str:
    if config.redirect_url:
        return config.redirect_url
    return f"{str(request.base_url).rstrip('/')}{_FLOW_PATH}/callback"


def _keep_groups(request: Request[Any, Any, Any], who: Principal) -> Principal:
    """Under RBAC, only the groups the policy names (as a group or a role) matter."""
    gw = gateway(request.app.state)
    policy = gw.rbac.policy
    if not gw.rbac_active() or policy is None:
        return who
    kept = frozenset(g for g in who.groups if g in policy.groups or g in policy.roles)
    return Principal(who.name, who.auth_method, kept)


def sso_routes(
    config: BrowserSignIn | None, cookies: SessionCookies | None, verifier: OidcVerifier | None
) -> list[Any]:
    """The two routes, or none where single sign-on is not configured for the browser."""
    if config is None or cookies is None or verifier is None:
        return []

    @get(f"{_FLOW_PATH}/start", include_in_schema=False, cache_control=None)
    async def start(request: Request[Any, Any, Any], next: Param = None) -> Response[Any]:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        code_verifier = secrets.token_urlsafe(48)
        now = int(cookies.clock())
        flow = jwt.encode(
            {
                "aud": _FLOW_AUDIENCE,
                "iat": now,
                "exp": now + _FLOW_TTL,
                "state": state,
                "nonce": nonce,
                "pkce": code_verifier,
                "next": landing(next),
            },
            cookies.key,
            algorithm="HS256",
        )
        query = urlencode(
            {
                "client_id": config.client_id,
                "response_type": "code",
                "response_mode": "query",
                "redirect_uri": _callback_url(request, config),
                "scope": config.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": _challenge(code_verifier),
                "code_challenge_method": "S256",
            }
        )
        joiner = "&" if "?" in config.authorize_url else "?"
        return Redirect(
            f"{config.authorize_url}{joiner}{query}",
            status_code=303,
            cookies=[
                Cookie(
                    key=FLOW_COOKIE,
                    value=flow,
                    max_age=_FLOW_TTL,
                    path=_FLOW_PATH,
                    httponly=True,
                    samesite="lax",
                    secure=secure(request),
                )
            ],
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    async def _exchange(request: Request[Any, Any, Any], code: str, flow: dict[str, Any]) -> str:
        form = {
            "grant_type": "authorization_code",
            "client_id": config.client_id,
            "code": code,
            "redirect_uri": _callback_url(request, config),
            "code_verifier": str(flow["pkce"]),
        }
        if config.client_secret is not None:
            form["client_secret"] = config.client_secret.get_secret_value()
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                answer = await client.post(
                    config.token_url, data=form, headers={"Accept": "application/json"}
                )
        except httpx.HTTPError as exc:
            raise AuthError(
                f"the identity provider did not answer ({type(exc).__name__})"
            ) from None
        if len(answer.content) > _MAX_TOKEN_ANSWER:
            raise AuthError("the identity provider's answer is too large")
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or not isinstance(body, dict):
            said = None
            if isinstance(body, dict):
                said = body.get("error_description") or body.get("error")
            raise AuthError(
                f"the identity provider refused the sign-in ({answer.status_code}"
                f"{': ' + str(said)[:300] if said else ''})"
            )
        token = body.get("id_token")
        if not isinstance(token, str) or not token or len(token) > 16_384:
            raise AuthError("the identity provider sent no ID token (is 'openid' in OIDC_SCOPES?)")
        return token

    @get(f"{_FLOW_PATH}/callback", include_in_schema=False, cache_control=None)
    async def callback(
        request: Request[Any, Any, Any],
        code: Param = None,
        returned_state: StateParam = None,
        error: Param = None,
        error_description: Param = None,
    ) -> Response[Any]:
        retry = f"{_FLOW_PATH}/start"
        title = "Single sign-on did not work"
        if error:
            said = f"{error}: {error_description}" if error_description else error
            log.info("ui.oidc_refused_by_provider", error=error[:64])
            return page(title, f"The identity provider said {said[:500]}", 401, retry=retry)
        raw = request.cookies.get(FLOW_COOKIE)
        try:
            if not raw or len(raw) > 4096:
                raise jwt.InvalidTokenError
            flow = jwt.decode(
                raw,
                cookies.key,
                algorithms=["HS256"],
                audience=_FLOW_AUDIENCE,
                options={"require": ["exp", "aud"]},
            )
        except jwt.PyJWTError:
            late = "The sign-in took too long or was not started here."
            return page(title, late, 401, retry=retry)
        expected = str(flow.get("state", ""))
        if not code or not returned_state:
            return page(title, "The answer does not belong to this sign-in.", 401, retry=retry)
        if not hmac.compare_digest(returned_state.encode(), expected.encode()):
            return page(title, "The answer does not belong to this sign-in.", 401, retry=retry)
        try:
            token = await _exchange(request, code, flow)
            claims = await verifier.claims(token, audiences=[config.client_id])
            nonce = str(claims.get("nonce", ""))
            if not hmac.compare_digest(nonce.encode(), str(flow.get("nonce", "")).encode()):
                raise AuthError("the ID token was not made for this sign-in (nonce)")
            who = _keep_groups(request, principal_of_claims(claims))
            value = cookies.issue(who)
        except AuthError as exc:
            log.info("ui.oidc_refused", reason=str(exc))
            return page(title, str(exc), 401, retry=retry)
        log.info("ui.signed_in", principal=who.name, method="oidc", groups=len(who.groups))
        ended = Cookie(key=FLOW_COOKIE, value="", max_age=0, path=_FLOW_PATH, httponly=True)
        return Redirect(
            landing(str(flow.get("next"))),
            status_code=303,
            cookies=[session_cookie(request, cookies, value), ended],
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    return [start, callback]
