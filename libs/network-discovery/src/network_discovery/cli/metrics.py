"""``meshq metrics run``: poll interface counters on a schedule into the metrics store.

The devices are a discovery inventory's SNMP hosts; samples, rates and rollups go to
PostgreSQL (``MESHQ_POSTGRES_URL``, else the one ``meshq serve`` runs here), where the
``interface_metrics`` and ``link_utilization`` queries read them. Every setting is an option
and an environment variable (docs/metrics.md); Ctrl-C (or SIGTERM) ends the round in flight's
wait and stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import click

from network_discovery.cli._common import CliError

__all__ = ["metrics"]


def _postgres_url() -> str:
    url = os.environ.get("MESHQ_POSTGRES_URL", "").strip()
    if url:
        return url
    from network_discovery.client._settings import read_endpoints

    try:
        local = read_endpoints().get("postgres")
    except Exception as exc:  # an unreadable endpoints file: say which
        raise CliError(str(exc)) from exc
    if not local:
        raise CliError(
            "no metrics store: set MESHQ_POSTGRES_URL, or start the stack with 'meshq serve' "
            "on this machine"
        )
    return str(local)


@click.group()
def metrics() -> None:
    """Interface metrics: counters polled into the metrics store."""


@metrics.command("run")
@click.option(
    "--inventory",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="MESHQ_METRICS_INVENTORY",
    required=True,
    help="The discovery inventory (YAML or Ansible) whose SNMP hosts are polled "
    "(env MESHQ_METRICS_INVENTORY).",
)
@click.option(
    "--interval",
    type=click.FloatRange(1, 3600),
    envvar="MESHQ_METRICS_INTERVAL",
    default=60.0,
    show_default=True,
    help="Seconds between polls (env MESHQ_METRICS_INTERVAL).",
)
@click.option(
    "--rollup-interval",
    type=click.FloatRange(1, 86400),
    envvar="MESHQ_METRICS_ROLLUP_INTERVAL",
    default=300.0,
    show_default=True,
    help="Seconds between rollups of the newest rates (env MESHQ_METRICS_ROLLUP_INTERVAL).",
)
@click.option(
    "--retention-interval",
    type=click.FloatRange(60, 7 * 86400),
    envvar="MESHQ_METRICS_RETENTION_INTERVAL",
    default=3600.0,
    show_default=True,
    help="Seconds between retention runs, which drop expired day partitions "
    "(env MESHQ_METRICS_RETENTION_INTERVAL).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    envvar="MESHQ_METRICS_CONCURRENCY",
    default=32,
    show_default=True,
    help="Devices polled at once (env MESHQ_METRICS_CONCURRENCY).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 60),
    envvar="MESHQ_METRICS_TIMEOUT",
    default=5.0,
    show_default=True,
    help="Seconds per SNMP request (env MESHQ_METRICS_TIMEOUT).",
)
@click.option(
    "--device-timeout",
    type=click.FloatRange(1, 600),
    envvar="MESHQ_METRICS_DEVICE_TIMEOUT",
    default=60.0,
    show_default=True,
    help="Seconds one device's whole poll may take (env MESHQ_METRICS_DEVICE_TIMEOUT).",
)
@click.option(
    "--max-devices",
    type=click.IntRange(1, 1_000_000),
    envvar="MESHQ_METRICS_MAX_DEVICES",
    default=10_000,
    show_default=True,
    help="The most devices polled; beyond, the rest are logged and left out "
    "(env MESHQ_METRICS_MAX_DEVICES).",
)
@click.option(
    "--rounds",
    type=click.IntRange(1, 1_000_000),
    default=None,
    help="Stop after this many polls (a rollup follows the last); default: until stopped.",
)
def run(
    inventory: Path,
    interval: float,
    rollup_interval: float,
    retention_interval: float,
    concurrency: int,
    timeout: float,
    device_timeout: float,
    max_devices: int,
    rounds: int | None,
) -> None:
    """Poll the inventory's SNMP devices every INTERVAL seconds into the metrics store.

    A host is polled when its transport is snmp or its credentials profile has SNMP secrets
    (a community or an SNMPv3 user; secrets by reference, as for discovery). The store's
    retention is MESHQ_METRICS_RETENTION (and the rollups' variables).
    """
    try:
        from meshq_runtime.metrics_store import MetricsSettings
    except ImportError as exc:  # a customer install without the service runtime
        raise CliError(
            f"'meshq metrics run' needs the service runtime meshq-runtime ({exc.name} is missing)"
        ) from exc
    try:
        settings = MetricsSettings()
    except ValueError as exc:
        raise CliError(f"metrics settings: {exc}") from exc
    import asyncpg

    url = _postgres_url()
    options: dict[str, Any] = {
        "inventory": inventory,
        "interval_s": interval,
        "rollup_interval_s": rollup_interval,
        "retention_interval_s": retention_interval,
        "concurrency": concurrency,
        "timeout": timeout,
        "device_timeout": device_timeout,
        "max_devices": max_devices,
    }
    try:
        done = asyncio.run(_run(url, settings, options, rounds))
    except (OSError, asyncpg.PostgresError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise CliError(f"cannot use the metrics store: {detail}") from exc
    click.echo(f"metrics: {done.rounds} rounds stored, {done.failures} failed")
    if done.rounds == 0:
        raise CliError("no round was stored: see the log lines above")


async def _run(url: str, settings: Any, options: dict[str, Any], rounds: int | None) -> Any:
    from meshq_runtime.metrics_store import MetricsStore
    from meshq_runtime.postgres import create_pool
    from meshq_runtime.settings import PostgresSettings

    from network_discovery.metrics.schedule import MetricsSchedule

    pool = await create_pool(
        PostgresSettings.model_validate({"MESHQ_POSTGRES_URL": url}), max_size=4
    )
    try:
        store = MetricsStore(pool, settings)
        await store.ensure_schema()
        schedule = MetricsSchedule(store=store, **options)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await schedule.run(stop, rounds=rounds)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
        return schedule
    finally:
        await pool.close()
