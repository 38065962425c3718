"""Authenticated internal HTTP: one service credential per installation.

A service that serves an internal API wraps its app in :class:`ServiceAuthMiddleware`: every
request but the probes (``/health``, ``/ready``, and whatever else the service names open)
must carry the installation's credential in ``X-MeshQ-Service-Token``, compared in constant
time; a missing or wrong one is answered 401 problem+json before any route runs, and logged
(never with the value). The caller names itself in ``X-MeshQ-Caller``; once the credential
matched, that name is what the audit log records for an internal write
(:func:`caller_of`).

The credential comes from ``MESHQ_SERVICE_TOKEN`` (compose, Kubernetes: the same Secret on
every service), else from ``$MESHQ_DATA_DIR/run/service_token``, created once (0600) by the
first process that needs it: ``meshq serve`` creates it before its children start and hands it
to them in the environment. :func:`internal_client` is the client side: an ``httpx`` client
that sends the credential, the caller's name and the correlation id of the request or event
being handled, and :func:`service_headers` / :func:`read_service_token` what any other caller
(a test, a benchmark) sends.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import structlog
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from meshq_runtime.http import CORRELATION_HEADER, problem_response, send_response
from meshq_runtime.logging import current_correlation_id

__all__ = [
    "CALLER_HEADER",
    "CALLER_RE",
    "MIN_TOKEN_CHARS",
    "OPEN_PATHS",
    "SERVICE_TOKEN_ENV",
    "TOKEN_HEADER",
    "ServiceAuthMiddleware",
    "ServiceCredential",
    "caller_of",
    "check_token",
    "generate_token",
    "internal_client",
    "load_or_create_token",
    "read_service_token",
    "service_credential",
    "service_headers",
    "token_file",
]

log = structlog.get_logger(__name__)

SERVICE_TOKEN_ENV = "MESHQ_SERVICE_TOKEN"  # noqa: S105 - a variable's name
TOKEN_HEADER = "X-MeshQ-Service-Token"  # noqa: S105 - a header's name
CALLER_HEADER = "X-MeshQ-Caller"
#: A credential shorter than this is refused (at a service's start, and by ``meshq serve``).
MIN_TOKEN_CHARS = 32
#: What a caller may call itself: a service name, ``cli``, ``bench``.
CALLER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: Paths every service answers without the credential: the probes.
OPEN_PATHS: frozenset[str] = frozenset({"/health", "/ready"})
PROBLEM_TYPE = "https://meshoptixiq.com/problems/service-credential"
_TOKEN_KEY = TOKEN_HEADER.lower().encode("latin-1")
_CALLER_KEY = CALLER_HEADER.lower().encode("latin-1")
#: Where a caller's name is kept in the request's scope state once its credential matched.
_CALLER_STATE = "service_caller"


def check_token(value: str, origin: str = SERVICE_TOKEN_ENV) -> str:
    """``value`` when it can be a credential; a ``ValueError`` saying what to fix otherwise."""
    if len(value) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"{origin} must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"
        )
    if not all(33 <= ord(c) <= 126 for c in value):
        raise ValueError(
            f"{origin} must be printable ASCII without spaces (it travels in a header)"
        )
    return value


def token_file(data_dir: Path) -> Path:
    """Where the generated credential of a data directory lives."""
    return data_dir / "run" / "service_token"


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    raw = environ.get("MESHQ_DATA_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".meshoptixiq" / "data"


def read_service_token(
    environ: Mapping[str, str] | None = None, data_dir: Path | None = None
) -> str | None:
    """``MESHQ_SERVICE_TOKEN``, else the data directory's generated one, else None."""
    env = os.environ if environ is None else environ
    value = (env.get(SERVICE_TOKEN_ENV) or "").strip()
    if value:
        return value
    path = token_file(data_dir or _default_data_dir(env))
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def service_headers(token: str, caller: str) -> dict[str, str]:
    """The headers of an authenticated internal call."""
    if not CALLER_RE.match(caller):
        raise ValueError(f"caller name {caller!r} is not a-z, 0-9, '.', '_' or '-'")
    return {TOKEN_HEADER: token, CALLER_HEADER: caller}


def generate_token() -> str:
    """A new credential: 288 random bits, URL- and header-safe (48 characters)."""
    return secrets.token_urlsafe(36)


class ServiceCredential:
    """The installation's credential and the name this process calls itself by."""

    __slots__ = ("_secret", "caller", "source")

    def __init__(self, secret: str, *, caller: str, source: str = SERVICE_TOKEN_ENV) -> None:
        if not CALLER_RE.match(caller):
            raise ValueError(f"caller name {caller!r} is not a-z, 0-9, '.', '_' or '-'")
        self._secret = check_token(secret, source).encode("ascii")
        self.caller = caller
        self.source = source

    def __repr__(self) -> str:  # never the secret
        return f"ServiceCredential(caller={self.caller!r}, source={self.source!r})"

    def headers(self, caller: str | None = None) -> dict[str, str]:
        """What an internal call sends (``caller`` to pass on another's name)."""
        return service_headers(self._secret.decode("ascii"), caller or self.caller)

    def matches(self, presented: bytes) -> bool:
        """Constant-time comparison with a presented value."""
        return hmac.compare_digest(presented, self._secret)


