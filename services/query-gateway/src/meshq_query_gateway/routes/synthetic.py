"""``/synthetic/probes``: define, change, delete and run synthetic probes through the gateway.

- ``POST /synthetic/probes``: a probe definition (``kind`` icmp, tcp, http or dns, with that
  kind's fields; docs/synthetic.md) -> 201 and the definition with its defaults;
- ``GET /synthetic/probes/{name}``: the definition and its state (a row of
  ``meshq_synthetic_probes``);
- ``PUT /synthetic/probes/{name}``: a whole new definition for a probe created through the API
  -> 200;
- ``DELETE /synthetic/probes/{name}`` -> 204 (its results stay until they expire);
- ``POST /synthetic/probes/{name}/run``: run it now and record the result -> what it measured.

The prober (``MESHQ_PROBER_URL``) keeps the definitions in PostgreSQL and its runner takes a
change at once: no restart. It checks each definition against its own bounds
(``MESHQ_PROBER_MIN_INTERVAL``, ``MESHQ_PROBER_MAX_TIMEOUT``, ``MESHQ_PROBER_MAX_PROBES``) and its
refusals come back as they are (422 with the field, 409 for a taken name, a full table or a
probe of ``MESHQ_PROBES_FILE``).

Every route needs the ``synthetic_monitoring`` flag. RBAC: reading is verb ``execute`` on
``meshq_synthetic_probes`` (the query that answers the same rows); changing a definition is
``execute`` on ``synthetic_probes.manage``; running one now is ``execute`` on
``synthetic_probes.run``. Every call is audited under that resource, with the definition sent.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import structlog
from litestar import Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from meshq_runtime.http import ProblemError

from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, Gateway, quoted, requires
from meshq_query_gateway.graph_hop import graph_problem
from meshq_query_gateway.openapi import problems

__all__ = ["FEATURE", "MANAGE_RESOURCE", "READ_RESOURCE", "ROUTES", "RUN_RESOURCE"]

log = structlog.get_logger(__name__)

FEATURE = "synthetic_monitoring"
READ_RESOURCE = "meshq_synthetic_probes"
MANAGE_RESOURCE = "synthetic_probes.manage"
RUN_RESOURCE = "synthetic_probes.run"
#: The largest definition accepted, in bytes (a definition is a few hundred).
MAX_DEFINITION_BYTES = 64 * 1024
#: Seconds a run may take through the gateway (the probe's timeout, then its path).
RUN_TIMEOUT_S = 120.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

_DESCRIBED = {
    404: "No probe of that name (`field`: name).",
    409: "No prober configured here (MESHQ_PROBER_URL), the name is taken, "
    "MESHQ_PROBER_MAX_PROBES probes exist, or the probe is defined in MESHQ_PROBES_FILE "
    "(change the file).",
    422: "Not a valid definition, or one outside the prober's bounds: `detail` names the field.",
    502: "The prober failed, or refused the gateway's service credential.",
    503: "The prober does not answer, or the audit log cannot take the event (Retry-After).",
}
_BODY = (
    "One probe definition: name, kind (icmp, tcp, http, dns) and that kind's fields "
    "(host, port, url, server, query_name, ...), interval_s, timeout_s, source, labels."
)


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise ProblemError(
            422,
            "Invalid probe name",
            "a probe name is 1 to 128 letters, digits, _ . - (starting with a letter or digit)",
            errors=[{"field": "name", "message": "expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127}"}],
        )
    return name


def _prober(gw: Gateway) -> httpx.AsyncClient:
    entry = gw.services.get("prober")
    if entry is None:
        raise ProblemError(
            409,
            "No prober",
            "this gateway has no prober configured: set MESHQ_PROBER_URL to its URL",
            type_="https://meshoptixiq.com/problems/not-configured",
            field="MESHQ_PROBER_URL",
        )
    return entry[0]


async def _call(
    gw: Gateway,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    timeout: float | None = None,
) -> Any:
    """Call the prober's internal API; its problems come back as ours (5xx as 502)."""
    client = _prober(gw)
    try:
        response = await client.request(
            method,
            path,
            json=body,
            timeout=httpx.Timeout(timeout, connect=5.0) if timeout else httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        raise ProblemError(
            503, "Prober unavailable", f"the prober did not answer ({type(exc).__name__})"
        ) from exc
    if response.status_code == 401:  # the prober refused *our* credential
        log.error(
            "prober.refused_service_credential",
            path=path[:200],
            fix="give the gateway and the prober the same MESHQ_SERVICE_TOKEN",
        )
        raise ProblemError(
            502,
            "The prober refused the gateway",
            "the prober did not accept this gateway's service credential; see the gateway's logs",
        )
    if response.status_code >= 400:
        raise graph_problem(response.status_code, response.content, path)
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ProblemError(502, "Prober error", "the prober's answer was not JSON") from None


def _audited(
    request: Request[Any, Any, Any],
    name: str | None,
    body: dict[str, Any] | None = None,
    answer: Any = None,
) -> None:
    note = audit_note(request)
    params: dict[str, Any] = dict(body or {})
    if name is not None:
        params["name"] = name
    note.params = params
    if isinstance(answer, dict):
        note.row_count = 1
        note.sample_rows = [answer]


_MANAGE = [requires(MANAGE_RESOURCE, feature=FEATURE)]


@post(
    "/synthetic/probes",
    tags=["synthetic"],
    status_code=201,
    request_max_body_size=MAX_DEFINITION_BYTES,
    guards=_MANAGE,
    opt=problems(400, 403, 409, 413, 422, 502, 503, described=_DESCRIBED, body=_BODY),
)
async def create_probe(
    request: Request[Any, Any, Any], deps: Deps, data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    """Define a probe; the prober starts running it at once. Answers the definition with its
    defaults filled in."""
    _audited(request, None, data)
    answer = await _call(deps, "POST", "/internal/probes", data)
    _audited(request, str(answer.get("name")) if isinstance(answer, dict) else None, data, answer)
    return dict(answer)


@get(
    "/synthetic/probes/{name:str}",
    tags=["synthetic"],
    guards=[requires(READ_RESOURCE, feature=FEATURE)],
    opt=problems(403, 404, 409, 422, 502, 503, described=_DESCRIBED),
)
async def get_probe(request: Request[Any, Any, Any], name: FromPath[str], deps: Deps) -> Any:
    """A probe's definition and state: origin (file or api), state (up, down, unknown), the last
    run's phases and error, and for a failing probe the path that stops it."""
    _audited(request, name[:128])
    answer = await _call(deps, "GET", f"/internal/probes/{quoted(_checked(name))}")
    _audited(request, name, answer=answer)
    return answer


@put(
    "/synthetic/probes/{name:str}",
    tags=["synthetic"],
    request_max_body_size=MAX_DEFINITION_BYTES,
    guards=_MANAGE,
    opt=problems(400, 403, 404, 409, 413, 422, 502, 503, described=_DESCRIBED, body=_BODY),
)
async def update_probe(
    request: Request[Any, Any, Any],
    name: FromPath[str],
    deps: Deps,
    data: JSONBody[dict[str, Any]],
) -> Any:
    """Replace a probe's definition (a whole definition; ``name`` may be left out). The runner
    restarts the probe on the new definition at once; its results so far stay."""
    _audited(request, name[:128], data)
    answer = await _call(deps, "PUT", f"/internal/probes/{quoted(_checked(name))}", data)
    _audited(request, name, data, answer)
    return answer


@delete(
    "/synthetic/probes/{name:str}",
    tags=["synthetic"],
    status_code=204,
    guards=_MANAGE,
    opt=problems(403, 404, 409, 422, 502, 503, described=_DESCRIBED),
)
async def delete_probe(request: Request[Any, Any, Any], name: FromPath[str], deps: Deps) -> None:
    """Delete a probe created through the API; it stops at once."""
    _audited(request, name[:128])
    await _call(deps, "DELETE", f"/internal/probes/{quoted(_checked(name))}")


@post(
    "/synthetic/probes/{name:str}/run",
    tags=["synthetic"],
    status_code=200,
    guards=[requires(RUN_RESOURCE, feature=FEATURE)],
    opt=problems(403, 404, 409, 422, 502, 503, described=_DESCRIBED),
)
async def run_probe(request: Request[Any, Any, Any], name: FromPath[str], deps: Deps) -> Any:
    """Run a probe now and record the result: ``success``, ``phases`` (ms), ``status_code``,
    ``error`` and ``detail``."""
    _audited(request, name[:128])
    path = f"/internal/probes/{quoted(_checked(name))}/run"
    answer = await _call(deps, "POST", path, timeout=RUN_TIMEOUT_S)
    _audited(request, name, answer=answer)
    return answer


ROUTES = [create_probe, get_probe, update_probe, delete_probe, run_probe]
