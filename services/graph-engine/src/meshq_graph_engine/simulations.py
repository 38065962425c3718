"""Internal API for simulations: chaos-simulate (one failure) and what-if (a change set).

Both read the live graph and never write to it. A request that cannot run answers RFC 9457
problem+json naming the field at fault: 422 for a malformed body, 404 for a target the graph
does not hold, 422 for one that names several things.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import structlog
from litestar import post
from litestar.datastructures import State
from meshq_runtime.http import ProblemError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meshq_graph_engine.blast import DEFAULT_DEPTH, MAX_DEPTH, TargetError, run_scenario
from meshq_graph_engine.engine import GraphEngine

__all__ = ["ROUTES", "ChaosRequest", "validated"]

log = structlog.get_logger(__name__)


class ChaosRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    scenario_type: Literal["device_failure", "link_failure", "segment_failure"] = Field(
        description="What fails: a device, the link on an interface, or a VLAN/subnet segment."
    )
    target: str = Field(
        min_length=1,
        max_length=255,
        description="device_failure: a hostname; link_failure: host:ifname, or an interface "
        "name found on one device only; segment_failure: a VLAN id (10, vlan10) or a CIDR.",
        examples=["hq-dist-01", "hq-a-acc-01:Te1/1/1", "vlan 110", "10.1.10.0/24"],
    )
    depth: int = Field(
        DEFAULT_DEPTH,
        ge=1,
        le=MAX_DEPTH,
        description=f"Hops from the failed element within which devices count (1-{MAX_DEPTH}).",
    )


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any) -> M:
    """The body as ``model``, or a 422 problem listing every field at fault."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise ProblemError(422, "Invalid request", detail, errors=errors) from None


def _engine(state: State) -> GraphEngine:
    return state.service.extras["engine"]  # type: ignore[no-any-return]


@post("/internal/graph/chaos-simulate", tags=["internal"], status_code=200)
async def chaos_simulate(state: State, data: Any = None) -> dict[str, Any]:
    """Simulate one failure on the live graph (read only) and answer its blast radius."""
    request = validated(ChaosRequest, data)
    engine = _engine(state)
    try:
        result = await run_scenario(
            engine.store, engine, request.scenario_type, request.target, request.depth
        )
    except TargetError as exc:
        raise ProblemError(
            exc.status,
            exc.title,
            exc.detail,
            errors=[{"field": exc.field, "message": exc.detail}],
            field=exc.field,
        ) from None
    log.info(
        "chaos.simulated",
        scenario=request.scenario_type,
        target=result.failure.target,
        depth=request.depth,
        affected=len(result.affected_devices),
        degraded=len(result.degraded_devices),
        severity=result.severity,
    )
    return {
        "scenario_type": request.scenario_type,
        "target": request.target,
        **result.summary(),
    }


ROUTES = [chaos_simulate]
