"""``GET /license`` (the installation's plan, for clients like the MCP bridge) and
``GET /health/platform`` (the API and what it depends on, each with its state)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, get
from network_discovery.licensing.gates import demo_mode

from meshq_query_gateway.context import Deps, principal
from meshq_query_gateway.openapi import problems

__all__ = ["ROUTES"]

_HEALTHY_LICENSE = {"active", "community", "demo", "unverified"}


@get("/license", tags=["platform"], opt=problems(403))
async def license_state(request: Request[Any, Any, Any], deps: Deps) -> dict[str, Any]:
    """Plan, status and feature flags as the license agent last published them."""
    principal(request)
    gw = deps
    state = gw.follower.state
    body: dict[str, Any] = state.model_dump(mode="json")
    body["demo_mode"] = demo_mode()
    if body["demo_mode"]:
        body["features"] = {
            k: (True if isinstance(v, bool) else v) for k, v in body["features"].items()
        }
    return body


async def _timed(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        await asyncio.wait_for(check(), timeout=3.0)
    except Exception as exc:
        return {"state": "down", "error": type(exc).__name__}
    return {"state": "up", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


@get("/health/platform", tags=["probes"])
async def platform_health(request: Request[Any, Any, Any], deps: Deps) -> dict[str, Any]:
    """The API, the graph engine, Redis and the license, each with its state; and this pod's
    answer cache."""
    gw = deps

    async def graph() -> None:
        (await gw.graph.get("/health", timeout=3.0)).raise_for_status()

    async def redis() -> None:
        await gw.redis.ping()

    graph_state, redis_state = await asyncio.gather(_timed(graph), _timed(redis))
    # the gateway works on without Redis (limits per pod): degraded, with the breaker's word
    why = gw.redis.degraded() if gw.redis is not None else None
    if why is not None:
        redis_state = {"state": "degraded", "reason": why, "breaker": gw.redis.breaker.describe()}
    lic = gw.follower.state
    license_part = {
        "state": "up" if lic.status in _HEALTHY_LICENSE else "degraded",
        "plan": lic.plan,
        "status": lic.status,
        "demo_mode": demo_mode(),
    }
    if lic.status == "grace" and lic.grace_hours_left is not None:
        license_part["grace_hours_left"] = lic.grace_hours_left
    components = {
        "api": {"state": "up"},
        "graph": graph_state,
        "redis": redis_state,
        "license": license_part,
    }
    ok = all(c["state"] == "up" for c in components.values())
    body: dict[str, Any] = {"status": "ok" if ok else "degraded", "components": components}
    if gw.cache is not None:  # this pod's answer cache: the revision it serves, its counts
        body["answer_cache"] = gw.cache.describe()
    return body


ROUTES = [license_state, platform_health]
