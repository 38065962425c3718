"""Operating the installation through the gateway: the audit log, SOAR dead letters, NetBox.

- ``GET /audit/verify?from=N`` and ``GET /audit/export?since=&format=jsonl|csv`` are passed to
  the audit service (``MESHQ_AUDIT_URL``); an export is streamed through as it comes, never
  held whole;
- ``POST /soar/replay`` is passed to the SOAR dispatcher (``MESHQ_SOAR_DISPATCHER_URL``);
- ``POST /netbox/sync`` (``{"direction": "push"|"pull"|"both", "dry_run": bool}``) publishes
  ``meshq.netbox.sync.requested``, which the NetBox sync service runs; it answers 202.

The audit service and the dispatcher answer services only: the gateway calls them with the
installation's service credential, so that clients need nothing but their API key. A service
not configured here is a 409; one that does not answer a 503; their refusals (the plan lacks
``audit_logging`` or ``soar_webhooks``, no webhook configured, an invalid ``since``) come back
as they are.

Who may: the admin (``API_KEY``, or the ``admin`` role under RBAC), or, under RBAC, a role that
grants the verb ``execute`` on the route's resource: ``audit_log`` (verify and export),
``soar_replay``, ``netbox_sync``. Without RBAC in force only the admin key may. Every call is
audited like a query, under its resource's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
import structlog
from litestar import Request, get, post
from litestar.params import JSONBody, QueryParameter
from litestar.response import Stream
from meshq_runtime.http import ProblemError
from meshq_runtime.service_auth import ServiceCredential, internal_client
from network_discovery.contracts.events import NetboxSyncRequested, NetboxSyncRequestedData
from pydantic import BaseModel, ConfigDict, Field, field_validator

from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, principal, requires
from meshq_query_gateway.openapi import problems

__all__ = [
    "AUDIT_RESOURCE",
    "NETBOX_FEATURE",
    "NETBOX_RESOURCE",
    "ROUTES",
    "SOAR_RESOURCE",
    "open_operations",
]

log = structlog.get_logger(__name__)

AUDIT_RESOURCE = "audit_log"
SOAR_RESOURCE = "soar_replay"
NETBOX_RESOURCE = "netbox_sync"
NETBOX_FEATURE = "netbox_sync"
SOURCE = "query-gateway"

_AUDIT = "audit_client"
_SOAR = "soar_client"
#: The largest record number there can be (the audit log numbers them as a bigint).
MAX_SEQ = 2**63 - 1
#: Seconds a sync request may wait for the broker before the call is refused.
PUBLISH_TIMEOUT = 10.0

#: What the routes answer besides the shared descriptions (openapi.PROBLEM_STATUSES).
_PROXIED = {
    409: "This gateway has no such service configured (MESHQ_AUDIT_URL, "
    "MESHQ_SOAR_DISPATCHER_URL), or the service refuses for its own configuration "
    "(no SOAR webhook; a replay already running).",
    502: "The service behind this route failed, or refused the gateway's service credential.",
    503: "The service behind this route does not answer, or the audit log cannot take the "
    "event (Retry-After).",
}


@dataclass(frozen=True)
class Operations:
    """Clients of the audit service and the SOAR dispatcher, where configured."""

    audit: httpx.AsyncClient | None = None
    soar: httpx.AsyncClient | None = None


async def open_operations(
    stack: AsyncExitStack, settings: Any, credential: ServiceCredential
) -> Operations:
    """Clients of the audit service and the SOAR dispatcher (those configured), closed with
    ``stack``."""
    clients: dict[str, httpx.AsyncClient] = {}
    for key, url in ((_AUDIT, settings.audit_url), (_SOAR, settings.soar_dispatcher_url)):
        if url:
            client = internal_client(credential, base_url=url.rstrip("/"))
            # long answers are fine (a verify of a long chain); a host that is away is not
            client.timeout = httpx.Timeout(settings.operations_timeout, connect=5.0)
            stack.push_async_callback(client.aclose)
            clients[key] = client
    return Operations(audit=clients.get(_AUDIT), soar=clients.get(_SOAR))


def _params(request: Request[Any, Any, Any], params: Mapping[str, Any]) -> None:
    """The call's parameters, for its audit event (the route's guard names the resource)."""
    audit_note(request).params = dict(params)


def _client(client: httpx.AsyncClient | None, what: str, env: str) -> httpx.AsyncClient:
    if client is None:
        raise ProblemError(
            409,
            f"No {what}",
            f"this gateway has no {what} configured: set {env} to its URL",
            type_="https://meshoptixiq.com/problems/not-configured",
            field=env,
        )
    return client


def _audited(request: Request[Any, Any, Any], count: int | None, sample: dict[str, Any]) -> None:
    note = audit_note(request)
    note.row_count = count
    note.sample_rows = [sample]


def _unavailable(what: str, exc: Exception) -> ProblemError:
    return ProblemError(
        503, f"{what.capitalize()} unavailable", f"the {what} did not answer ({type(exc).__name__})"
    )


def _problem_of(response: httpx.Response, what: str, path: str) -> ProblemError:
    """The service's refusal as ours: 4xx as it is (its members kept), 5xx as 502, and a
    refusal of the gateway's own credential as 502 (the caller cannot fix it)."""
    if response.status_code == 401:
        log.error(
            "operations.refused_service_credential",
            service=what,
            path=path,
            fix="give the gateway and the service the same MESHQ_SERVICE_TOKEN",
        )
        return ProblemError(
            502,
            f"The {what} refused the gateway",
            f"the {what} did not accept this gateway's service credential; see the gateway's logs",
        )
    if response.status_code in (404, 405):  # no such route there: not the service it names
        log.error("operations.wrong_service", service=what, path=path, status=response.status_code)
        return ProblemError(
            502,
            f"{what.capitalize()} error",
            f"the {what} at the configured URL has no {path}; is it the {what}?",
        )
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {"title": f"{what.capitalize()} error", "detail": response.text[:500]}
    status = response.status_code if response.status_code < 500 else 502
    extra = {k: v for k, v in problem.items() if k not in {"type", "title", "status", "detail"}}
    return ProblemError(
        status,
        str(problem.get("title") or "Error"),
        str(problem.get("detail") or ""),
        type_=str(problem.get("type") or "about:blank"),
        **extra,
    )


