"""Loading advisories into the store: once (``meshq vuln load``), or on a schedule from a
directory that a feed mirror fills (``MESHQ_VULN_FEED_DIR``) and from URLs
(``MESHQ_VULN_FEED_URL``), every ``MESHQ_VULN_FEED_INTERVAL`` seconds (default 3600).

The directory is read again only when its files changed (names, sizes, modification times);
a URL is fetched with the validators of its last answer (a 304 reads nothing) and its body
parsed only when its digest changed. A load of an unchanged file changes nothing in the store
either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import structlog

from network_discovery.vuln.load import MAX_FILE_BYTES, FileError, read_data, read_path
from network_discovery.vuln.model import Advisory
from network_discovery.vuln.remote import (
    DEFAULT_TIMEOUT,
    UrlError,
    Validators,
    check_url,
    fetch,
    new_client,
    shown,
)
from network_discovery.vuln.store import AdvisoryStore, LoadCounts, StoreUnavailable

__all__ = [
    "FeedSettings",
    "LoadResult",
    "UrlLoad",
    "feed_settings",
    "load_path",
    "load_url",
    "start_watch",
    "watch",
]

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 3600.0
MIN_INTERVAL = 10.0
MAX_URLS = 32
MAX_TIMEOUT = 600.0
_BATCH = 2000


@dataclass(frozen=True)
class LoadResult:
    files: int
    records: int
    skipped: int
    counts: LoadCounts
    errors: tuple[str, ...]


async def _keep(store: AdvisoryStore, records: Sequence[Advisory]) -> LoadCounts:
    counts = LoadCounts()
    for i in range(0, len(records), _BATCH):
        counts = counts + await store.load(records[i : i + _BATCH])
    return counts


async def load_path(store: AdvisoryStore, path: Path) -> LoadResult:
    """Read ``path`` (a file or a directory) and keep its records; a single file that cannot
    be read raises ``FileError``, a directory's bad files are listed in ``errors``."""
    report = await asyncio.to_thread(read_path, path)
    counts = await _keep(store, report.records)
    return LoadResult(
        report.files, len(report.records), report.skipped, counts, tuple(report.errors)
    )


@dataclass(frozen=True)
class UrlLoad:
    """One URL's load: ``result`` None when nothing was read (a 304, or the same body as
    ``previous``); what to send and compare next time."""

    result: LoadResult | None
    validators: Validators
    digest: str | None
    status: int


async def load_url(
    store: AdvisoryStore,
    url: str,
    previous: UrlLoad | None = None,
    *,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_FILE_BYTES,
) -> UrlLoad:
    """Fetch one advisory file from ``url`` (conditionally, after ``previous``) and keep its
    records; a ``UrlError`` when it cannot be fetched, a ``FileError`` when it is not an
    advisory file."""
    own = client is None
    http = new_client() if client is None else client
    try:
        answer = await fetch(
            http,
            url,
            previous.validators if previous is not None else None,
            max_bytes=max_bytes,
            timeout=timeout,
        )
    finally:
        if own:
            await http.aclose()
    if answer.data is None:
        digest = previous.digest if previous is not None else None
        return UrlLoad(None, answer.validators, digest, answer.status)
    digest = hashlib.sha256(answer.data).hexdigest()
    if previous is not None and previous.digest == digest:
        return UrlLoad(None, answer.validators, digest, answer.status)
    records = await asyncio.to_thread(read_data, answer.data, shown(url))
    kept = [r for r in records if r.affected]
    counts = await _keep(store, kept)
    result = LoadResult(1, len(kept), len(records) - len(kept), counts, ())
    return UrlLoad(result, answer.validators, digest, answer.status)


@dataclass(frozen=True)
class FeedSettings:
    directory: Path | None
    interval: float
    urls: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT


def _seconds(
    values: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = values.get(name, "").strip()
    try:
        seconds = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name}: not a number of seconds: {raw[:40]!r}") from None
    if not low <= seconds <= high:
        top = "7 days" if high == 7 * 86400 else f"{high:g} s"
        raise ValueError(f"{name}: between {low:g} s and {top}")
    return seconds


def feed_settings(env: Mapping[str, str] | None = None) -> FeedSettings | None:
    """The scheduled load's settings, None when neither ``MESHQ_VULN_FEED_DIR`` nor
    ``MESHQ_VULN_FEED_URL`` is set; a ``ValueError`` naming the variable at fault."""
    values = os.environ if env is None else env
    directory = values.get("MESHQ_VULN_FEED_DIR", "").strip()
    raw_urls = values.get("MESHQ_VULN_FEED_URL", "")
    if len(raw_urls) > MAX_URLS * 2100:
        raise ValueError("MESHQ_VULN_FEED_URL: too long")
    urls = tuple(u for u in re.split(r"[\s,]+", raw_urls) if u)
    if not directory and not urls:
        return None
    if len(urls) > MAX_URLS:
        raise ValueError(f"MESHQ_VULN_FEED_URL: at most {MAX_URLS} URLs")
    for url in urls:
        try:
            check_url(url)
        except UrlError as exc:
            raise ValueError(f"MESHQ_VULN_FEED_URL: {exc}") from None
    interval = _seconds(
        values, "MESHQ_VULN_FEED_INTERVAL", DEFAULT_INTERVAL, MIN_INTERVAL, 7 * 86400
    )
    timeout = _seconds(values, "MESHQ_VULN_FEED_TIMEOUT", DEFAULT_TIMEOUT, 1.0, MAX_TIMEOUT)
    return FeedSettings(Path(directory) if directory else None, interval, urls, timeout)


def _signature(directory: Path) -> frozenset[tuple[str, int, int]]:
    found = set()
    for path in directory.rglob("*"):
        if path.name.endswith((".json", ".json.gz")) and path.is_file():
            stat = path.stat()
            found.add((str(path), stat.st_size, stat.st_mtime_ns))
    return frozenset(found)


async def _directory_round(
    store: AdvisoryStore, directory: Path, seen: frozenset[tuple[str, int, int]] | None
) -> frozenset[tuple[str, int, int]] | None:
    if not await asyncio.to_thread(directory.is_dir):
        log.warning("vuln.feed.missing", directory=str(directory))
        return seen
    signature = await asyncio.to_thread(_signature, directory)
    if signature == seen:
        return seen
    result = await load_path(store, directory)
    log.info(
        "vuln.feed.loaded",
        directory=str(directory),
        files=result.files,
        new=result.counts.new,
        updated=result.counts.updated,
        unchanged=result.counts.unchanged,
        errors=len(result.errors),
    )
    return signature


async def watch(store: AdvisoryStore, settings: FeedSettings) -> None:
    """Load the directory and the URLs now and whenever they change, checking every
    ``interval`` seconds; runs until cancelled, and outlives any one failed round or URL."""
    seen: frozenset[tuple[str, int, int]] | None = None
    last: dict[str, UrlLoad] = {}
    async with new_client() as client:
        while True:
            if settings.directory is not None:
                try:
                    seen = await _directory_round(store, settings.directory, seen)
                except (FileError, OSError, StoreUnavailable) as exc:
                    log.error("vuln.feed.failed", error=f"{type(exc).__name__}: {exc}"[:300])
            for url in settings.urls:
                try:
                    loaded = await load_url(
                        store, url, last.get(url), client=client, timeout=settings.timeout
                    )
                except (UrlError, FileError, OSError, StoreUnavailable) as exc:
                    log.error(
                        "vuln.feed.failed",
                        url=shown(url),
                        error=f"{type(exc).__name__}: {exc}"[:300],
                    )
                    continue
                last[url] = loaded
                if loaded.result is not None:
                    log.info(
                        "vuln.feed.loaded",
                        url=shown(url),
                        records=loaded.result.records,
                        new=loaded.result.counts.new,
                        updated=loaded.result.counts.updated,
                        unchanged=loaded.result.counts.unchanged,
                    )
            await asyncio.sleep(settings.interval)


async def start_watch(store: AdvisoryStore, env: Mapping[str, str] | None = None) -> Any:
    """Start the scheduled load where ``MESHQ_VULN_FEED_DIR`` or ``MESHQ_VULN_FEED_URL`` is
    set: an awaitable callable that stops it, or None when neither is. A bad setting raises
    ``ValueError``."""
    settings = feed_settings(env)
    if settings is None:
        return None
    task = asyncio.create_task(watch(store, settings), name="vuln-feed")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return stop