def load_or_create_token(path: Path) -> str:
    """The credential kept at ``path``; created (0600, atomically, once even when several
    processes start together) when missing."""
    return _load_or_create(path)[0]


def _load_or_create(path: Path) -> tuple[str, bool]:
    """(the credential at ``path``, whether this call created it)."""
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)  # ours: keep it private
        return existing, False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    created = False
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(generate_token() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its
            os.link(tmp, path)
            created = True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path.read_text(encoding="ascii").strip(), created


def service_credential(settings: Any, *, caller: str) -> ServiceCredential:
    """The credential from a service's settings: ``MESHQ_SERVICE_TOKEN``, else the data
    directory's (created when missing)."""
    token = getattr(settings, "service_token", None)
    if token is not None:
        credential = ServiceCredential(token.get_secret_value(), caller=caller)
    else:
        data_dir = getattr(settings, "data_dir", None)
        if data_dir is None:
            raise ValueError(f"no service credential: set {SERVICE_TOKEN_ENV}")
        path = token_file(Path(data_dir))
        secret, created = _load_or_create(path)
        credential = ServiceCredential(secret, caller=caller, source=str(path))
        if created:  # fine on one machine; elsewhere the other services will not know it
            log.warning(
                "service_auth.credential_generated",
                file=str(path),
                fix=f"services on other machines or containers need {SERVICE_TOKEN_ENV} set "
                "to the same value",
            )
    log.info("service_auth.credential", source=credential.source, caller=caller)
    return credential


def caller_of(scope: Scope) -> str:
    """The name an authenticated caller gave (``unnamed`` when it gave none)."""
    return str(scope.get("state", {}).get(_CALLER_STATE) or "unnamed")


def _headers(scope: Scope) -> tuple[list[bytes], bytes | None]:
    tokens: list[bytes] = []
    caller: bytes | None = None
    for key, value in scope.get("headers", []):
        lowered = key.lower()
        if lowered == _TOKEN_KEY:
            tokens.append(value)
        elif lowered == _CALLER_KEY and caller is None:
            caller = value
    return tokens, caller


class ServiceAuthMiddleware(ASGIMiddleware):
    """401 problem+json for any request without the installation's credential, except on
    ``open_paths`` (exact paths, a trailing slash allowed)."""

    def __init__(
        self, credential: ServiceCredential, *, open_paths: frozenset[str] = OPEN_PATHS
    ) -> None:
        self._credential = credential
        self._open = open_paths

    def _is_open(self, path: str) -> bool:
        return path in self._open or (path.endswith("/") and path[:-1] in self._open)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] not in ("http", "websocket") or self._is_open(scope["path"]):
            await next_app(scope, receive, send)
            return
        tokens, raw_caller = _headers(scope)
        caller = raw_caller.decode("latin-1") if raw_caller is not None else ""
        named = caller if CALLER_RE.match(caller) else ""
        # exactly one credential, and it matches: compare_digest whatever was sent
        ok = len(tokens) == 1 and self._credential.matches(tokens[0])
        if not ok:
            await self._refuse(scope, receive, send, "missing" if not tokens else "wrong", named)
            return
        scope.setdefault("state", {})[_CALLER_STATE] = named or "unnamed"
        bound = structlog.contextvars.bind_contextvars(caller=named or "unnamed")
        try:
            await next_app(scope, receive, send)
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, reason: str, caller: str
    ) -> None:
        client = scope.get("client")
        log.warning(
            "service_auth.refused",
            reason=reason,
            method=scope.get("method", "GET"),
            path=scope["path"][:200],
            caller=caller or None,
            client=client[0] if client else None,
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
            return
        detail = (
            f"this internal API answers MeshOptixIQ services only: send the installation's "
            f"service credential in {TOKEN_HEADER}"
            if reason == "missing"
            else f"the {TOKEN_HEADER} sent is not this installation's service credential"
        )
        response = problem_response(401, "Unauthorized", detail, type_=PROBLEM_TYPE)
        await send_response(response, scope, receive, send)


async def _propagate_correlation(request: httpx.Request) -> None:
    cid = current_correlation_id()
    if cid and CORRELATION_HEADER not in request.headers:
        request.headers[CORRELATION_HEADER] = cid


def internal_client(
    credential: ServiceCredential, *, base_url: str = "", timeout: float = 30.0, **kw: Any
) -> httpx.AsyncClient:
    """An ``httpx`` client for internal APIs: the credential, the caller's name and the
    current correlation id on every request."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=credential.headers(),
        timeout=timeout,
        event_hooks={"request": [_propagate_correlation]},
        **kw,
    )
