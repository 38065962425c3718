"""The MCP server's only dependency: the query gateway's REST API, reached through the client
(:class:`~network_discovery.client.AsyncMeshqClient`) with each caller's own credential."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from network_discovery.client import (
    API_KEY_ENV,
    API_URL_ENV,
    ApiError,
    AsyncMeshqClient,
    ClientError,
    ClientSettings,
    StackNotFound,
    locate,
)
from network_discovery.licensing.gates import demo_mode

__all__ = ["Credential", "Gateway", "GatewayError", "LicenseState"]

T = TypeVar("T")

#: How long the catalogue and the license answer are reused before asking again (seconds).
CACHE_SECONDS = 10.0
#: Where the gateway is when nothing says (``meshq serve``'s default port).
DEFAULT_URL = "http://localhost:8000"


class GatewayError(Exception):
    """The gateway refused or could not answer; the message is meant for the user."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credential:
    """What the gateway sees as the caller: an API key or a bearer token."""

    api_key: str | None = None
    bearer: str | None = None
    #: The caller's request id, so the gateway's audit joins up with the bridge's logs.
    correlation_id: str | None = None

    def headers(self) -> dict[str, str]:
        out = {"X-Correlation-ID": self.correlation_id} if self.correlation_id else {}
        if self.bearer:
            out["Authorization"] = f"Bearer {self.bearer}"
        elif self.api_key:
            out["X-API-Key"] = self.api_key
        return out

    @property
    def cache_key(self) -> str:
        return f"{self.api_key or ''}\x00{self.bearer or ''}"


@dataclass(frozen=True)
class LicenseState:
    """The plan as the gateway reports it; ``known`` is False when it could not tell."""

    known: bool
    plan: str | None = None
    mcp_server: bool | None = None
    note: str = ""

    @property
    def denied(self) -> bool:
        return self.known and self.mcp_server is False


_HINTS = {
    401: "check MESHOPTIXIQ_API_KEY (or the credential your client sends)",
    403: "your role does not allow this query",
    429: "slow down and retry shortly",
}


def _refusal(exc: ApiError, what: str) -> str:
    """The gateway's refusal (read by the client) as a message for the user or the model."""
    message = f"{what}: gateway answered {exc.status} {exc.title or 'error'}"
    if exc.detail:
        message += f": {exc.detail}"
    if exc.errors:
        message += " (" + "; ".join(str(e) for e in exc.errors[:5]) + ")"
    hint = _HINTS.get(exc.status)
    if hint:
        message += f" ({hint})"
    return message


@dataclass
class Gateway:
    """Calls to the query gateway with the caller's credential; caches per credential."""

    url: str
    default: Credential
    client: httpx.AsyncClient
    _cache: dict[tuple[str, str], tuple[float, Any]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, client: httpx.AsyncClient | None = None) -> Gateway:
        """The gateway ``MESHOPTIXIQ_API_URL`` / ``MESHOPTIXIQ_API_KEY`` name, else the stack
        ``meshq serve`` runs here, else localhost:8000."""
        try:
            url, key = locate()
        except ClientError:  # an endpoints file that cannot be read: the environment alone
            url, key = os.environ.get(API_URL_ENV), os.environ.get(API_KEY_ENV)
        return cls(
            url=(url or DEFAULT_URL).rstrip("/"),
            default=Credential(api_key=key),
            client=client or new_client(),
        )

    def api(self, credential: Credential) -> AsyncMeshqClient:
        """The REST API as this caller: the shared connection pool, the caller's credential."""
        settings = ClientSettings(url=self.url, timeout=None, headers=credential.headers())
        return AsyncMeshqClient(settings, http=self.client)

    def _silent(self, what: str, exc: StackNotFound) -> str:
        return (
            f"{what}: the query gateway at {self.url} did not answer ({exc.reason or exc}); "
            f"is it running, and is {API_URL_ENV} right?"
        )

    async def _ask(
        self,
        what: str,
        credential: Credential,
        call: Callable[[AsyncMeshqClient], Awaitable[T]],
    ) -> T:
        try:
            return await call(self.api(credential))
        except StackNotFound as exc:
            raise GatewayError(self._silent(what, exc)) from exc
        except ApiError as exc:
            raise GatewayError(_refusal(exc, what), status=exc.status) from exc
        except ClientError as exc:  # answered, but not as the gateway does
            raise GatewayError(f"{what}: {exc}") from exc

    async def _cached(self, kind: str, credential: Credential, load: Any) -> Any:
        key = (kind, credential.cache_key)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = await load()
        if len(self._cache) > 1000:  # many callers over HTTP: keep the cache bounded
            self._cache.clear()
        self._cache[key] = (now, value)
        return value

    async def catalogue(self, credential: Credential) -> list[dict[str, Any]]:
        """GET /queries: every query this credential may see."""

        async def load() -> list[dict[str, Any]]:
            return await self._ask("listing queries", credential, lambda api: api.list_queries())

        result: list[dict[str, Any]] = await self._cached("catalogue", credential, load)
        return result

    async def run(
        self,
        name: str,
        params: dict[str, Any],
        credential: Credential,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Any:
        """POST /queries/{name} with the parameters as its JSON body; ``limit`` and ``cursor``
        page the rows (the gateway answers ``row_count`` for all of them and ``next_cursor``)."""
        return await self._ask(
            name,
            credential,
            lambda api: api.run_query(name, params, limit=limit, cursor=cursor),
        )

    async def license(self, credential: Credential) -> LicenseState:
        """GET /license from the gateway, reduced to what the MCP server needs."""
        if demo_mode():
            return LicenseState(known=True, plan="demo", mcp_server=True, note="demo mode")

        async def load() -> LicenseState:
            what = "reading the plan"
            try:
                body = await self.api(credential).license()
            except StackNotFound as exc:
                return LicenseState(known=False, note=self._silent(what, exc))
            except ApiError as exc:
                if exc.status in {404, 405}:
                    return LicenseState(
                        known=False,
                        note="the gateway has no GET /license; plan unknown, not enforced",
                    )
                return LicenseState(known=False, note=_refusal(exc, what))
            except ClientError:
                return LicenseState(known=False, note="GET /license did not answer a JSON object")
            features = body.get("features")
            if not isinstance(features, dict):
                return LicenseState(known=False, note="GET /license named no features")
            plan = str(body.get("plan") or "unknown")
            return LicenseState(known=True, plan=plan, mcp_server=bool(features.get("mcp_server")))

        result: LicenseState = await self._cached("license", credential, load)
        return result

    async def health(self) -> dict[str, Any]:
        """The gateway's /health/platform (else /health and /ready), as they answer."""
        api = self.api(Credential())
        out: dict[str, Any] = {}
        try:
            platform = await api.probe("/health/platform")
            if platform.ok and isinstance(platform.body, dict):
                return {"platform": platform.body}
        except StackNotFound:
            pass
        for probe in ("health", "ready"):
            try:
                answer = await api.probe("/health" if probe == "health" else "/ready")
            except StackNotFound as exc:
                out[probe] = {"ok": False, "error": exc.reason or str(exc)}
                continue
            out[probe] = {"ok": answer.ok, "status": answer.status}
            if answer.body:
                out[probe]["body"] = answer.body
        return out


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