async def _relay(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    what: str,
    params: Mapping[str, str] | None = None,
) -> Any:
    try:
        response = await client.request(method, path, params=params)
    except httpx.HTTPError as exc:
        raise _unavailable(what, exc) from exc
    if response.status_code >= 400:
        raise _problem_of(response, what, path)
    try:
        return response.json()
    except ValueError:
        raise ProblemError(
            502, f"{what.capitalize()} error", f"the {what} answered something that is not JSON"
        ) from None


# --- the audit log ---------------------------------------------------------------------------


@get(
    "/audit/verify",
    tags=["operations"],
    opt=problems(400, 403, 409, 502, 503, described=_PROXIED),
    guards=[requires(AUDIT_RESOURCE, admin_or_role=True)],
)
async def audit_verify(
    request: Request[Any, Any, Any],
    deps: Deps,
    start: Annotated[
        int,
        QueryParameter(
            name="from",
            ge=1,
            le=MAX_SEQ,
            description="First record to check (the one before anchors).",
        ),
    ] = 1,
) -> dict[str, Any]:
    """Walk the audit log's hash chain from record ``from``: ``checked``, ``from``, ``last_seq``,
    ``checkpoints`` (signed ones it was checked against), and ``break`` (null when intact, else
    the first changed, deleted, inserted or reordered record: ``seq``, ``kind``, ``reason``)."""
    _params(request, {"from": start})
    client = _client(deps.audit_client, "audit service", "MESHQ_AUDIT_URL")
    result = await _relay(client, "GET", "/audit/verify", "audit service", {"from": str(start)})
    if not isinstance(result, dict):
        raise ProblemError(502, "Audit service error", "the audit service answered no object")
    _audited(
        request,
        result.get("checked"),
        {"intact": result.get("break") is None, "last_seq": result.get("last_seq")},
    )
    return result


