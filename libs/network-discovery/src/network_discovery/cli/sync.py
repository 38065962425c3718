"""``meshq sync --target netbox``: pull NetBox's metadata and cables into the graph, push
discovered devices into NetBox, or both; ``--dry-run`` shows the plan and changes nothing.
A push fills only empty fields of objects it did not create unless ``--overwrite FIELD``
(repeatable) names the field; the disagreements are printed as ``drift:`` lines."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import AsyncExitStack
from typing import Any, NamedTuple, cast

import click

from network_discovery.cli._common import CliError
from network_discovery.cli.stack import find_stack
from network_discovery.integrations.netbox._client import DEFAULT_TIMEOUT
from network_discovery.integrations.netbox._owner import OVERWRITABLE

__all__ = ["sync"]

DIRECTIONS = ("push", "pull", "both")


def _timeout() -> float:
    raw = os.environ.get("NETBOX_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise CliError(f"NETBOX_TIMEOUT must be a number of seconds above 0, not {raw!r}")
    return seconds


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "nothing to change: NetBox and the graph agree"
    columns = list(rows[0])
    cells = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


@click.command()
@click.option("--target", type=click.Choice(["netbox"]), required=True, help="What to sync with.")
@click.option(
    "--direction",
    type=click.Choice(DIRECTIONS),
    default=None,
    help="push, pull or both (default: NETBOX_SYNC_DIRECTION, else pull; pull never writes "
    "to NetBox).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Push: delete NetBox objects this sync created that "
    "discovery no longer sees (never anything else).",
)
@click.option(
    "--overwrite",
    "overwrite",
    multiple=True,
    metavar="FIELD",
    type=click.Choice(OVERWRITABLE),
    help="Push: replace this field where NetBox already has a value on an object the sync did "
    "not create (repeatable; default: only empty fields are filled). One of: "
    + ", ".join(OVERWRITABLE)
    + ".",
)
@click.option("--verbose", "-v", is_flag=True, help="List every change, not only the counts.")
def sync(
    target: str,
    direction: str | None,
    dry_run: bool,
    prune: bool,
    overwrite: tuple[str, ...],
    verbose: bool,
) -> None:
    """Sync the graph with NetBox (NETBOX_URL and NETBOX_TOKEN; NETBOX_TIMEOUT seconds a
    request may take, default 30)."""
    url = os.environ.get("NETBOX_URL", "").strip()
    token = os.environ.get("NETBOX_TOKEN", "").strip()
    if not url or not token:
        raise CliError("set NETBOX_URL (https://netbox.example.com) and NETBOX_TOKEN")
    chosen = direction or os.environ.get("NETBOX_SYNC_DIRECTION", "").strip() or "pull"
    if chosen not in DIRECTIONS:
        raise CliError(f"NETBOX_SYNC_DIRECTION must be push, pull or both, not {chosen!r}")
    timeout = _timeout()
    api_url, api_key = find_stack().need_api()
    try:
        result = asyncio.run(
            _run(
                url,
                token,
                api_url,
                api_key,
                chosen,
                _Choices(dry_run, prune, tuple(dict.fromkeys(overwrite)), timeout),
            )
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    _report(result, dry_run, verbose)
    if result.errors:
        sys.exit(1)


class _Choices(NamedTuple):
    dry_run: bool
    prune: bool
    overwrite: tuple[str, ...]
    timeout: float


async def _run(
    url: str,
    token: str,
    api_url: str,
    api_key: str,
    direction: str,
    choices: _Choices,
) -> Any:
    from network_discovery.client import AsyncMeshqClient, ClientError, resolve_settings
    from network_discovery.integrations.netbox import (
        GraphReader,
        NetBoxClient,
        NetBoxError,
        SyncOptions,
        run_sync,
    )
    from network_discovery.integrations.netbox.sync import Direction

    options = SyncOptions(
        direction=cast(Direction, direction),  # one of DIRECTIONS: click checked it
        dry_run=choices.dry_run,
        prune=choices.prune,
        overwrite=choices.overwrite,
        source="meshq-cli",
    )
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(NetBoxClient(url, token, timeout=choices.timeout))
        graph = GraphReader(api_url, headers={"X-API-Key": api_key})
        stack.push_async_callback(graph.aclose)
        api = await stack.enter_async_context(AsyncMeshqClient(resolve_settings(api_url, api_key)))
        into_graph = _IntoGraph(api)
        bar = stack.enter_context(
            click.progressbar(length=1, label=f"sync {direction}", file=sys.stderr)
        )

        def planned(plan: Any) -> None:
            bar.length = max(1, (bar.length or 0) - 1 + sum(len(s.items) for s in plan.steps))

        try:
            result = await run_sync(
                client, graph, options, publish=into_graph, progress=bar.update, on_plan=planned
            )
            await into_graph.flush()
        except NetBoxError as exc:
            raise CliError(str(exc)) from exc
        except ClientError as exc:
            raise CliError(f"the graph did not take the pulled changes: {exc}") from exc
        return result


class _IntoGraph:
    """What a pull changes in the graph, sent through the REST API: metadata patches in
    batches (``POST /snapshots/patches``), the declared links as a snapshot
    (``POST /snapshots``), in the order the pull produced them."""

    BATCH = 1_000

    def __init__(self, api: Any) -> None:
        self._api = api
        self._patches: list[dict[str, Any]] = []

    async def __call__(self, event: Any) -> None:
        from network_discovery.contracts.events import SnapshotPatch, SnapshotSubmitted

        if isinstance(event, SnapshotPatch):
            self._patches.append(event.data.model_dump(mode="json"))
            if len(self._patches) >= self.BATCH:
                await self.flush()
        elif isinstance(event, SnapshotSubmitted):
            await self.flush()
            await self._api.submit_snapshot(event.data.model_dump_json().encode())
        else:  # pragma: no cover - a pull produces nothing else
            raise TypeError(f"a pull produced an unexpected {type(event).__name__}")

    async def flush(self) -> None:
        while self._patches:
            batch, self._patches = self._patches[: self.BATCH], self._patches[self.BATCH :]
            await self._api.submit_patches(batch)


def _report(result: Any, dry_run: bool, verbose: bool) -> None:
    rows = result.summary()
    if dry_run:
        rows = [{k: v for k, v in r.items() if k != "done"} for r in rows]
        click.echo("dry run: nothing was changed; a real run would do this:")
    click.echo(_table(rows))
    if verbose or dry_run:
        for plan in result.plans:
            for line in plan.lines():
                click.echo(f"  {line}")
    for note in result.notes:
        click.echo(f"note: {note}")
    for conflict in result.conflicts:
        click.echo(f"conflict: {conflict}", err=True)
    for drift in result.drift:
        click.echo(f"drift: {drift}", err=True)
    for error in result.errors:
        click.echo(f"refused: {error}", err=True)
