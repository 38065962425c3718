"""``/snapshots``: submit a snapshot, follow it until it is applied, list applied snapshots and
their diffs.

RBAC: reading (the list, a diff, a submission's status) is verb ``execute`` on resource
``snapshots``; submitting is verb ``execute`` on resource ``snapshots.submit``, so a role can
read snapshots without being able to change the graph. Every call is audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, Parameter
from meshq_runtime.http import ProblemError

from meshq_query_gateway.answer_cache import Revision
from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, forward, principal, quoted, requires
from meshq_query_gateway.openapi import problems

__all__ = ["ROUTES", "SUBMIT_RESOURCE"]

#: The RBAC resource of ``POST /snapshots``.
SUBMIT_RESOURCE = "snapshots.submit"
#: Set on the internal call: who submitted the snapshot (graph-engine records it).
_SUBMITTED_BY = "X-MeshQ-Submitted-By"
#: Longest ``wait`` of ``GET /snapshots/{id}``, in seconds.
MAX_WAIT = 60.0
#: The plan flag metadata patches need (the same as ``update_device_metadata``'s).
PATCH_FEATURE = "netbox_sync"


#: Who may read snapshots (``execute``: it returns data; listing never does).
_READ = [requires("snapshots", community=True)]
#: Who may change the graph through them.
_SUBMIT = [requires(SUBMIT_RESOURCE, community=True)]


@get("/snapshots", tags=["snapshots"], guards=_READ, opt=problems(403, 502, 503))
async def list_snapshots(deps: Deps) -> Any:
    """Applied snapshots, newest first, each with its diff summary."""
    return await forward(deps.graph, "GET", "/internal/snapshots")


class _TooLarge(Exception):
    pass


async def _bounded(
    request: Request[Any, Any, Any], limit: int, seen: list[int]
) -> AsyncIterator[bytes]:
    """The body as it streams in, stopped past ``limit`` bytes (``seen[0]``: bytes so far)."""
    async for chunk in request.stream():
        seen[0] += len(chunk)
        if seen[0] > limit:
            raise _TooLarge
        yield chunk


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "Snapshot too large",
        f"the body exceeds {limit} bytes (MESHQ_SNAPSHOT_MAX_BYTES); split the collection "
        "into several snapshots (each replaces only its own scope)",
    )


@post(
    "/snapshots",
    tags=["snapshots"],
    status_code=202,
    request_max_body_size=None,  # bounded by MESHQ_SNAPSHOT_MAX_BYTES while it streams
    guards=_SUBMIT,
    opt=problems(
        400,
        403,
        413,
        415,
        422,
        429,
        502,
        503,
        described={
            400: "The body is empty, or its gzip is corrupt or cut short.",
            413: "The snapshot is larger than MESHQ_SNAPSHOT_MAX_BYTES (as sent, or once "
            "decompressed); refused while it streams, nothing kept.",
            422: "Not a valid snapshot: `errors` holds one {field, message} per fault.",
            429: "Other snapshots are being received; retry after Retry-After seconds.",
        },
        body="A snapshot (the model `meshq contracts export` writes as snapshot.json), "
        "as JSON; Content-Encoding gzip is accepted.",
    ),
)
async def submit_snapshot(request: Request[Any, Any, Any], deps: Deps) -> Response[Any]:
    """Submit a snapshot: its JSON as the body (``Content-Encoding: gzip`` welcome, any size up
    to MESHQ_SNAPSHOT_MAX_BYTES, streamed). 202 once it is stored, with ``Location`` to follow
    it (``GET /snapshots/{id}?wait=30``); 422 with field errors when it is not a valid
    snapshot, and nothing of it is kept."""
    gw, who = deps, principal(request)
    limit = gw.snapshot_max_bytes
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > limit:
        raise _too_large(limit)
    headers = {
        "Content-Type": request.headers.get("content-type", "application/json"),
        _SUBMITTED_BY: who.name[:256],
    }
    if request.headers.get("content-encoding"):
        headers["Content-Encoding"] = request.headers["content-encoding"][:40]
    if request.headers.get("x-correlation-id"):
        headers["X-Correlation-ID"] = request.headers["x-correlation-id"][:128]
    seen = [0]
    note = audit_note(request)
    note.query = SUBMIT_RESOURCE
    try:
        answer = await gw.graph.post(
            "/internal/snapshots",
            content=_bounded(request, limit, seen),
            headers=headers,
            timeout=httpx.Timeout(600.0, connect=10.0),
        )
    except _TooLarge:
        raise _too_large(limit) from None
    except httpx.HTTPError as exc:
        if isinstance(exc.__cause__ or exc.__context__, _TooLarge):
            raise _too_large(limit) from None
        raise ProblemError(
            503, "Graph engine unavailable", f"graph-engine did not answer ({type(exc).__name__})"
        ) from exc
    note.params = {"bytes": seen[0]}
    if answer.status_code != 202:
        await _raise_problem(answer)
    body = answer.json()
    note.params = {"snapshot_id": body.get("snapshot_id"), "bytes": seen[0]}
    return Response(body, status_code=202, headers={"Location": str(body.get("location", ""))})


async def _raise_problem(answer: httpx.Response) -> None:
    """graph-engine's refusal as ours (its 5xx as 502)."""
    try:
        problem = answer.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    status = answer.status_code if answer.status_code < 500 else 502
    if answer.status_code == 401:
        status = 502
    extra = {k: v for k, v in problem.items() if k not in {"type", "title", "status", "detail"}}
    raise ProblemError(
        status,
        str(problem.get("title") or "Graph engine error"),
        str(problem.get("detail") or answer.text[:300]),
        **extra,
    )


