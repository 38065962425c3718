"""A service's way to hand graph-engine a snapshot: the internal twin of the gateway's
``POST /snapshots`` (the same intake, status records and apply), called with the service
credential. Users and their tools submit through the gateway instead."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
from network_discovery.model import Snapshot

__all__ = ["SubmitRefused", "submit_snapshot"]


class SubmitRefused(RuntimeError):
    """graph-engine did not accept the snapshot (the message says why)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


async def submit_snapshot(
    graph: httpx.AsyncClient, snapshot: Snapshot, *, wait: float = 0.0
) -> dict[str, Any]:
    """Submit ``snapshot`` to graph-engine (``graph``: an internal client with its base URL);
    with ``wait`` (at most 60 s), return its status once applied or refused, else the receipt.
    :class:`SubmitRefused` when it was not accepted or graph-engine cannot be reached."""
    body = gzip.compress(snapshot.model_dump_json().encode(), compresslevel=5)
    try:
        answer = await graph.post(
            "/internal/snapshots",
            content=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            timeout=httpx.Timeout(600.0, connect=10.0),
        )
    except httpx.HTTPError as exc:
        raise SubmitRefused(f"graph-engine did not answer ({type(exc).__name__}: {exc})") from exc
    if answer.status_code != 202:
        raise SubmitRefused(
            f"graph-engine refused snapshot {snapshot.snapshot_id}: {answer.status_code} "
            f"{answer.text[:300]}",
            status=answer.status_code,
        )
    receipt: dict[str, Any] = answer.json()
    if not wait:
        return receipt
    try:
        status = await graph.get(
            f"/internal/snapshots/{receipt['snapshot_id']}",
            params={"wait": min(wait, 60.0)},
            timeout=httpx.Timeout(min(wait, 60.0) + 30.0, connect=10.0),
        )
    except httpx.HTTPError as exc:
        raise SubmitRefused(f"graph-engine did not answer ({type(exc).__name__})") from exc
    result: dict[str, Any] = status.json()
    return result
