"""One shared stack for every test that needs infrastructure.

- Kafka: ``MESHQ_TEST_KAFKA_BOOTSTRAP`` (``.ci/run`` starts one Tansu), else a Tansu started
  here for the session.
- PostgreSQL: ``MESHQ_TEST_POSTGRES_URL`` (default the machine's, 127.0.0.1:5432); a fresh
  database per run, dropped at the end. When the server is unreachable, an embedded one.
- Redis: ``MESHQ_TEST_REDIS_URL`` (default 127.0.0.1:6379), else an embedded one.

Each test gets its own topic and consumer-group prefix, so tests never see each other's events.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from meshq_runtime.embedded.spawn import reachable

pytest_plugins: list[str] = []


@dataclass(frozen=True)
class Stack:
    kafka_bootstrap: str
    postgres_url: str
    redis_url: str
    workdir: Path


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    started: list[object] = []

    kafka = os.environ.get("MESHQ_TEST_KAFKA_BOOTSTRAP")
    if not kafka:
        from meshq_runtime.embedded import Tansu

        tansu = Tansu(log_dir=workdir)
        tansu.start()
        started.append(tansu)
        kafka = tansu.bootstrap

    pg_server = os.environ.get(
        "MESHQ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    if not reachable(pg_server, 5432):
        from meshq_runtime.embedded import EmbeddedPostgres

        pg = EmbeddedPostgres(data_dir=workdir / "postgres")
        pg.start()
        started.append(pg)
        pg_server = pg.url

    redis_url = os.environ.get("MESHQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not reachable(redis_url, 6379):
        from meshq_runtime.embedded import EmbeddedRedis

        rd = EmbeddedRedis(data_dir=workdir / "redis")
        rd.start()
        started.append(rd)
        redis_url = rd.url

    db = f"meshq_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_create_db(pg_server, db))
    try:
        yield Stack(kafka, _with_db(pg_server, db), redis_url, workdir)
    finally:
        asyncio.run(_drop_db(pg_server, db))
        for part in reversed(started):
            # an embedded PostgreSQL also deletes its cluster (kept outside tmp when root)
            (getattr(part, "purge", None) or part.stop)()  # type: ignore[attr-defined]


async def _create_db(server_url: str, db: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{db}"')  # db is generated here, never user input
    finally:
        await conn.close()


async def _drop_db(server_url: str, db: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def isolation() -> dict[str, str]:
    """Environment that gives a test its own topics and consumer groups."""
    tag = uuid.uuid4().hex[:8]
    return {
        "MESHQ_KAFKA_TOPIC_PREFIX": f"t{tag}.",
        "MESHQ_KAFKA_GROUP_PREFIX": f"g{tag}",
        "MESHQ_KAFKA_PARTITIONS": "2",
        "MESHQ_KAFKA_IDEMPOTENT": "false",
    }


def _folder_scope(nodeid: str) -> str:
    """The unit of work one pytest-xdist worker takes whole: a folder below unit/ or
    integration/ (its package- and module-scoped stacks start once), a top-level file otherwise.
    Tests that bind fixed loopback addresses (the discovery labs) all live in one folder."""
    parts = nodeid.split("::", 1)[0].split("/")
    if parts[0] == "tests":
        parts = parts[1:]
    return "/".join(parts[:2]) if len(parts) > 2 else "/".join(parts)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under ``pytest -n N`` (``make test``), whole folders go to one worker."""
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _folder_scope(nodeid)

    return FolderScheduling(config, log)
