"""The graph engine's internal HTTP API (called by the query gateway and the NetBox sync, not
by users). Every route but the probes needs the installation's service credential (the app's
``ServiceAuthMiddleware``); every call of a query that writes is audited (``audit``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import structlog
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter
from meshq_runtime.http import ProblemError
from meshq_runtime.service_auth import CALLER_HEADER
from network_discovery.contracts.events import SnapshotPatch, SnapshotStored, SnapshotStoredData
from network_discovery.model import MetadataPatch
from pydantic import BaseModel, ConfigDict, Field

from meshq_graph_engine.archive import snapshot_diff
from meshq_graph_engine.audit import require_room, write_event
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, describe, run_query
from meshq_graph_engine.catalogue.base import MAX_LIMIT, MAX_OFFSET
from meshq_graph_engine.deps import Deps, GraphDeps, ReaderDeps, WriterDeps
from meshq_graph_engine.intake import IntakeError, public_status
from meshq_graph_engine.reader import GraphReader
from meshq_graph_engine.revision import RevisionStamps
from meshq_graph_engine.simulations import ROUTES as SIMULATION_ROUTES

__all__ = ["ROUTES", "SUBMITTED_BY_HEADER", "stored_reference"]

log = structlog.get_logger(__name__)

#: Set by the gateway on a submitted snapshot: the identity of the caller who sent it.
SUBMITTED_BY_HEADER = "X-MeshQ-Submitted-By"
#: Longest long-poll of ``GET /internal/snapshots/{id}?wait=``, in seconds.
MAX_WAIT = 60.0


def _writer(deps: GraphDeps) -> WriterDeps:
    """The writer's dependencies (a handler has sent a query-only replica's call on)."""
    if not isinstance(deps, WriterDeps):  # pragma: no cover - handlers check the role first
        raise ProblemError(503, "Not the writer", "this replica only answers queries")
    return deps


async def _forward(
    deps: ReaderDeps,
    path: str,
    body: Any = None,
    *,
    request: Request[Any, Any, Any] | None = None,
) -> Response[Any]:
    """The writer's answer to the same request, status and body as they came; the writer
    audits a write under the name of the service that called this replica."""
    caller = request.scope.get("state", {}).get("service_caller") if request else None
    headers = {CALLER_HEADER: caller} if caller else None
    if body is None:
        return await _relay(deps.writer.get(path, headers=headers))
    return await _relay(deps.writer.post(path, json=body, headers=headers))


async def _relay(call: Awaitable[httpx.Response], *, location: bool = False) -> Response[Any]:
    """The writer's answer to ``call`` as this replica's (with its ``Location`` when asked);
    503 when the writer does not answer."""
    try:
        answer = await call
    except httpx.HTTPError as exc:
        raise ProblemError(
            503, "Writer unavailable", f"the graph-engine writer did not answer: {exc}"
        ) from None
    where = answer.headers.get("location") if location else None
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
        headers={"Location": where} if where else None,
    )


@get("/internal/queries", tags=["internal"])
async def list_queries() -> list[dict[str, Any]]:
    """Every catalogue query with the JSON Schema of its parameters."""
    return [describe(q) for _, q in sorted(REGISTRY.items())]


@post("/internal/queries/{name:str}", tags=["internal"], status_code=200)
async def execute_query(
    name: FromPath[str],
    deps: Deps,
    request: Request[Any, Any, Any],
    data: JSONBody[dict[str, Any] | None] = None,
    limit: Annotated[int | None, Parameter(ge=1, le=MAX_LIMIT)] = None,
    offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any] | Response[Any]:
    """Run one query; the body is its parameters as a JSON object. ``limit`` and ``offset``
    ask for one page of the answer (paged in the store where the query's Cypher orders it);
    ``row_count`` is always the size of the whole answer. A query that writes is audited
    under the calling service's name (a query-only replica sends it to the writer)."""
    query = REGISTRY.get(name)
    if query is None or not query.writes:
        return await _run(deps, name, data or {}, limit=limit, offset=offset)
    if isinstance(deps, ReaderDeps):
        return await _forward(deps, f"/internal/queries/{name}", data or {}, request=request)
    buffer = require_room(_writer(deps).audit)
    started = time.monotonic()
    status, rows = 500, None
    try:
        answer = await _run(deps, name, data or {})
        status, rows = 200, answer["rows"]
        return answer
    except ProblemError as exc:
        status = exc.status
        raise
    finally:
        buffer.submit(
            write_event(
                request.scope,
                query=name,
                params=data or {},
                status=status,
                elapsed_ms=(time.monotonic() - started) * 1000,
                rows=rows,
            )
        )


#: The stamp of the revision this process answers at (answers carry it: the gateway caches
#: them under it).
_STAMPS = RevisionStamps()


def _graph_revision(deps: GraphDeps) -> int | None:
    engine = deps.engine
    return engine.graph_revision if isinstance(engine, GraphReader) else engine.revision


async def _run(
    deps: GraphDeps,
    name: str,
    params: dict[str, Any],
    *,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    engine = deps.engine
    before = _graph_revision(deps)
    try:
        result = await run_query(
            REGISTRY,
            name,
            params,
            QueryContext(
                engine.store,
                engine,
                metrics=deps.metrics,
                flows=deps.flows,
                compliance=deps.compliance,
                vulns=deps.vulns,
                k8s=deps.k8s,
            ),
            limit=limit,
            offset=offset,
        )
    except QueryError as exc:
        raise ProblemError(exc.status, exc.title, exc.detail, errors=exc.errors) from None
    answer: dict[str, Any] = {
        "query": result.name,
        "rows": result.rows,
        "row_count": result.row_count,
        "elapsed_ms": result.elapsed_ms,
        "offset": result.offset,
        "limit": result.limit,
    }
    # the revision the answer was worked out at (the graph did not move meanwhile), or that a
    # write left the graph at
    after = _graph_revision(deps)
    query = REGISTRY.get(name)
    if query is not None and query.source != "graph":
        return answer  # no revision: it changes with time, so no cache may keep it
    if after == before or (query is not None and query.writes):
        stamp = await _STAMPS.of(deps.store, after)
        if stamp is not None:
            answer["revision"], answer["revision_at"] = stamp
    return answer


def _snapshot_row(row: dict[str, Any]) -> dict[str, Any]:
    summary = json.loads(row.pop("summary") or "{}")
    return {**row, "snapshot_id": row.pop("id"), **summary}


@get("/internal/snapshots", tags=["internal"])
async def list_snapshots(deps: Deps) -> list[dict[str, Any]]:
    """Every applied snapshot, newest first, with its diff summary."""
    rows = await deps.store.execute(
        "MATCH (s:Snapshot) RETURN s.id AS id, s.source AS source, s.collected_at AS collected_at,"
        " s.applied_at AS applied_at, s.scope_devices AS scope_devices, s.summary AS summary"
        " ORDER BY applied_at DESC"
    )
    return [_snapshot_row(r) for r in rows]


@get("/internal/snapshots/{a:str}/diff/{b:str}", tags=["internal"])
async def diff_snapshots(
    a: FromPath[str], b: FromPath[str], deps: Deps, request: Request[Any, Any, Any]
) -> dict[str, Any] | Response[Any]:
    """What changed in the collected facts from snapshot ``a`` to snapshot ``b``."""
    if isinstance(deps, ReaderDeps):  # the archive lives on the writer's volume
        return await _forward(
            deps,
            f"/internal/snapshots/{quote(a, safe='')}/diff/{quote(b, safe='')}",
            request=request,
        )
    archive = _writer(deps).archive
    first, second = archive.load(a), archive.load(b)
    missing = [name for name, snap in ((a, first), (b, second)) if snap is None]
    if missing:
        raise ProblemError(404, "Unknown snapshot", f"no archived snapshot {missing[0]!r}")
    assert first is not None and second is not None
    return snapshot_diff(first, second)


def stored_reference(record: dict[str, Any], correlation_id: str | None = None) -> SnapshotStored:
    """The event that queues an accepted snapshot for its apply. A repeat (the sweep's) is a
    new event; the consumer skips it once the snapshot's status record is final."""
    fields: dict[str, Any] = {}
    if correlation_id:
        fields["correlation_id"] = correlation_id[:128]
    return SnapshotStored(
        source="graph-engine",
        subject=str(record.get("source") or ""),
        data=SnapshotStoredData(
            snapshot_id=record["snapshot_id"],
            sha256=record["sha256"],
            bytes=int(record.get("bytes") or 0),
            source=str(record.get("source") or "")[:256],
            submitted_by=str(record.get("submitted_by") or "")[:256],
        ),
        **fields,
    )


async def _forward_stream(deps: ReaderDeps, request: Request[Any, Any, Any]) -> Response[Any]:
    """A submission that reached a query-only replica, streamed on to the writer."""
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() in {"content-type", "content-encoding", SUBMITTED_BY_HEADER.lower()}
    }
    caller = request.scope.get("state", {}).get("service_caller")
    if caller:
        headers[CALLER_HEADER] = caller
    call = deps.writer.post(
        "/internal/snapshots",
        content=request.stream(),
        headers=headers,
        timeout=httpx.Timeout(600.0, connect=10.0),
    )
    return await _relay(call, location=True)


@post(
    "/internal/snapshots",
    tags=["internal"],
    status_code=202,
    request_max_body_size=None,  # bounded by MESHQ_SNAPSHOT_MAX_BYTES while it streams
)
async def submit_snapshot(deps: Deps, request: Request[Any, Any, Any]) -> Response[Any]:
    """Receive a snapshot (JSON, plain or gzip), store it and queue it for its apply: 202
    once it is durable, with where to follow it; 413/415/422 when it is refused."""
    if isinstance(deps, ReaderDeps):
        return await _forward_stream(deps, request)
    writer = _writer(deps)
    intake = writer.intake
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media.lower() not in {"application/json", "application/octet-stream"}:
        raise ProblemError(
            415, "Unsupported media type", f"send the snapshot as application/json, not {media!r}"
        )
    slots = writer.intake_slots
    try:
        await asyncio.wait_for(slots.acquire(), timeout=30.0)
    except TimeoutError:
        raise ProblemError(
            429,
            "Busy",
            "other snapshots are being received; submit again shortly",
            retry_after=5,
        ) from None
    try:
        accepted = await intake.receive(
            request.stream(),
            encoding=request.headers.get("content-encoding"),
            submitted_by=request.headers.get(SUBMITTED_BY_HEADER, "")
            or request.scope.get("state", {}).get("service_caller", ""),
        )
    except IntakeError as exc:
        extra: dict[str, Any] = {"errors": exc.errors} if exc.errors else {}
        raise ProblemError(exc.status, exc.title, exc.detail, **extra) from None
    finally:
        slots.release()
    snapshot_id = accepted.snapshot.snapshot_id
    try:
        await writer.bus.publish(
            stored_reference(accepted.record, request.headers.get("x-correlation-id"))
        )
        intake.queued(snapshot_id)
    except Exception as exc:  # stored: the sweep publishes the reference once the broker is back
        log.warning(
            "intake.queue_deferred",
            snapshot_id=snapshot_id,
            error=f"{type(exc).__name__}: {exc}"[:200],
        )
    location = f"/snapshots/{quote(snapshot_id, safe='')}"
    return Response(
        {"snapshot_id": snapshot_id, "status": "accepted", "location": location},
        status_code=202,
        headers={"Location": location},
    )


@get("/internal/snapshots/{snapshot_id:str}", tags=["internal"])
async def snapshot_status(
    snapshot_id: FromPath[str],
    deps: Deps,
    request: Request[Any, Any, Any],
    wait: Annotated[float, Parameter(ge=0, le=MAX_WAIT)] = 0.0,
) -> dict[str, Any] | Response[Any]:
    """Where a snapshot stands (accepted, applied or rejected); with ``wait``, answer once it
    is final or that many seconds have passed."""
    if isinstance(deps, ReaderDeps):
        path = f"/internal/snapshots/{quote(snapshot_id, safe='')}?wait={wait:g}"
        return await _forward(deps, path, request=request)
    writer = _writer(deps)
    intake = writer.intake
    record = await intake.wait(snapshot_id, wait) if wait else intake.status(snapshot_id)
    if record is None:
        record = await _applied_record(writer, snapshot_id)
    if record is None:
        raise ProblemError(
            404, "Unknown snapshot", f"no snapshot {snapshot_id[:200]!r} was submitted or applied"
        )
    return public_status(record)


async def _applied_record(deps: WriterDeps, snapshot_id: str) -> dict[str, Any] | None:
    """A snapshot applied before status records were kept: from its graph record."""
    rows = await deps.store.execute(
        "MATCH (s:Snapshot) WHERE s.id = $id RETURN s.id AS id, s.source AS source,"
        " s.collected_at AS collected_at, s.applied_at AS applied_at,"
        " s.scope_devices AS scope_devices, s.summary AS summary",
        {"id": snapshot_id},
    )
    if not rows:
        return None
    row = _snapshot_row(dict(rows[0]))
    return {
        "snapshot_id": snapshot_id,
        "status": "applied",
        "source": row.get("source"),
        "collected_at": row.get("collected_at"),
        "finished_at": row.get("applied_at"),
        "result": {
            "scope_devices": row.get("scope_devices"),
            "added": row.get("added") or {},
            "removed": row.get("removed") or {},
            "updated": row.get("updated") or {},
            "empty": bool(row.get("empty")),
        },
    }


#: Most patches in one ``POST /internal/patches``.
MAX_PATCHES = 10_000


class PatchBatch(BaseModel):
    """Metadata patches to queue for the writer, in order."""

    model_config = ConfigDict(extra="forbid")
    patches: list[MetadataPatch] = Field(min_length=1, max_length=MAX_PATCHES)


@post("/internal/patches", tags=["internal"], status_code=202)
async def submit_patches(
    deps: Deps, request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
) -> Response[Any]:
    """Queue metadata patches on the ingest topic: 202 once the broker holds every one (each
    is applied in turn and announced on ``topology.changed``); 422 naming the patch and field
    at fault, and nothing queued, when one is invalid."""
    if isinstance(deps, ReaderDeps):
        return await _forward(deps, "/internal/patches", data, request=request)
    batch = PatchBatch.model_validate(data)
    bus = _writer(deps).bus
    correlation = (request.headers.get("x-correlation-id") or "")[:128]
    ids: list[str] = []
    for patch in batch.patches:
        event = SnapshotPatch(
            source="graph-engine",
            subject=patch.hostname,
            data=patch,
            **({"correlation_id": correlation} if correlation else {}),
        )
        try:
            await bus.publish(event)
        except Exception as exc:
            raise ProblemError(
                503,
                "Broker unavailable",
                f"{len(ids)} of {len(batch.patches)} patches were queued before the broker "
                f"stopped answering ({type(exc).__name__}); send the rest again (a patch "
                "applied twice changes nothing more)",
                queued=len(ids),
            ) from None
        ids.append(event.id)
    return Response({"accepted": len(ids), "patch_ids": ids}, status_code=202)


ROUTES = [
    submit_patches,
    list_queries,
    execute_query,
    list_snapshots,
    submit_snapshot,
    snapshot_status,
    diff_snapshots,
    *SIMULATION_ROUTES,
]
