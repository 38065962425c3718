"""A small async client for the NetBox REST API (4.x), on httpx.

- ``Authorization: Token <key>`` on every request.
- Lists follow ``next`` until it is null (``?limit=`` per page), rebased on the configured URL so
  a NetBox behind a TLS proxy that writes ``http://`` links still works.
- Writes go to the bulk endpoints (a list body), in chunks; NetBox applies a bulk write whole or
  not at all, so when it refuses some objects (400 with one error object per item) the others
  are sent again and the refused ones are reported, each with its object and field.
- 429 and 502/503/504 are retried with backoff, honouring ``Retry-After`` (capped); 500 is
  retried for reads only.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from network_discovery.integrations.netbox._errors import (
    FieldError,
    NetBoxError,
    NetBoxUnavailable,
    NetBoxValidationError,
)

__all__ = ["DEFAULT_PAGE_SIZE", "NetBoxClient", "WriteResult"]

log = structlog.get_logger(__name__)

DEFAULT_PAGE_SIZE = 250
BULK_CHUNK = 100
_RETRY_ALWAYS = frozenset({429, 502, 503, 504})
Label = Callable[[Mapping[str, Any]], str]


def _default_label(item: Mapping[str, Any]) -> str:
    for key in ("name", "model", "address", "mac_address", "slug", "id"):
        if item.get(key) not in (None, ""):
            return str(item[key])
    return "(object)"


class WriteResult:
    """Objects NetBox accepted (as it returned them) and the errors of those it refused."""

    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []
        self.errors: list[FieldError] = []


class NetBoxClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_retries: int = 6,
        max_retry_wait: float = 60.0,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"NETBOX_URL must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        self.page_size = page_size
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._on_request = on_request
        self._http = httpx.AsyncClient(
            base_url=self.url,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": "meshoptixiq-netbox-sync",
            },
            timeout=timeout,
            transport=transport,
        )
        self.requests = 0
        self.retries = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> NetBoxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- transport ----------------------------------------------------------------------

    def _rebase(self, link: str) -> str:
        """``next`` as a path on our base URL (NetBox writes it from the Host it was sent)."""
        parts = urlsplit(link)
        base = urlsplit(self.url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def _wait(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        wait: float | None = None
        if header:
            try:
                wait = float(header)
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(header)
                wait = parsed.timestamp() - time.time() if parsed else None
        if wait is None:
            wait = min(2.0**attempt * 0.5, 30.0)
        return max(0.0, min(wait, self.max_retry_wait))

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        """One call with retries; returns any response below 500 other than 429."""
        attempt = 0
        while True:
            self.requests += 1
            if self._on_request:
                self._on_request()
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise NetBoxUnavailable(
                        f"NetBox at {self.url} does not answer ({type(exc).__name__}: {exc})"
                    ) from exc
                await self._backoff(None, attempt, method, path)
                attempt += 1
                continue
            status = response.status_code
            retryable = status in _RETRY_ALWAYS or (status == 500 and method == "GET")
            if not retryable:
                return response
            if attempt >= self.max_retries:
                raise NetBoxUnavailable(
                    f"NetBox answered {status} to {method} {path} {attempt + 1} times; "
                    "try again later",
                    status=status,
                )
            await self._backoff(response, attempt, method, path)
            attempt += 1

    async def _backoff(
        self, response: httpx.Response | None, attempt: int, method: str, path: str
    ) -> None:
        wait = self._wait(response, attempt) if response is not None else min(2.0**attempt, 30.0)
        self.retries += 1
        log.warning(
            "netbox.retry",
            method=method,
            path=path,
            status=response.status_code if response is not None else None,
            wait_s=round(wait, 2),
            attempt=attempt + 1,
        )
        await self._sleep(wait)

    def _raise(self, response: httpx.Response, method: str, path: str) -> None:
        if response.status_code < 400:
            return
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:300]
        detail = body.get("detail") if isinstance(body, dict) else None
        if response.status_code in (401, 403):
            raise NetBoxError(
                f"NetBox refused the token ({response.status_code}: {detail or body}); "
                "check NETBOX_TOKEN and its permissions",
                status=response.status_code,
            )
        raise NetBoxError(
            f"NetBox answered {response.status_code} to {method} {path}: {detail or body}",
            status=response.status_code,
        )

    # --- reads --------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        response = await self.request("GET", "/api/status/")
        self._raise(response, "GET", "/api/status/")
        return dict(response.json())

    async def list(self, endpoint: str, **filters: Any) -> list[dict[str, Any]]:
        """Every object of ``endpoint`` (``dcim/devices``) matching ``filters``, all pages."""
        path: str | None = f"/api/{endpoint.strip('/')}/"
        params: dict[str, Any] | None = {**filters, "limit": self.page_size}
        out: list[dict[str, Any]] = []
        while path is not None:
            response = await self.request("GET", path, params=params)
            self._raise(response, "GET", path)
            page = response.json()
            out.extend(page["results"])
            following = page.get("next")
            path, params = (self._rebase(following), None) if following else (None, None)
        return out

    # --- writes -------------------------------------------------------------------------

    async def create(
        self, endpoint: str, items: Sequence[Mapping[str, Any]], *, label: Label = _default_label
    ) -> WriteResult:
        return await self._bulk("POST", endpoint, items, label)

    async def update(
        self, endpoint: str, items: Sequence[Mapping[str, Any]], *, label: Label = _default_label
    ) -> WriteResult:
        """Bulk PATCH: each item carries the ``id`` of the object and the fields to change."""
        return await self._bulk("PATCH", endpoint, items, label)

    async def delete(self, endpoint: str, ids: Sequence[int]) -> None:
        path = f"/api/{endpoint.strip('/')}/"
        for start in range(0, len(ids), BULK_CHUNK):
            body = [{"id": i} for i in ids[start : start + BULK_CHUNK]]
            response = await self.request("DELETE", path, json=body)
            self._raise(response, "DELETE", path)

    async def _bulk(
        self, method: str, endpoint: str, items: Sequence[Mapping[str, Any]], label: Label
    ) -> WriteResult:
        path = f"/api/{endpoint.strip('/')}/"
        result = WriteResult()
        for start in range(0, len(items), BULK_CHUNK):
            pending = [dict(i) for i in items[start : start + BULK_CHUNK]]
            while pending:
                response = await self.request(method, path, json=pending)
                if response.status_code == 400:
                    refused = _refused_items(response, endpoint, pending, label)
                    if not refused:  # not a per-object answer: nothing to retry
                        self._raise(response, method, path)
                    result.errors.extend(e for _, errs in refused for e in errs)
                    bad = {index for index, _ in refused}
                    pending = [p for i, p in enumerate(pending) if i not in bad]
                    continue
                self._raise(response, method, path)
                result.done.extend(response.json())
                pending = []
        if result.errors:
            log.warning("netbox.refused", endpoint=endpoint, objects=len(result.errors))
        return result

    def raise_refused(self, result: WriteResult) -> None:
        if result.errors:
            raise NetBoxValidationError(result.errors)


def _refused_items(
    response: httpx.Response,
    endpoint: str,
    sent: list[dict[str, Any]],
    label: Label,
) -> list[tuple[int, list[FieldError]]]:
    """The items NetBox refused, with their field errors (``[{}, {"name": [...]}]``)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, dict) and len(sent) == 1:
        body = [body]
    if not isinstance(body, list) or len(body) != len(sent):
        return []
    out: list[tuple[int, list[FieldError]]] = []
    for index, (item, errors) in enumerate(zip(sent, body, strict=True)):
        if not errors:
            continue
        if not isinstance(errors, dict):
            errors = {"__all__": errors}
        fields = [
            FieldError(
                endpoint.strip("/"),
                label(item),
                str(name),
                tuple(str(m) for m in (msgs if isinstance(msgs, list) else [msgs])),
            )
            for name, msgs in errors.items()
        ]
        out.append((index, fields))
    return out
