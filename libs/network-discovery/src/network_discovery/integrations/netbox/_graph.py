"""Reading the graph for a sync: through the REST API (the CLI) or graph-engine's internal API
(the netbox-sync service). Both answer ``POST <prefix>/<query>`` with ``rows``; the REST API
pages large answers with ``next_cursor``."""

from __future__ import annotations

from typing import Any

import httpx

from network_discovery.client import ApiError
from network_discovery.integrations.netbox._errors import NetBoxError

__all__ = ["GraphError", "GraphReader"]


class GraphError(NetBoxError):
    """The graph side of a sync failed (not reachable, or refused the query)."""


class GraphReader:
    def __init__(
        self,
        base_url: str,
        *,
        prefix: str = "/queries",
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=headers or {}, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def query(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            try:
                response = await self._http.post(
                    f"{self.prefix}/{name}",
                    json=params or {},
                    params={"cursor": cursor} if cursor else None,
                )
            except httpx.HTTPError as exc:
                raise GraphError(
                    f"the graph at {self.base_url} does not answer ({type(exc).__name__})"
                ) from exc
            if response.status_code >= 400:
                problem = ApiError.from_response(response)  # the one problem+json reader
                raise GraphError(
                    f"query {name} failed ({problem.message})", status=response.status_code
                )
            body = response.json()
            rows.extend(body["rows"])
            cursor = body.get("next_cursor")
            if not cursor:
                return rows

    async def inventory(self) -> list[dict[str, Any]]:
        return await self.query("netbox_inventory")

    async def declared_links(self) -> list[dict[str, Any]]:
        """Links NetBox declares now (as the last pull left them), as drift rows."""
        rows = await self.query("netbox_drift", {"include_matched": True})
        return [r for r in rows if r["status"] in ("netbox_only", "both")]
