"""Snapshots into a running graph engine the way services submit them: streamed to its intake
(``POST /internal/snapshots``) with the service credential, then followed until applied."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx
from network_discovery.model import Snapshot

from support.procs import internal_headers

__all__ = ["submit", "submit_sync"]


async def submit(
    graph_url: str, env: Mapping[str, str], snapshot: Snapshot, *, timeout: float = 90.0
) -> dict[str, Any]:
    """The snapshot's final status record (``applied`` with its ``result``, or ``rejected``
    with its ``reason``); AssertionError when it was not accepted or not finished in time."""
    return await asyncio.to_thread(submit_sync, graph_url, env, snapshot, timeout=timeout)


def submit_sync(
    graph_url: str, env: Mapping[str, str], snapshot: Snapshot, *, timeout: float = 90.0
) -> dict[str, Any]:
    headers = internal_headers(env)
    with httpx.Client(base_url=graph_url, headers=headers, timeout=timeout + 30) as client:
        answer = client.post(
            "/internal/snapshots",
            content=snapshot.model_dump_json().encode(),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 202, answer.text
        location = f"/internal/snapshots/{answer.json()['snapshot_id']}"
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            status = client.get(location, params={"wait": max(0.0, min(left, 30.0))}).json()
            if status["status"] != "accepted":
                return dict(status)
            assert left > 0, f"snapshot {snapshot.snapshot_id} not applied in {timeout:g}s"