@get(
    "/audit/export",
    tags=["operations"],
    media_type="application/x-ndjson",
    opt=problems(400, 403, 409, 422, 502, 503, described=_PROXIED, also_returns=["text/csv"]),
    guards=[requires(AUDIT_RESOURCE, admin_or_role=True)],
)
async def audit_export(
    request: Request[Any, Any, Any],
    deps: Deps,
    since: Annotated[
        str | None,
        QueryParameter(
            max_length=64, description="RFC 3339 time, e.g. 2026-03-06T00:00:00Z (inclusive)."
        ),
    ] = None,
    fmt: Annotated[
        Literal["jsonl", "csv"],
        QueryParameter(name="format", description="jsonl (default) or csv."),
    ] = "jsonl",
) -> Stream:
    """Every audit record (or those recorded at or after ``since``), oldest first, as JSON
    lines or CSV, streamed through from the audit service as it reads them."""
    params = {"format": fmt, **({"since": since} if since is not None else {})}
    _params(request, params)
    client = _client(deps.audit_client, "audit service", "MESHQ_AUDIT_URL")
    try:
        upstream = await client.send(
            client.build_request("GET", "/audit/export", params=params), stream=True
        )
    except httpx.HTTPError as exc:
        raise _unavailable("audit service", exc) from exc
    if upstream.status_code >= 400:
        try:
            await upstream.aread()
        except httpx.HTTPError as exc:
            raise _unavailable("audit service", exc) from exc
        finally:
            await upstream.aclose()
        raise _problem_of(upstream, "audit service", "/audit/export")
    _audited(request, None, {"format": fmt, "since": since})
    media = upstream.headers.get("content-type") or (
        "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:  # the answer is cut short: the client sees it end
            log.warning("audit.export_interrupted", error=type(exc).__name__)
        finally:
            await upstream.aclose()

    # the header, not media_type: a handler's media_type would win over the Stream's own
    return Stream(body(), headers={"content-type": media})


# --- SOAR --------------------------------------------------------------------------------------


@post(
    "/soar/replay",
    tags=["operations"],
    status_code=200,
    opt=problems(403, 409, 502, 503, described=_PROXIED),
    guards=[requires(SOAR_RESOURCE, admin_or_role=True)],
)
async def soar_replay(request: Request[Any, Any, Any], deps: Deps) -> dict[str, int]:
    """Send every dead-lettered webhook again, oldest first, once each: ``replayed``,
    ``delivered``, ``dead_lettered`` (failed again, kept for a later replay), ``skipped``,
    ``imported`` (letters taken in from the dead-letter topic first)."""
    client = _client(deps.soar_client, "SOAR dispatcher", "MESHQ_SOAR_DISPATCHER_URL")
    counts = await _relay(client, "POST", "/soar/replay", "SOAR dispatcher")
    if not isinstance(counts, dict):
        raise ProblemError(502, "SOAR dispatcher error", "the SOAR dispatcher answered no object")
    _audited(request, counts.get("replayed"), dict(counts))
    return counts


# --- NetBox ------------------------------------------------------------------------------------


class NetboxSyncRequest(BaseModel):
    """What ``POST /netbox/sync`` asks for."""

    model_config = ConfigDict(extra="forbid", strict=True)

    direction: Literal["push", "pull", "both"] = Field(
        description="push discovered devices to NetBox, pull its metadata, or both."
    )
    dry_run: bool = Field(False, description="Plan only: change nothing, anywhere.")

    @field_validator("dry_run", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        # checked before any coercion: the body decoder validates leniently, and 1 or "true"
        # is no JSON boolean
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value


class NetboxSyncAccepted(BaseModel):
    """The request as published; the NetBox sync service runs it (its ``GET /sync/status``
    lists the run, with this correlation id)."""

    requested: bool = True
    direction: Literal["push", "pull", "both"]
    dry_run: bool
    requested_by: str
    event_id: str
    correlation_id: str


@post(
    "/netbox/sync",
    tags=["operations"],
    status_code=202,
    opt=problems(
        400,
        403,
        413,
        503,
        described={
            503: "The broker did not take the request, or the audit log cannot take "
            "the event (Retry-After)."
        },
    ),
    guards=[requires(NETBOX_RESOURCE, feature=NETBOX_FEATURE, admin_or_role=True)],
)
async def netbox_sync(
    request: Request[Any, Any, Any], deps: Deps, data: JSONBody[NetboxSyncRequest]
) -> NetboxSyncAccepted:
    """Ask the NetBox sync service for a run (needs the ``netbox_sync`` flag): 202 once the
    request is on the broker; the run itself happens there, one at a time."""
    gw = deps
    _params(request, data.model_dump())
    who = principal(request)
    correlation = request.scope.get("state", {}).get("correlation_id")
    event = NetboxSyncRequested(
        source=SOURCE,
        subject="netbox",
        **({"correlation_id": correlation} if correlation else {}),
        data=NetboxSyncRequestedData(
            direction=data.direction, dry_run=data.dry_run, requested_by=who.name
        ),
    )
    bus = gw.bus
    try:
        await asyncio.wait_for(bus.publish(event), timeout=PUBLISH_TIMEOUT)
    except Exception as exc:  # the broker is away or too slow: nothing was requested
        log.warning("netbox.sync_request_failed", error=type(exc).__name__)
        raise ProblemError(
            503,
            "Broker unavailable",
            f"the sync request could not be published ({type(exc).__name__}); retry shortly",
            retry_after=5,
        ) from exc
    _audited(request, None, {"direction": data.direction, "dry_run": data.dry_run})
    return NetboxSyncAccepted(
        direction=data.direction,
        dry_run=data.dry_run,
        requested_by=who.name,
        event_id=event.id,
        correlation_id=event.correlation_id,
    )


ROUTES = [audit_verify, audit_export, soar_replay, netbox_sync]
