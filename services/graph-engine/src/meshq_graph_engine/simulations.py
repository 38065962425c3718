"""Internal API for simulations: chaos-simulate (one failure) and what-if (a change set).

Both read the live graph and never write to it. A request that cannot run answers RFC 9457
problem+json naming the field at fault: 422 for a malformed body, 404 for a target the graph
does not hold, 422 for one that names several things.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import structlog
from litestar import post
from litestar.params import JSONBody
from meshq_runtime.http import ProblemError
from pydantic import BaseModel, Field, ValidationError

from meshq_graph_engine.blast import (
    DEFAULT_DEPTH,
    MAX_DEPTH,
    TargetError,
    apply_changes,
    compare,
    load_topology,
    resolve,
    simulate,
)
from meshq_graph_engine.blast._traffic import traffic_at_risk
from meshq_graph_engine.catalogue.base import Params, field_errors, validate_json
from meshq_graph_engine.catalogue.metrics import MAX_WINDOW, WindowParam, parse_window
from meshq_graph_engine.deps import Deps

__all__ = ["ROUTES", "ChaosRequest", "WhatIfRequest", "validated"]

log = structlog.get_logger(__name__)


class ChaosRequest(Params):
    """Strict like every query's parameters (``Params``): ``depth`` is an integer."""

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
    traffic_window: WindowParam = Field(
        "15m",
        max_length=8,
        description="Traffic at risk: the recent load is the mean over this much time back "
        f"from now (15m, 1h, 24h; at most {MAX_WINDOW.days} days).",
    )


_Name = Annotated[str, Field(min_length=1, max_length=255)]
_Port = Annotated[
    str,
    Field(min_length=3, max_length=400, description="host:ifname", examples=["hq-dist-01:Eth1/1"]),
]


class _Change(Params):
    pass


class RemoveDevice(_Change):
    action: Literal["remove_device"]
    device: _Name


class AddDevice(_Change):
    action: Literal["add_device"]
    device: _Name
    role: str | None = Field(None, max_length=64)
    criticality: Literal["low", "medium", "high", "critical"] | None = None
    managed: bool = True


class RemoveLink(_Change):
    action: Literal["remove_link"]
    interface: _Port


class ShutdownInterface(_Change):
    action: Literal["shutdown_interface"]
    interface: _Port


class AddLink(_Change):
    action: Literal["add_link"]
    a: _Port
    b: _Port


class RemoveVlan(_Change):
    action: Literal["remove_vlan"]
    interface: _Port
    vlan: int = Field(ge=1, le=4094)


Change = Annotated[
    RemoveDevice | AddDevice | RemoveLink | ShutdownInterface | AddLink | RemoveVlan,
    Field(discriminator="action"),
]


class WhatIfRequest(Params):
    changes: list[Change] = Field(
        min_length=1, max_length=500, description="Applied in order to a copy of the graph."
    )


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any) -> M:
    """The body as ``model`` (strict types: ``depth`` is an integer, ``managed`` a boolean),
    or a 422 problem listing every field at fault."""
    try:
        return validate_json(model, data if data is not None else {})
    except ValidationError as exc:
        errors = field_errors(exc, list(model.model_fields))
    except ValueError as exc:
        errors = [{"field": "(body)", "message": str(exc)}]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    raise ProblemError(422, "Invalid request", detail, errors=errors) from None


@post("/internal/graph/chaos-simulate", tags=["internal"], status_code=200)
async def chaos_simulate(deps: Deps, data: JSONBody[Any] = None) -> dict[str, Any]:
    """Simulate one failure on the live graph (read only) and answer its blast radius."""
    request = validated(ChaosRequest, data)
    engine = deps.engine
    topology = await load_topology(engine.store, engine)
    try:
        failure = await resolve(
            topology, engine.store, request.scenario_type, request.target, engine
        )
    except TargetError as exc:
        raise _problem(exc) from None
    result = simulate(topology, failure, request.depth)
    traffic = await traffic_at_risk(
        topology, result, deps.metrics, parse_window(request.traffic_window)
    )
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
        "traffic_at_risk": traffic,
    }


def _problem(exc: TargetError) -> ProblemError:
    return ProblemError(
        exc.status,
        exc.title,
        exc.detail,
        errors=[{"field": exc.field, "message": exc.detail}],
        field=exc.field,
    )


@post("/internal/graph/whatif", tags=["internal"], status_code=200)
async def whatif(deps: Deps, data: JSONBody[Any] = None) -> dict[str, Any]:
    """Apply a change set to a copy of the graph and answer what it changes."""
    request = validated(WhatIfRequest, data)
    engine = deps.engine
    before = await load_topology(engine.store, engine)
    changes = [c.model_dump() for c in request.changes]
    try:
        after = await apply_changes(before, engine.store, changes)
    except TargetError as exc:
        raise _problem(exc) from None
    answer = compare(before, after)
    log.info(
        "whatif.simulated",
        changes=len(changes),
        isolated=len(answer["newly_isolated_devices"]),
        lost_redundancy=len(answer["lost_redundancy"]),
    )
    return {"changes_applied": len(changes), **answer}


ROUTES = [chaos_simulate, whatif]
