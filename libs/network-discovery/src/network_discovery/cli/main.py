"""``meshq``: run the product, and talk to a running stack.

Errors are one line on stderr with a non-zero exit; no traceback for what a user can fix.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from network_discovery.cli._common import CliError
from network_discovery.cli.apikey import apikey
from network_discovery.cli.audit import install as install_audit
from network_discovery.cli.compliance import compliance
from network_discovery.cli.discover import discover
from network_discovery.cli.export import export
from network_discovery.cli.graph import ingest, query, snapshots
from network_discovery.cli.k8s import k8s
from network_discovery.cli.license import install as install_license
from network_discovery.cli.metrics import metrics
from network_discovery.cli.simulate import simulate
from network_discovery.cli.sync import sync
from network_discovery.cli.vuln import vuln

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meshoptixiq-network-discovery", prog_name="meshq")
@click.option(
    "--api-url",
    metavar="URL",
    default=None,
    help="The REST API (query gateway) to talk to; default MESHOPTIXIQ_API_URL, else the "
    "stack 'meshq serve' runs here.",
)
@click.option(
    "--api-key",
    metavar="KEY",
    default=None,
    help="The API key to send; default MESHOPTIXIQ_API_KEY, else the local stack's admin key "
    "(prefer the variable: a flag shows in the process list).",
)
def cli(api_url: str | None, api_key: str | None) -> None:
    """MeshOptixIQ: one graph of your network, and answers about it.

    Every command that talks to a running stack goes through its REST API, found by
    --api-url/--api-key, else MESHOPTIXIQ_API_URL/MESHOPTIXIQ_API_KEY, else the endpoints
    file of 'meshq serve'.
    """
    _quiet_logs()


def _quiet_logs() -> None:
    """What the commands log goes to stderr, from MESHQ_LOG_LEVEL up (warning unless set), so
    that their output (tables, JSON, an inventory) stays clean on stdout; a command that runs
    services (serve) sets up its own logging."""
    import logging
    import os

    import structlog

    if structlog.is_configured():
        return
    name = os.environ.get("MESHQ_LOG_LEVEL", "warning").upper()
    level = logging.getLevelNamesMapping().get(name, logging.WARNING)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


@cli.command()
@click.option("--demo", is_flag=True, help="Load the bundled demo network once the stack is up.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MESHQ_DATA_DIR",
    default=None,
    help="Where data lives (default ~/.meshoptixiq/data; env MESHQ_DATA_DIR).",
)
@click.option(
    "--gateway-port",
    type=click.IntRange(1, 65535),
    envvar="MESHQ_GATEWAY_PORT",
    default=None,
    help="Port of the REST API (default 8000; env MESHQ_GATEWAY_PORT).",
)
def serve(demo: bool, data_dir: Path | None, gateway_port: int | None) -> None:
    """Run every service on this machine (embedded Kafka, PostgreSQL, Redis, graph store).

    Each of MESHQ_KAFKA_BOOTSTRAP, MESHQ_POSTGRES_URL, MESHQ_REDIS_URL and MEMGRAPH_URI, when
    set, replaces its embedded part. A process that dies is restarted (with a growing delay);
    Ctrl-C stops everything, entry points first and the broker last, within
    MESHQ_SERVE_STOP_TIMEOUT seconds (default 30).
    """
    try:
        from meshq_runtime.serve import run_serve
    except ImportError as exc:  # a customer install: the stack is not part of it
        raise CliError(
            f"'meshq serve' needs the development package meshq-embedded ({exc.name} is "
            "missing): run 'make setup' in a MeshOptixIQ source checkout, or point meshq at a "
            "running stack with MESHOPTIXIQ_API_URL"
        ) from exc
    sys.exit(run_serve(demo=demo, data_dir=data_dir, gateway_port=gateway_port))


@cli.group()
def contracts() -> None:
    """The event and snapshot contracts, for teams that consume our topics."""


@contracts.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def contracts_export(directory: Path) -> None:
    """Write the JSON Schema of every event type and of the snapshot format to DIRECTORY."""
    from network_discovery.contracts.schema import export_schemas

    try:
        written = export_schemas(directory)
    except OSError as exc:
        raise CliError(f"cannot write to {directory}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {len(written)} schema files to {directory}")


cli.add_command(apikey)
cli.add_command(compliance)
install_audit(cli)
cli.add_command(discover)
cli.add_command(export)
cli.add_command(ingest)
cli.add_command(k8s)
cli.add_command(metrics)
cli.add_command(query)
cli.add_command(snapshots)
cli.add_command(simulate)
cli.add_command(sync)
cli.add_command(vuln)
install_license(cli)


def main() -> None:
    cli(prog_name="meshq")


if __name__ == "__main__":
    main()