@get(
    "/snapshots/{snapshot_id:str}",
    tags=["snapshots"],
    guards=_READ,
    opt=problems(400, 403, 404, 502, 503),
)
async def snapshot_status(
    snapshot_id: FromPath[str],
    request: Request[Any, Any, Any],
    deps: Deps,
    wait: Annotated[
        float,
        Parameter(
            ge=0,
            le=MAX_WAIT,
            description="Seconds to wait for the snapshot to be applied or refused.",
        ),
    ] = 0.0,
) -> Any:
    """Where a submitted snapshot stands: ``accepted`` (stored, waiting for its apply),
    ``applied`` (with what it changed) or ``rejected`` (with why); ``wait`` answers as soon
    as it is final, or after that many seconds."""
    gw = deps
    path = f"/internal/snapshots/{quoted(snapshot_id)}"
    if wait:
        path += f"?wait={wait:g}"
    try:
        answer = await gw.graph.get(path, timeout=httpx.Timeout(wait + 30.0, connect=10.0))
    except httpx.HTTPError as exc:
        raise ProblemError(
            503, "Graph engine unavailable", f"graph-engine did not answer ({type(exc).__name__})"
        ) from exc
    if answer.status_code != 200:
        await _raise_problem(answer)
    body = answer.json()
    result = body.get("result") if isinstance(body, dict) else None
    if gw.cache is not None and body.get("status") == "applied" and isinstance(result, dict):
        # the caller reads the graph next: its answers here are of this revision or later
        gw.cache.learn(
            Revision.parse(result.get("revision"), result.get("revision_at")), via="snapshot"
        )
    return body


@get(
    "/snapshots/{a:str}/diff/{b:str}",
    tags=["snapshots"],
    guards=_READ,
    opt=problems(403, 404, 502, 503),
)
async def diff_snapshots(a: FromPath[str], b: FromPath[str], deps: Deps) -> Any:
    """The facts that differ from one snapshot to another."""
    return await forward(deps.graph, "GET", f"/internal/snapshots/{quoted(a)}/diff/{quoted(b)}")


@post(
    "/snapshots/patches",
    tags=["snapshots"],
    status_code=202,
    guards=[requires(SUBMIT_RESOURCE, community=True, feature=PATCH_FEATURE)],
    opt=problems(400, 403, 413, 422, 502, 503),
)
async def submit_patches(
    request: Request[Any, Any, Any], deps: Deps, data: JSONBody[dict[str, Any]]
) -> Any:
    """Queue metadata patches (``{"patches": [...]}``, at most 10,000; the model
    `meshq contracts export` writes as metadata-patch.json): site, tenant, rack, role,
    criticality, tags and NetBox ids merged into devices, kept across later snapshots, each
    announced on ``topology.changed``. 202 once every one is queued."""
    gw = deps
    note = audit_note(request)
    patches = data.get("patches")
    note.query = SUBMIT_RESOURCE
    note.params = {"patches": len(patches) if isinstance(patches, list) else None}
    return await forward(gw.graph, "POST", "/internal/patches", data)


ROUTES = [list_snapshots, submit_snapshot, submit_patches, snapshot_status, diff_snapshots]
