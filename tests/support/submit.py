"""Snapshots into a running graph engine the way services submit them
(:func:`meshq_runtime.snapshot_submit.submit_snapshot`: streamed to its intake with the service
credential), then followed until applied."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx
from meshq_runtime.snapshot_submit import submit_snapshot
from network_discovery.model import Snapshot

from support.procs import internal_headers

__all__ = ["submit", "submit_sync"]


async def submit(
    graph_url: str, env: Mapping[str, str], snapshot: Snapshot, *, timeout: float = 90.0
) -> dict[str, Any]:
    """The snapshot's final status record (``applied`` with its ``result``, or ``rejected``
    with its ``reason``); AssertionError when it was not finished in time (``SubmitRefused``
    when it was not accepted)."""
    headers = internal_headers(env)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=graph_url, headers=headers) as client:
        status = await submit_snapshot(client, snapshot, wait=min(timeout, 30.0))
        while status["status"] == "accepted":
            left = deadline - time.monotonic()
            assert left > 0, f"snapshot {snapshot.snapshot_id} not applied in {timeout:g}s"
            answer = await client.get(
                f"/internal/snapshots/{snapshot.snapshot_id}",
                params={"wait": min(left, 30.0)},
                timeout=min(left, 30.0) + 30.0,
            )
            status = answer.json()
    return dict(status)


def submit_sync(
    graph_url: str, env: Mapping[str, str], snapshot: Snapshot, *, timeout: float = 90.0
) -> dict[str, Any]:
    """:func:`submit` from synchronous code (no event loop running in this thread)."""
    return asyncio.run(submit(graph_url, env, snapshot, timeout=timeout))
