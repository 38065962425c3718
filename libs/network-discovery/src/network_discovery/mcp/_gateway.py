"""The MCP server's only dependency: the query gateway's REST API, reached over HTTP."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from network_discovery.licensing.gates import demo_mode

__all__ = ["Credential", "Gateway", "GatewayError", "LicenseState"]

#: How long the catalogue and the license answer are reused before asking again (seconds).
CACHE_SECONDS = 10.0


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


def _problem_message(response: httpx.Response, what: str) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    title = body.get("title") or response.reason_phrase or "error"
    detail = body.get("detail") or ""
    message = f"{what}: gateway answered {response.status_code} {title}"
    if detail:
        message += f": {detail}"
    hint = _HINTS.get(response.status_code)
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
        url = os.environ.get("MESHOPTIXIQ_API_URL", "http://localhost:8000").rstrip("/")
        key = os.environ.get("MESHOPTIXIQ_API_KEY") or None
        return cls(url=url, default=Credential(api_key=key), client=client or new_client())

    async def _request(
        self,
        method: str,
        path: str,
        credential: Credential,
        what: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> httpx.Response:
        try:
            return await self.client.request(
                method, self.url + path, json=body, params=query, headers=credential.headers()
            )
        except httpx.HTTPError as exc:
            raise GatewayError(
                f"{what}: the query gateway at {self.url} did not answer "
                f"({type(exc).__name__}); is it running, and is MESHOPTIXIQ_API_URL right?"
            ) from exc

    async def _json(
        self,
        path: str,
        credential: Credential,
        what: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        method = "GET" if body is None else "POST"
        response = await self._request(method, path, credential, what, body, query)
        if response.status_code >= 400:
            raise GatewayError(_problem_message(response, what), status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise GatewayError(f"{what}: the gateway answered something that is not JSON") from exc

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
            data = await self._json("/queries", credential, "listing queries")
            if isinstance(data, dict):
                data = data.get("queries", [])
            return [q for q in data if isinstance(q, dict) and q.get("name")]

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
        path = f"/queries/{quote(name, safe='')}"
        page = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        return await self._json(path, credential, name, body=params, query=page or None)

    async def license(self, credential: Credential) -> LicenseState:
        """GET /license from the gateway, reduced to what the MCP server needs."""
        if demo_mode():
            return LicenseState(known=True, plan="demo", mcp_server=True, note="demo mode")

        async def load() -> LicenseState:
            try:
                response = await self._request("GET", "/license", credential, "reading the plan")
            except GatewayError as exc:
                return LicenseState(known=False, note=str(exc))
            if response.status_code in {404, 405}:
                return LicenseState(
                    known=False, note="the gateway has no GET /license; plan unknown, not enforced"
                )
            if response.status_code >= 400:
                note = _problem_message(response, "reading the plan")
                return LicenseState(known=False, note=note)
            try:
                body = response.json()
            except ValueError:
                return LicenseState(known=False, note="GET /license did not answer JSON")
            features = body.get("features") if isinstance(body, dict) else None
            if not isinstance(features, dict):
                return LicenseState(known=False, note="GET /license named no features")
            plan = str(body.get("plan") or "unknown")
            return LicenseState(known=True, plan=plan, mcp_server=bool(features.get("mcp_server")))

        result: LicenseState = await self._cached("license", credential, load)
        return result

    async def health(self) -> dict[str, Any]:
        """The gateway's /health/platform (else /health and /ready), as they answer."""
        out: dict[str, Any] = {}
        try:
            response = await self.client.get(f"{self.url}/health/platform")
            if response.status_code < 400:
                return {"platform": response.json()}
        except (httpx.HTTPError, ValueError):
            pass
        for probe in ("health", "ready"):
            try:
                response = await self.client.get(f"{self.url}/{probe}")
            except httpx.HTTPError as exc:
                out[probe] = {"ok": False, "error": type(exc).__name__}
                continue
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:500]
            out[probe] = {"ok": response.status_code < 400, "status": response.status_code}
            if body:
                out[probe]["body"] = body
        return out


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))
