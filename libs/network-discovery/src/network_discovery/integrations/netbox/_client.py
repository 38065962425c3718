"""A small async client for the NetBox REST API (4.x), on httpx.

- ``Authorization: Token <key>`` on every request.
- Lists follow ``next`` until it is null (``?limit=`` per page), rebased on the configured URL so
  a NetBox behind a TLS proxy that writes ``http://`` links still works.
- Writes go to the bulk endpoints (a list body), in chunks sized to finish well within the
  timeout (``_bulk.Sizer``). NetBox applies a bulk write whole or not at all, so when it refuses
  some objects (400 with one error object per item) the others are sent again and the refused
  ones are reported, each with its object and field.
- What is safe to repeat is retried with backoff, honouring ``Retry-After`` (capped): reads
  (429, 500, 502/503/504, no answer), PATCH and DELETE (429, 502/503/504, no answer: applying
  them twice leaves NetBox as applying them once) and a POST NetBox certainly never got (429, a
  connection refused). A POST that may have been applied (no answer after it was sent, or
  502/503/504) is never sent again blindly: the caller's ``recover`` reads back what NetBox
  holds (by the sync's tag and each object's natural key), those objects count as created, and
  only the others are sent again. Every answer of a chunk counts: created, found, refused.
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

from network_discovery.integrations.netbox._bulk import (
    BULK_CHUNK,
    Batch,
    Label,
    Sizer,
    WriteResult,
    default_label,
    labeller,
    refused_items,
)
from network_discovery.integrations.netbox._errors import (
    NetBoxError,
    NetBoxUnavailable,
    NetBoxValidationError,
)

__all__ = ["BULK_CHUNK", "DEFAULT_PAGE_SIZE", "DEFAULT_TIMEOUT", "NetBoxClient", "WriteResult"]

log = structlog.get_logger(__name__)

DEFAULT_PAGE_SIZE = 250
DEFAULT_TIMEOUT = 30.0
_RETRY_ALWAYS = frozenset({429, 502, 503, 504})
#: answers to a POST that do not say whether NetBox applied it (a proxy's, or NetBox's own
#: worker gave up after the transaction was committed)
_UNCLEAR = frozenset({502, 503, 504})
#: transport failures before any byte of the request left: nothing can have been applied
_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
#: given objects a POST may have created, what NetBox holds for each (None: not there)
Recover = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any] | None]]]


class _NoAnswer(Exception):
    """A POST NetBox may or may not have applied."""

    def __init__(self, what: str, response: httpx.Response | None, *, timeout: bool) -> None:
        super().__init__(what)
        self.response = response
        self.timeout = timeout


class NetBoxClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_retries: int = 6,
        max_retry_wait: float = 60.0,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"NETBOX_URL must start with http:// or https://, got {url!r}")
        if not timeout > 0:
            raise ValueError(f"the NetBox timeout must be above 0 seconds, got {timeout!r}")
        self.url = url.rstrip("/")
        self.page_size = page_size
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.timeout = timeout
        self._sleep = sleep
        self._on_request = on_request
        self._sizer = Sizer(timeout)
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
        """One call, retried while repeating it is safe; returns any response below 500 other
        than 429. A POST NetBox may have applied raises :class:`_NoAnswer` instead."""
        attempt = 0
        while True:
            self.requests += 1
            if self._on_request:
                self._on_request()
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:
                what = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if method == "POST" and not isinstance(exc, _NOT_SENT):
                    raise _NoAnswer(
                        what, None, timeout=isinstance(exc, httpx.TimeoutException)
                    ) from exc
                if attempt >= self.max_retries:
                    raise NetBoxUnavailable(
                        f"NetBox at {self.url} does not answer ({what})"
                    ) from exc
                await self._backoff(None, attempt, method, path)
                attempt += 1
                continue
            status = response.status_code
            if method == "POST" and status in _UNCLEAR:
                raise _NoAnswer(f"HTTP {status}", response, timeout=status == 504)
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
        self,
        endpoint: str,
        items: Sequence[Mapping[str, Any]],
        *,
        label: Label = default_label,
        labels: Sequence[str] | None = None,
        recover: Recover | None = None,
    ) -> WriteResult:
        """Bulk POST. Without ``recover``, an answer that leaves it unclear whether NetBox
        created the objects stops the write (:class:`NetBoxUnavailable`): nothing is sent
        twice."""
        return await self._bulk("POST", endpoint, items, labeller(items, label, labels), recover)

    async def update(
        self,
        endpoint: str,
        items: Sequence[Mapping[str, Any]],
        *,
        label: Label = default_label,
        labels: Sequence[str] | None = None,
    ) -> WriteResult:
        """Bulk PATCH: each item carries the ``id`` of the object and the fields to change."""
        return await self._bulk("PATCH", endpoint, items, labeller(items, label, labels), None)

    async def delete(self, endpoint: str, ids: Sequence[int]) -> WriteResult:
        """Bulk DELETE by id (NetBox skips ids it no longer has, so a repeat is harmless)."""
        items = [{"id": int(i)} for i in ids]
        return await self._bulk("DELETE", endpoint, items, labeller(items, default_label), None)

    async def _bulk(
        self,
        method: str,
        endpoint: str,
        items: Sequence[Mapping[str, Any]],
        label: Callable[[int], str],
        recover: Recover | None,
    ) -> WriteResult:
        path = f"/api/{endpoint.strip('/')}/"
        key = f"{method} {endpoint.strip('/')}"
        result = WriteResult()
        queue: Batch = [(i, dict(b)) for i, b in enumerate(items)]
        unsure: set[int] = set()  # sent in a POST that may have been applied
        attempt = 0
        while queue:
            size = self._sizer.size(key)
            batch, rest = queue[:size], queue[size:]
            started = time.monotonic()
            try:
                response = await self.request(method, path, json=[b for _, b in batch])
            except _NoAnswer as unclear:
                result.unanswered += 1
                if unclear.timeout:
                    self._sizer.timed_out(key, len(batch))
                if recover is None or attempt >= self.max_retries:
                    raise NetBoxUnavailable(
                        f"NetBox gave no clear answer to POST {path} ({unclear}); it may have "
                        "applied it, so it was not sent again: run the sync again",
                        status=None if unclear.response is None else unclear.response.status_code,
                    ) from unclear
                await self._backoff(unclear.response, attempt, method, path)
                attempt += 1
                missing = await self._adopt(batch, recover, result, endpoint)
                unsure.update(i for i, _ in missing)
                queue = missing + rest
                continue
            if response.status_code == 400:
                refused = refused_items(response, endpoint, batch, label)
                if not refused:  # not a per-object answer: nothing to retry
                    self._raise(response, method, path)
                doubtful = [batch[k] for k in refused if batch[k][0] in unsure]
                adopted: set[int] = set()
                if doubtful and recover is not None:  # refused as existing: made by a try before?
                    missing_now = await self._adopt(doubtful, recover, result, endpoint)
                    adopted = {i for i, _ in doubtful} - {i for i, _ in missing_now}
                for k, errors in refused.items():
                    if batch[k][0] not in adopted:
                        result.refused[batch[k][0]] = errors
                queue = [p for k, p in enumerate(batch) if k not in refused] + rest
                continue
            self._raise(response, method, path)
            self._sizer.observe(key, len(batch), time.monotonic() - started)
            attempt = 0
            if method == "DELETE":
                result.objects.update({i: b for i, b in batch})
            elif method == "PATCH":  # NetBox answers in its own order: match by id
                by_id = {int(b["id"]): i for i, b in batch}
                for obj in response.json():
                    if int(obj["id"]) in by_id:
                        result.objects[by_id[int(obj["id"])]] = obj
            else:
                for (i, _), obj in zip(batch, response.json(), strict=True):
                    result.objects[i] = obj
            queue = rest
        if result.refused:
            log.warning("netbox.refused", endpoint=endpoint, objects=len(result.refused))
        if result.unanswered:
            log.warning(
                "netbox.read_back",
                endpoint=endpoint,
                unanswered=result.unanswered,
                found=result.recovered,
            )
        return result

    async def _adopt(
        self,
        batch: Batch,
        recover: Recover,
        result: WriteResult,
        endpoint: str,
    ) -> Batch:
        """Read back what ``batch`` may have created: record what NetBox holds, return the rest."""
        found = await recover([b for _, b in batch])
        missing: Batch = []
        for (i, body), obj in zip(batch, found, strict=True):
            if obj is None:
                missing.append((i, body))
            else:
                result.objects[i] = obj
                result.recovered += 1
        log.info(
            "netbox.read_back_found",
            endpoint=endpoint,
            found=len(batch) - len(missing),
            missing=len(missing),
        )
        return missing

    def raise_refused(self, result: WriteResult) -> None:
        if result.errors:
            raise NetBoxValidationError(result.errors)
