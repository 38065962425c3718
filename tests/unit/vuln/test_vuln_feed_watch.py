"""The scheduled load from ``MESHQ_VULN_FEED_DIR``, into the embedded (SQLite) store."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from network_discovery.vuln.feed import feed_settings, start_watch
from network_discovery.vuln.store import SqliteAdvisoryStore, open_store

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vuln"


async def _until(store: SqliteAdvisoryStore, count: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while await store.count() < count:
        assert time.monotonic() < deadline, f"the store never reached {count} advisories"
        await asyncio.sleep(0.05)


async def test_the_directory_is_loaded_at_start(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    shutil.copytree(FIXTURES / "cve5", feed)
    store = SqliteAdvisoryStore(tmp_path / "advisories.sqlite3")
    stop = await start_watch(store, {"MESHQ_VULN_FEED_DIR": str(feed)})
    assert stop is not None
    try:
        await _until(store, 2)
        assert {r.cve for r in await store.all()} == {"CVE-2023-20198", "CVE-2023-36844"}
    finally:
        await stop()


async def test_not_set_is_no_watch(tmp_path: Path) -> None:
    assert await start_watch(SqliteAdvisoryStore(tmp_path / "a.db"), {}) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [("soon", "not a number of seconds"), ("1", "between 10 s and 7 days")],
    ids=["words", "too-often"],
)
def test_a_bad_interval_names_the_variable(value: str, message: str) -> None:
    env = {"MESHQ_VULN_FEED_DIR": "/srv/feed", "MESHQ_VULN_FEED_INTERVAL": value}
    with pytest.raises(ValueError, match=f"MESHQ_VULN_FEED_INTERVAL: {message}"):
        feed_settings(env)


def test_interval_default() -> None:
    settings = feed_settings({"MESHQ_VULN_FEED_DIR": "/srv/feed"})
    assert settings is not None and settings.interval == 3600.0
    assert settings.directory == Path("/srv/feed")


def test_the_store_is_chosen_by_the_environment(tmp_path: Path) -> None:
    embedded = open_store({"MESHQ_DATA_DIR": str(tmp_path)})
    assert isinstance(embedded, SqliteAdvisoryStore)
    assert embedded.path == tmp_path / "vuln" / "advisories.sqlite3"
    served = open_store({"MESHQ_POSTGRES_URL": "postgresql://db/meshq"})
    assert type(served).__name__ == "PostgresAdvisoryStore"
