"""Loading advisories into the store: once (``meshq vuln load``), or on a schedule from a
directory that a feed mirror fills (``MESHQ_VULN_FEED_DIR``, every
``MESHQ_VULN_FEED_INTERVAL`` seconds, default 3600).

The directory is read again only when its files changed (names, sizes, modification times);
a load of an unchanged file changes nothing in the store either way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from network_discovery.vuln.load import FileError, read_path
from network_discovery.vuln.store import AdvisoryStore, LoadCounts, StoreUnavailable

__all__ = ["FeedSettings", "LoadResult", "feed_settings", "load_path", "start_watch", "watch"]

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 3600.0
MIN_INTERVAL = 10.0
_BATCH = 2000


@dataclass(frozen=True)
class LoadResult:
    files: int
    records: int
    skipped: int
    counts: LoadCounts
    errors: tuple[str, ...]


async def load_path(store: AdvisoryStore, path: Path) -> LoadResult:
    """Read ``path`` (a file or a directory) and keep its records; a single file that cannot
    be read raises ``FileError``, a directory's bad files are listed in ``errors``."""
    report = await asyncio.to_thread(read_path, path)
    counts = LoadCounts()
    for i in range(0, len(report.records), _BATCH):
        counts = counts + await store.load(report.records[i : i + _BATCH])
    return LoadResult(
        report.files, len(report.records), report.skipped, counts, tuple(report.errors)
    )


@dataclass(frozen=True)
class FeedSettings:
    directory: Path
    interval: float


def feed_settings(env: Mapping[str, str] | None = None) -> FeedSettings | None:
    """The scheduled load's settings, None when ``MESHQ_VULN_FEED_DIR`` is not set; a
    ``ValueError`` naming the variable at fault."""
    values = os.environ if env is None else env
    directory = values.get("MESHQ_VULN_FEED_DIR", "").strip()
    if not directory:
        return None
    raw = values.get("MESHQ_VULN_FEED_INTERVAL", "").strip()
    try:
        interval = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError:
        raise ValueError(f"MESHQ_VULN_FEED_INTERVAL: not a number of seconds: {raw!r}") from None
    if not MIN_INTERVAL <= interval <= 7 * 86400:
        raise ValueError(f"MESHQ_VULN_FEED_INTERVAL: between {MIN_INTERVAL:g} s and 7 days")
    return FeedSettings(Path(directory), interval)


def _signature(directory: Path) -> frozenset[tuple[str, int, int]]:
    found = set()
    for path in directory.rglob("*"):
        if path.name.endswith((".json", ".json.gz")) and path.is_file():
            stat = path.stat()
            found.add((str(path), stat.st_size, stat.st_mtime_ns))
    return frozenset(found)


async def watch(store: AdvisoryStore, settings: FeedSettings) -> None:
    """Load the directory now and whenever it changes, checking every ``interval`` seconds;
    runs until cancelled, and outlives any one failed round."""
    seen: frozenset[tuple[str, int, int]] | None = None
    while True:
        try:
            if settings.directory.is_dir():
                signature = await asyncio.to_thread(_signature, settings.directory)
                if signature != seen:
                    result = await load_path(store, settings.directory)
                    seen = signature
                    log.info(
                        "vuln.feed.loaded",
                        directory=str(settings.directory),
                        files=result.files,
                        new=result.counts.new,
                        updated=result.counts.updated,
                        unchanged=result.counts.unchanged,
                        errors=len(result.errors),
                    )
            else:
                log.warning("vuln.feed.missing", directory=str(settings.directory))
        except (FileError, OSError, StoreUnavailable) as exc:
            log.error("vuln.feed.failed", error=f"{type(exc).__name__}: {exc}"[:300])
        await asyncio.sleep(settings.interval)


async def start_watch(store: AdvisoryStore, env: Mapping[str, str] | None = None) -> Any:
    """Start the scheduled load where ``MESHQ_VULN_FEED_DIR`` is set: an awaitable callable
    that stops it, or None when not set. A bad interval raises ``ValueError``."""
    settings = feed_settings(env)
    if settings is None:
        return None
    task = asyncio.create_task(watch(store, settings), name="vuln-feed")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return stop
