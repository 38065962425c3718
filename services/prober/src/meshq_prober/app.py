"""The prober service: runs the synthetic probes, keeps their results in PostgreSQL, explains
failures with graph-engine's path_analysis, and serves the Synthetic queries to the gateway
(``/internal/queries``) and the probe API (``/internal/probes``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from litestar import Litestar, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from meshq_runtime.http import ProblemError, ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.served_queries import require_feature
from meshq_runtime.service import postgres_probe
from meshq_runtime.service_auth import ServiceAuthMiddleware, internal_client, service_credential

from meshq_prober import queries
from meshq_prober.checks import Prober
from meshq_prober.definitions import (
    ProbeDefinitionError,
    load_probes_file,
    parse_probe,
)
from meshq_prober.explain import PathExplainer
from meshq_prober.runner import Runner
from meshq_prober.settings import Settings
from meshq_prober.store import MIGRATIONS, SERVICE, ProbeStore, init_connection

__all__ = ["ROUTES", "SCHEMA", "SERVICE", "create_app"]

log = structlog.get_logger(__name__)

SCHEMA: Schema = ((SERVICE, MIGRATIONS),)
MAX_OFFSET = 100_000_000


@dataclass(frozen=True)
class ProberDeps:
    store: ProbeStore
    runner: Runner
    license: LicenseFollower
    settings: Settings


Deps = NamedDependency[ProberDeps]


def _gate(deps: ProberDeps) -> None:
    require_feature(deps.license, queries.FEATURE)


@get("/internal/queries", tags=["internal"])
async def list_queries() -> list[dict[str, Any]]:
    """The Synthetic queries, in the shape of graph-engine's catalogue."""
    return [queries.describe(q) for q in queries.QUERIES.values()]


@post("/internal/queries/{name:str}", tags=["internal"], status_code=200)
async def execute_query(
    name: FromPath[str],
    deps: Deps,
    data: JSONBody[dict[str, Any] | None] = None,
    limit: Annotated[int | None, Parameter(ge=1, le=queries.MAX_LIMIT)] = None,
    offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Run one Synthetic query."""
    _gate(deps)
    ctx = queries.Context(store=deps.store)
    return await queries.run(ctx, name, data or {}, limit=limit, offset=offset)


@post("/internal/probes", tags=["internal"], status_code=201)
async def create_probe(deps: Deps, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    """Define a probe (``kind``: icmp, tcp, http or dns, with that kind's fields)."""
    _gate(deps)
    try:
        spec = parse_probe(data, deps.settings.limits())
    except ProbeDefinitionError as exc:
        raise ProblemError(422, "Invalid probe", str(exc)) from None
    body = spec.model_dump(mode="json")
    result = await deps.store.create(body, datetime.now(UTC), deps.settings.max_probes)
    if result == "exists":
        raise ProblemError(409, "Probe exists", f"a probe named {spec.name!r} exists", field="name")
    if result == "full":
        raise ProblemError(
            409,
            "Too many probes",
            f"{deps.settings.max_probes} probes are defined (MESHQ_PROBER_MAX_PROBES)",
        )
    deps.runner.reload()
    return body


@get("/internal/probes/{name:str}", tags=["internal"])
async def get_probe(name: FromPath[str], deps: Deps) -> dict[str, Any]:
    """One probe: its definition and state (a row of ``meshq_synthetic_probes``)."""
    _gate(deps)
    rows, _ = await deps.store.probes(kind=None, name=name[:128], limit=1, offset=0)
    if not rows:
        raise ProblemError(404, "Unknown probe", f"no probe named {name[:128]!r}", field="name")
    return rows[0]


@put("/internal/probes/{name:str}", tags=["internal"], status_code=200)
async def update_probe(
    name: FromPath[str], deps: Deps, data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    """Replace a probe created through the API (the body is a whole definition; its ``name``,
    when given, must be the path's). The runner picks the new definition up at once."""
    _gate(deps)
    body = dict(data)
    if body.setdefault("name", name) != name:
        raise ProblemError(
            422,
            "Invalid probe",
            "name: a probe cannot be renamed; delete it and create the new name",
            field="name",
        )
    try:
        spec = parse_probe(body, deps.settings.limits())
    except ProbeDefinitionError as exc:
        raise ProblemError(422, "Invalid probe", str(exc)) from None
    definition = spec.model_dump(mode="json")
    result = await deps.store.update(definition, datetime.now(UTC))
    if result == "not_found":
        raise ProblemError(404, "Unknown probe", f"no probe named {name[:128]!r}", field="name")
    if result == "file":
        raise ProblemError(
            409,
            "Probe from file",
            f"{name[:128]!r} is defined in MESHQ_PROBES_FILE: change it there",
            field="name",
        )
    deps.runner.reload()
    return definition


@delete("/internal/probes/{name:str}", tags=["internal"], status_code=204)
async def delete_probe(name: FromPath[str], deps: Deps) -> None:
    """Delete a probe created through the API (its results stay until they expire)."""
    _gate(deps)
    result = await deps.store.delete(name[:128])
    if result == "not_found":
        raise ProblemError(404, "Unknown probe", f"no probe named {name[:128]!r}", field="name")
    if result == "file":
        raise ProblemError(
            409,
            "Probe from file",
            f"{name[:128]!r} is defined in MESHQ_PROBES_FILE: remove it there",
            field="name",
        )
    deps.runner.reload()


@post("/internal/probes/{name:str}/run", tags=["internal"], status_code=200)
async def run_probe(name: FromPath[str], deps: Deps) -> dict[str, Any]:
    """Run one probe now and record the result; answers what it measured."""
    _gate(deps)
    for raw in await deps.store.definitions():
        if raw.get("name") == name:
            try:
                spec = parse_probe(raw, deps.settings.limits())
            except ProbeDefinitionError as exc:  # stored under looser bounds than today's
                raise ProblemError(409, "Probe out of bounds", str(exc), field="name") from None
            return asdict(await deps.runner.run_once(spec))
    raise ProblemError(404, "Unknown probe", f"no probe named {name[:128]!r}", field="name")


ROUTES = [
    list_queries,
    execute_query,
    create_probe,
    get_probe,
    update_probe,
    delete_probe,
    run_probe,
]


def create_app(settings: Settings) -> Litestar:
    """The app; the probes file is read here, so a bad file stops start-up."""
    limits = settings.limits()
    file_specs = (
        load_probes_file(settings.probes_file, limits) if settings.probes_file is not None else []
    )
    state: ServiceState[ProberDeps] = ServiceState(service=SERVICE)
    credential = service_credential(settings, caller=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            pool = await create_pool(settings, init=init_connection)
            stack.push_async_callback(pool.close)
            await apply_schema(pool, SCHEMA)
            store = ProbeStore(pool)
            if settings.probes_file is not None:
                await store.replace_file_probes(
                    [s.model_dump(mode="json") for s in file_specs], datetime.now(UTC)
                )
            follower = LicenseFollower(settings, credential=credential)
            await follower.start()
            stack.push_async_callback(follower.stop)
            graph = None
            if settings.graph_engine_url:
                graph = internal_client(
                    credential, base_url=settings.graph_engine_url, timeout=30.0
                )
                stack.push_async_callback(graph.aclose)
            prober = Prober(max_response_bytes=settings.max_response_bytes)
            stack.push_async_callback(prober.aclose)
            log.info("prober.icmp", socket=prober.icmp or "unavailable")
            runner = Runner(
                store,
                prober,
                PathExplainer(graph),
                limits,
                retention_s=settings.retention_s,
                concurrency=settings.concurrency,
            )
            runner.start()
            stack.push_async_callback(runner.stop)
            state.probes[:] = [postgres_probe(pool)]
            state.hand_out(
                ProberDeps(store=store, runner=runner, license=follower, settings=settings),
                stack,
            )
            yield

    return build_app(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential)],
    )
