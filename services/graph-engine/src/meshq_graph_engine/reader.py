"""The query side of the graph engine (``MESHQ_GRAPH_ENGINE_ROLE=reader``).

A reader applies nothing: it answers catalogue queries and simulations from the graph store the
writer keeps (Memgraph), and follows the writer's revision so that what it derives from the
graph in memory (the blast-radius topology) is rebuilt after each change. It re-reads the
revision when a ``topology.changed`` event arrives (snapshots and metadata patches alike; each
reader in a consumer group of its own, so every reader sees every event) and every
``MESHQ_GRAPH_ENGINE_REFRESH_INTERVAL`` seconds, which catches anything missed while starting.
Writes (``update_device_metadata``, submitted snapshots and patches) and archived snapshot diffs
are forwarded to the writer.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from typing import Any

import structlog
from meshq_runtime.graph.store import GraphStore
from meshq_runtime.kafka import EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import SnapshotRejected, TopologyChanged

from meshq_graph_engine.revision import read_revision

__all__ = ["GraphReader", "ReaderError", "check_reader_store", "follow_topology", "reader_group"]

log = structlog.get_logger(__name__)


class ReaderError(RuntimeError):
    """A reader configured so that it cannot work."""


def check_reader_store(settings: Any) -> None:
    """A reader needs a graph store that other processes write: Memgraph."""
    if not settings.memgraph_uri:
        raise ReaderError(
            "MESHQ_GRAPH_ENGINE_ROLE=reader needs MEMGRAPH_URI: the embedded graph store "
            "(LadybugDB) belongs to the one process that opens it, so query-only replicas "
            "need Memgraph shared with the writer; run a single graph-engine (the writer) "
            "without Memgraph"
        )
    if not settings.writer_url:
        raise ReaderError(
            "MESHQ_GRAPH_ENGINE_ROLE=reader needs MESHQ_GRAPH_ENGINE_WRITER_URL, the writer's "
            "internal address, where writes and snapshot diffs are forwarded"
        )


def reader_group(service: str) -> str:
    """A consumer-group name of this process alone: every reader gets every event."""
    return f"{service}-reader.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


class GraphReader:
    """Stands where the writer's ``GraphEngine`` stands for queries: ``store`` and ``revision``."""

    writes = False

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        #: Moves whenever the stored revision does (blast radius caches on it).
        self.revision = 0
        #: The writer's revision as last read from the store; None until the first read.
        self.graph_revision: int | None = None
        self._lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self.graph_revision is not None

    async def refresh(self) -> bool:
        """Read the stored revision; True when it moved (cached views are then rebuilt)."""
        async with self._lock:
            stored = await read_revision(self.store)
            if stored == self.graph_revision:
                return False
            log.info("graph.reader.refreshed", revision=stored, previous=self.graph_revision)
            self.graph_revision = stored
            self.revision += 1
            return True

    async def on_topology_changed(self, event: TopologyChanged | SnapshotRejected) -> None:
        if isinstance(event, TopologyChanged):  # a rejected snapshot changed nothing
            await self.refresh()

    async def ready_probe(self) -> None:
        if not self.loaded:
            raise RuntimeError("the graph revision has not been loaded yet")

    async def follow(self, interval: float) -> None:
        """Re-read the revision every ``interval`` seconds until cancelled (every second or
        two until the first read succeeds, so that a reader started before Memgraph becomes
        ready soon after it)."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # the store is away: keep serving, retry next time
                log.warning("graph.reader.refresh_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(interval if self.loaded else min(interval, 2.0))


def follow_topology(consumer: EventConsumer, reader: GraphReader, service: str) -> str:
    """Refresh ``reader`` on every ``topology.changed`` from now on, in a consumer group of
    this process alone (returned), so that every reader sees every event."""
    return consumer.subscribe(
        topics.TOPOLOGY_CHANGED,
        reader.on_topology_changed,
        offset_reset="latest",
        group=reader_group(service),
    )
