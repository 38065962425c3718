"""``meshq vuln load FILE|DIR``: read advisories (CSAF 2.0, NVD CVE API 2.0, CVE JSON 5) into
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
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def load(path: Path) -> None:
    """Load the advisories in PATH (a .json or .json.gz file, or a directory of them)."""
    from network_discovery.vuln.feed import load_path
    from network_discovery.vuln.load import FileError
    from network_discovery.vuln.store import StoreUnavailable

    store, where = _store()
    try:
        result = asyncio.run(load_path(store, path))
    except FileError as exc:
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
