"""The gateway's hop to graph-engine for catalogue queries (``POST /internal/queries/{name}``).

The hop carries most of the calls the gateway serves, so it uses ``aiohttp``, whose client
spends less CPU per request than ``httpx``'s, with a pool of kept-alive HTTP/1.1 connections.
Every call carries the installation's service credential and the caller's correlation id,
like every other internal call (``httpx``, through ``internal_client``, for the gateway's
other routes); graph-engine's problems come back as the gateway's (:func:`graph_problem`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec
import structlog
from meshq_runtime.http import CORRELATION_HEADER, ProblemError
from meshq_runtime.logging import current_correlation_id

__all__ = ["ON_BEHALF_HEADER", "GraphAnswer", "QueryHop", "graph_problem"]

#: The caller a forwarded query runs for (its principal's name).
ON_BEHALF_HEADER = "X-MeshQ-On-Behalf-Of"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class GraphAnswer:
    """graph-engine's answer to one query: decoded, and the JSON as it came (what the answer
    cache keeps)."""

    body: dict[str, Any]
    raw: bytes


class QueryHop:
    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float = 30.0,
        connections: int = 100,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {**headers, "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections, keepalive_timeout=30, ttl_dns_cache=60
                ),
                timeout=self._timeout,
                # graph-engine's answers are JSON we decode ourselves; no cookies between calls
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run(
        self,
        name: str,
        params: Mapping[str, Any],
        *,
        offset: int,
        limit: int,
        on_behalf: str | None = None,
    ) -> GraphAnswer:
        """Run query ``name``; graph-engine is asked for the page ``offset``/``limit`` (one
        that does not page yet answers every row, and says so by leaving ``offset`` out)."""
        path = f"/internal/queries/{quote(name, safe='')}"
        headers = self._headers
        cid = current_correlation_id()
        if cid:
            headers = {**headers, CORRELATION_HEADER: cid}
        if on_behalf:
            # who the query runs for (an acknowledgement records it); the service behind
            # trusts it because the call carries the installation's service credential
            headers = {**headers, ON_BEHALF_HEADER: quote(on_behalf[:255], safe="@.-_")}
        try:
            async with self._open().post(
                self._base + path,
                params={"limit": str(limit), "offset": str(offset)},
                data=msgspec.json.encode(dict(params)),
                headers=headers,
            ) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProblemError(
                503,
                "Graph engine unavailable",
                f"graph-engine did not answer ({type(exc).__name__})",
            ) from exc
        if status >= 400:
            raise graph_problem(status, raw, path)
        try:
            body = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            raise ProblemError(
                502, "Graph engine error", "graph-engine's answer was not JSON"
            ) from None
        if not isinstance(body, dict):
            raise ProblemError(502, "Graph engine error", "graph-engine's answer was not an object")
        return GraphAnswer(body, raw)


def graph_problem(status: int, content: bytes, path: str) -> ProblemError:
    """graph-engine's error answer as the gateway's problem (5xx as 502, but 503 as itself: a
    store graph-engine answers from is not configured or away, and the problem says which; a
    refusal of the gateway's own credential as 502, logged)."""
    if status == 401:  # graph-engine refused *our* credential, not the user's
        log.error(
            "graph_engine.refused_service_credential",
            path=path[:200],
            fix="give the gateway and graph-engine the same MESHQ_SERVICE_TOKEN",
        )
        return ProblemError(
            502,
            "Graph engine refused the gateway",
            "graph-engine did not accept this gateway's service credential; see the gateway's logs",
        )
    try:
        problem = json.loads(content)
    except ValueError:
        problem = {"title": "Graph engine error", "detail": content[:500].decode(errors="replace")}
    if not isinstance(problem, dict):
        problem = {"title": "Graph engine error"}
    extra = {k: v for k, v in problem.items() if k not in {"type", "title", "status", "detail"}}
    return ProblemError(
        status if status < 500 or status == 503 else 502,
        str(problem.get("title", "Error")),
        str(problem.get("detail", "")),
        **extra,
    )
