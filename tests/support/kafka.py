"""Read what services published, straight from the broker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

__all__ = ["collect"]


async def collect(
    bootstrap: str,
    topic: str,
    *,
    count: int = 1,
    timeout: float = 30.0,
    match: Any = None,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning until ``count`` records (that ``match``) arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                found.extend(r for r in records if match is None or match(r))
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return found
