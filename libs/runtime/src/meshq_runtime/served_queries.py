"""What a service that serves its own queries in graph-engine's catalogue shape shares
(``GET /internal/queries``, ``POST /internal/queries/{name}``): the plan gate of its feature,
parameters refused as a 422 problem, and the answer's envelope."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from meshq_runtime.http import ProblemError

__all__ = ["answer", "called", "invalid_params", "require_feature"]


class _License(Protocol):
    def allows(self, feature: str) -> bool: ...


def require_feature(license: _License, feature: str) -> None:
    """A 403 problem unless the installation's plan has ``feature``."""
    if not license.allows(feature):
        raise ProblemError(
            403,
            "Not in your plan",
            f"the {feature} feature is not in this installation's plan",
            type_="https://meshoptixiq.com/problems/feature-not-available",
            feature=feature,
        )


class _Query(Protocol):
    @property
    def params(self) -> type[BaseModel]: ...


Q = TypeVar("Q", bound=_Query)


def called(queries: Mapping[str, Q], name: str, raw: dict[str, Any]) -> tuple[Q, BaseModel]:
    """The query ``name`` of ``queries`` and ``raw`` validated as its parameters: a 404
    problem for a name not there, a 422 for parameters at fault."""
    query = queries.get(name)
    if query is None:
        raise ProblemError(404, "Unknown query", f"no query named {name[:80]!r}", field="name")
    try:
        return query, query.params.model_validate(raw)
    except ValidationError as exc:
        raise invalid_params(exc) from None


def invalid_params(exc: ValidationError) -> ProblemError:
    """The 422 problem for a query's parameters that do not validate: one ``errors`` entry a
    parameter at fault."""
    return ProblemError(
        422,
        "Invalid parameters",
        "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())[
            :1000
        ],
        errors=[{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()],
    )


async def answer(
    name: str, rows: Awaitable[tuple[list[dict[str, Any]], int]], *, offset: int, limit: int
) -> dict[str, Any]:
    """The answer of query ``name``: the page ``rows`` resolves to (its rows and the total),
    with the time it took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    page, total = await rows
    return {
        "query": name,
        "rows": page,
        "row_count": total,
        "elapsed_ms": round((loop.time() - started) * 1000, 3),
        "offset": offset,
        "limit": limit,
    }
