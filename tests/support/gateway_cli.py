"""``meshq`` and the gateway's query API, called as a user would against a running gateway
(anything with its ``url`` and an API ``key``)."""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from click.testing import CliRunner
from network_discovery.cli import cli

__all__ = ["meshq", "query_rows"]


class Gateway(Protocol):
    url: str
    key: str


def meshq(gw: Gateway, *args: str) -> str:
    """The standard output of ``meshq --api-url … --api-key … ARGS``, which must succeed."""
    result = CliRunner().invoke(cli, ["--api-url", gw.url, "--api-key", gw.key, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def query_rows(
    gw: Gateway,
    name: str,
    params: dict[str, Any],
    *,
    limit: int | None = None,
    timeout: float = 60,
) -> list[dict[str, Any]]:
    """The rows of ``POST /queries/{name}``, which must answer 200."""
    response = httpx.post(
        f"{gw.url}/queries/{name}",
        headers={"X-API-Key": gw.key},
        json=params,
        params={} if limit is None else {"limit": str(limit)},
        timeout=timeout,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows
