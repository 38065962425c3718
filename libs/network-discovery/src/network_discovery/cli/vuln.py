"""``meshq vuln load FILE|DIR|URL``: read advisories (CSAF 2.0, NVD CVE API 2.0, CVE JSON 5) into
the advisory store the ``meshq_vuln_*`` queries read.

The store is PostgreSQL at ``MESHQ_POSTGRES_URL``, else the one ``meshq serve`` runs here,
else SQLite under ``MESHQ_DATA_DIR`` (the graph engine's own fallback, docs/vulnerabilities.md).
Loading a file again changes nothing; a newer revision of an advisory replaces the older.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from network_discovery.cli._common import CliError

if TYPE_CHECKING:
    from network_discovery.vuln.store import AdvisoryStore

__all__ = ["vuln"]


def _store() -> tuple[AdvisoryStore, str]:
    from network_discovery.vuln.store import (
        PostgresAdvisoryStore,
        SqliteAdvisoryStore,
        open_store,
    )

    url = os.environ.get("MESHQ_POSTGRES_URL", "").strip()
    if not url:
        from network_discovery.client._settings import read_endpoints

        try:
            url = str(read_endpoints().get("postgres") or "")
        except Exception as exc:  # an unreadable endpoints file: say which
            raise CliError(str(exc)) from exc
    if url:
        return PostgresAdvisoryStore(url), "PostgreSQL"
    store = open_store({"MESHQ_DATA_DIR": os.environ.get("MESHQ_DATA_DIR", "")})
    assert isinstance(store, SqliteAdvisoryStore)
    return store, str(store.path)


@click.group()
def vuln() -> None:
    """Vulnerabilities: advisories matched to the devices' software and configuration."""


@vuln.command("load")
@click.argument("source")
def load(source: str) -> None:
    """Load the advisories in SOURCE: a .json or .json.gz file, a directory of them, or the
    http(s) URL of one such file."""
    from network_discovery.vuln.feed import LoadResult, load_path, load_url
    from network_discovery.vuln.load import FileError
    from network_discovery.vuln.remote import UrlError, shown
    from network_discovery.vuln.store import StoreUnavailable

    is_url = source.startswith(("http://", "https://"))
    path = Path(source)
    if not is_url and not path.exists():
        raise CliError(f"{source}: no such file or directory"[:500])
    store, where = _store()
    try:
        if is_url:
            fetched = asyncio.run(load_url(store, source))
            if fetched.result is None:  # a 304 to a request that asked for none
                raise CliError(f"{shown(source)}: HTTP {fetched.status} without a body")
            result: LoadResult = fetched.result
        else:
            result = asyncio.run(load_path(store, path))
    except (FileError, UrlError) as exc:
        raise CliError(str(exc)) from None
    except StoreUnavailable as exc:
        raise CliError(f"advisory store: {exc}"[:500]) from None
    except OSError as exc:
        raise CliError(f"advisory store ({where}): {exc}"[:500]) from None
    counts = result.counts
    click.echo(
        f"{result.records} advisories from {result.files} file(s) into {where}: "
        f"{counts.new} new, {counts.updated} updated, {counts.unchanged} unchanged; "
        f"{result.skipped} about other products left out"
    )
    for error in result.errors:
        click.echo(f"meshq: skipped {error}", err=True)
    if result.errors:
        raise CliError(f"{len(result.errors)} file(s) could not be read (the others are loaded)")
