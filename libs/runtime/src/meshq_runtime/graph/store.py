"""The graph store interface and its two implementations.

Both take Cypher with parameters only (never user text spliced in) and return rows as dicts.
Memgraph is reached with the neo4j async driver; LadybugDB runs in-process on disk, and also
scans Arrow tables handed to it from Python (``COPY``/``LOAD FROM``: its bulk path).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog

from meshq_runtime.settings import GraphSettings, ServiceSettings

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ArrowStore",
    "EmbeddedStore",
    "GraphStore",
    "MemgraphStore",
    "default_buffer_pool_mb",
    "open_graph_store",
]

log = structlog.get_logger(__name__)

#: The embedded store's page cache by default: this fraction of the machine's memory...
_POOL_FRACTION = 8
#: ...within these bounds (MiB). The store's files are read through the operating system's
#: page cache as well, which a process's resident set does not count.
_POOL_MIN_MB, _POOL_MAX_MB = 512, 2048


def _machine_memory_mb() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return None


def default_buffer_pool_mb() -> int:
    """The embedded store's buffer pool when none is configured: an eighth of the machine's
    memory, at least 512 MiB and at most 2 GiB (LadybugDB's own default, 80% of the memory,
    lets the pool grow with every page the process ever touched)."""
    memory = _machine_memory_mb()
    if memory is None:
        return _POOL_MIN_MB
    return max(_POOL_MIN_MB, min(_POOL_MAX_MB, memory // _POOL_FRACTION))


#: How the binding's C-API backend names an Arrow table it scans (in its rewritten statement).
_SCAN_TABLE = "__lbug_capi_scan_"


class GraphStore(Protocol):
    dialect: str

    async def execute(
        self, cypher: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class ArrowStore(GraphStore, Protocol):
    """A store that also scans an Arrow table from Python (its bulk path)."""

    async def execute_arrow(self, cypher: str, rows: pa.Table) -> list[dict[str, Any]]: ...


class EmbeddedStore:
    """LadybugDB (the maintained fork of Kùzu), on disk, in this process."""

    dialect = "ladybug"

    def __init__(
        self, path: Path, *, read_only: bool = False, buffer_pool_mb: int | None = None
    ) -> None:
        """``read_only`` opens the files as they are at that moment (no writes, no later ones);
        ``buffer_pool_mb`` bounds the pages kept in memory (:func:`default_buffer_pool_mb`
        when None)."""
        import ladybug

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.buffer_pool_mb = buffer_pool_mb or default_buffer_pool_mb()
        self._db = ladybug.Database(
            str(path), read_only=read_only, buffer_pool_size=self.buffer_pool_mb * 2**20
        )
        self._conn = ladybug.AsyncConnection(self._db, max_concurrent_queries=4)

    async def execute(
        self, cypher: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        result = await self._conn.execute(cypher, params or {})
        results = result if isinstance(result, list) else [result]
        rows: list[dict[str, Any]] = []
        for res in results:
            names = res.get_column_names()
            rows = [dict(zip(names, values, strict=True)) for values in res.get_all()]
        return rows

    async def execute_table(self, cypher: str, params: dict[str, Any] | None = None) -> pa.Table:
        """A read's result as one Arrow table (columns, no dictionary per row): for reads of
        many rows, which Python would otherwise turn into objects one row at a time."""
        result = await self._conn.execute(cypher, params or {})
        last = result[-1] if isinstance(result, list) else result
        return last.get_as_arrow(chunk_size=-1)

    async def execute_arrow(self, cypher: str, rows: pa.Table) -> list[dict[str, Any]]:
        """Run ``COPY … FROM $rows`` or ``LOAD FROM $rows …`` over an Arrow table.

        The binding keeps a plan per statement and table it has seen (each table is a new
        key), so the plans of this statement are dropped once it has run: a long-lived writer
        would otherwise keep one per batch it ever loaded (the C-API backend names each
        scanned table afresh, so its plans are told apart by that name)."""
        try:
            return await self.execute(cypher, {"rows": rows})
        finally:
            self._forget_plans(cypher)

    def _forget_plans(self, cypher: str) -> None:
        """Drop the cached plans of ``cypher`` (and of scanned tables) on every connection that
        is not running a statement now: this one's just finished; a busy one is swept by a
        later call, so the event loop never waits on a query."""
        for conn in getattr(self._conn, "connections", ()):
            cache = getattr(conn, "_pybind_implicit_prepared_cache", None)
            lock = getattr(conn, "_prepared_cache_lock", None)
            if not isinstance(cache, dict) or lock is None or not lock.acquire(blocking=False):
                continue
            try:
                for key in [k for k in cache if k[0] == cypher or _SCAN_TABLE in k[0]]:
                    del cache[key]
            finally:
                lock.release()

    async def ping(self) -> None:
        await self.execute("RETURN 1 AS ok")

    async def close(self) -> None:
        self._conn.close()
        self._db.close()


class MemgraphStore:
    """Memgraph over Bolt with the neo4j async driver."""

    dialect = "memgraph"

    def __init__(self, uri: str, user: str = "", password: str = "") -> None:
        from neo4j import AsyncGraphDatabase

        auth = (user, password) if user else None
        self._driver = AsyncGraphDatabase.driver(uri, auth=auth)

    async def execute(
        self, cypher: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        async with self._driver.session() as session:
            result = await session.run(cypher, params or {})
            return [record.data() async for record in result]

    async def ping(self) -> None:
        await self._driver.verify_connectivity()

    async def close(self) -> None:
        await self._driver.close()


def open_graph_store(settings: Any) -> GraphStore:
    """Memgraph when ``MEMGRAPH_URI`` is set, else LadybugDB under the data directory."""
    graph: GraphSettings = settings
    if graph.memgraph_uri:
        log.info("graph.store", kind="memgraph", uri=graph.memgraph_uri)
        return MemgraphStore(
            graph.memgraph_uri, graph.memgraph_user, graph.memgraph_password.get_secret_value()
        )
    base: ServiceSettings = settings
    path = graph.graph_path or (base.data_dir / "graph" / "meshq.lbug")
    # a service that offers the setting (graph-engine: MESHQ_GRAPH_BUFFER_POOL_MB) bounds
    # the embedded store's page cache with it
    pool = getattr(settings, "graph_buffer_pool_mb", None)
    store = EmbeddedStore(path, buffer_pool_mb=pool)
    log.info("graph.store", kind="ladybug", path=str(path), buffer_pool_mb=store.buffer_pool_mb)
    return store
