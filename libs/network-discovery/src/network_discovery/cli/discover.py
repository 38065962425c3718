"""``meshq discover``: collect from devices, crawl to neighbours, submit one snapshot."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from network_discovery.cli._common import CliError, echo_outcome, submit, wait_option
from network_discovery.cli.stack import find_stack

__all__ = ["discover"]


def _quiet_libraries() -> None:
    """asyncssh logs every connection, pysnmp its failures, and every device logs a line;
    the run summary says it all, so only warnings reach stderr, stdout keeps the summary."""
    import structlog

    for name in ("asyncssh", "pysnmp"):
        logging.getLogger(name).addHandler(logging.NullHandler())
        logging.getLogger(name).propagate = False
    if not structlog.is_configured():
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        )


def plan_limit() -> tuple[str, int | None]:
    """(plan, max_network_devices) of the license in force on this machine."""
    from network_discovery.licensing import verifier

    status = verifier.get_status()
    limit = status.features.get("max_network_devices")
    return status.plan, int(limit) if isinstance(limit, int) else None


def _credentials(kw: dict[str, Any]) -> Any:
    """Seeds' and crawled devices' credentials: --username/--password-*, or a named profile
    of a YAML file's ``credentials`` section (--credentials NAME --credentials-file FILE)."""
    from network_discovery.discovery import Credentials, SecretRef
    from network_discovery.discovery.credentials import CredentialError, credentials_from_mapping

    password_env, password_file = kw["password_env"], kw["password_file"]
    if password_env and password_file:
        raise CliError("give --password-env or --password-file, not both")
    profile, file = kw["credentials"], kw["credentials_file"]
    if bool(profile) != bool(file):
        raise CliError("--credentials NAME and --credentials-file FILE go together")
    if profile:
        if kw["username"] or password_env or password_file:
            raise CliError(
                "give --credentials or --username/--password-env/--password-file, not both"
            )
        try:
            doc = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CliError(f"cannot read {file}: {getattr(exc, 'strerror', exc)}") from exc
        profiles = doc.get("credentials") if isinstance(doc, dict) else None
        if not isinstance(profiles, dict) or profile not in profiles:
            known = ", ".join(sorted(map(str, profiles))) if isinstance(profiles, dict) else ""
            raise CliError(
                f"{file}: no credentials profile {profile!r} (defined: {known or 'none'})"
            )
        try:
            return credentials_from_mapping(
                profile, profiles[profile], f"{file}: credentials.{profile}"
            )
        except CredentialError as exc:
            raise CliError(str(exc)) from exc
    if kw["transport"] == "snmp" and kw["seeds"]:
        raise CliError(
            "--transport snmp needs --credentials NAME --credentials-file FILE: a profile with "
            "snmp_community_env/_file, or SNMPv3 user and keys"
        )
    password = (
        SecretRef(env=password_env)
        if password_env
        else SecretRef(file=password_file)
        if password_file
        else None
    )
    return Credentials(name="command line", username=kw["username"], password=password)


def _targets(
    inventory: Path | None, seeds: tuple[str, ...], transport: str, options: Any
) -> list[Any]:
    from network_discovery.discovery import (
        InventoryError,
        Target,
        is_allowed,
        load_inventory,
        resolve_inventory,
    )

    if bool(inventory) == bool(seeds):
        raise CliError("give --inventory FILE or one or more --seed HOST (not both)")
    if inventory:
        if transport != "ssh":
            raise CliError(
                "--transport is for --seed; in an inventory, set transport per host or in defaults"
            )
        try:
            loaded = asyncio.run(resolve_inventory(load_inventory(inventory)))
        except InventoryError as exc:
            raise CliError(str(exc)) from exc
        for note in loaded.skipped:
            click.echo(f"skipped {note}", err=True)
        return list(loaded.targets)
    if not options.allow:
        raise CliError(
            "--seed needs --allow CIDR: the networks the crawler may dial (e.g. 10.0.0.0/16)"
        )
    targets = []
    for seed in seeds:
        target = Target(
            address=seed,
            platform=options.platform,
            port=options.port,
            transport="snmp" if transport == "snmp" else "ssh",
            credentials=options.credentials,
        )
        if not is_allowed(seed, options.allow):
            raise CliError(f"seed {seed} is not an IP address inside --allow")
        targets.append(target)
    return targets


@click.command()
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML inventory (its hosts, and NetBox devices when it has a netbox section), or an "
    "Ansible inventory (INI or YAML).",
)
@click.option(
    "--seed",
    "seeds",
    multiple=True,
    metavar="HOST",
    help="Start from this device's address and crawl its neighbours (repeatable).",
)
@click.option(
    "--max-hops",
    type=click.IntRange(0, 32),
    default=None,
    help="Neighbour hops to crawl (default 2 with --seed, 0 with --inventory).",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="CIDR",
    help="A network the crawler may dial (repeatable); nothing outside is dialled.",
)
@click.option(
    "--platform",
    type=click.Choice(["cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos"]),
    default=None,
    help="Platform of seeds, and of crawled devices LLDP/CDP does not identify.",
)
@click.option(
    "--transport",
    type=click.Choice(["ssh", "snmp"]),
    default="ssh",
    show_default=True,
    help="How seeds are collected; a device crawled over SNMP is walked like its neighbour.",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port of seeds and crawled devices (default 22 for SSH, 161 for SNMP).",
)
@click.option(
    "--credentials",
    default=None,
    metavar="NAME",
    help="A credentials profile for seeds and crawled devices (with --credentials-file).",
)
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A YAML file whose 'credentials' section defines --credentials NAME (an inventory).",
)
@click.option("--username", default=None, help="Username for seeds and crawled devices.")
@click.option(
    "--password-env",
    default=None,
    metavar="VAR",
    help="Environment variable holding their password.",
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding their password.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 500),
    default=10,
    show_default=True,
    help="Devices collected at once.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 600),
    default=30.0,
    show_default=True,
    help="Seconds per connection step and per command.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="Extra attempts for a device that timed out or was unreachable.",
)
@click.option(
    "--save",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the raw outputs as DIR/<host>/<command>.txt (ingest's layout).",
)
@click.option(
    "--publish/--no-publish",
    default=True,
    help="Submit the snapshot through the REST API (default) or only collect and report.",
)
@wait_option
@click.option(
    "--wait-timeout", default=300.0, show_default=True, help="Seconds to wait with --wait."
)
def discover(**kw: Any) -> None:
    """Collect from devices (SSH, or SNMP where the inventory says) and submit ONE snapshot."""
    from network_discovery.discovery import (
        DeviceLimitError,
        DiscoveryOptions,
        build_snapshot,
        collectors,
        parse_networks,
        save_outputs,
    )
    from network_discovery.discovery import discover as run_discovery

    _quiet_libraries()
    try:
        allow = parse_networks(kw["allow"])
    except ValueError as exc:
        raise CliError(f"--allow: {exc}") from exc
    plan, limit = plan_limit()
    max_hops = kw["max_hops"] if kw["max_hops"] is not None else (2 if kw["seeds"] else 0)
    options = DiscoveryOptions(
        concurrency=kw["concurrency"],
        timeout=kw["timeout"],
        retries=kw["retries"],
        max_hops=max_hops,
        allow=allow,
        port=kw["port"],
        platform=kw["platform"],
        credentials=_credentials(kw),
        device_limit=limit,
        plan=plan,
    )
    targets = _targets(kw["inventory"], kw["seeds"], kw["transport"], options)
    if kw["publish"]:
        find_stack().need_api()  # before any device is touched: where the snapshot goes
    timeout = kw["timeout"]

    with click.progressbar(length=len(targets), label="discovering", file=sys.stderr) as bar:

        def progress(result: Any, done: int, total: int) -> None:
            bar.length = max(total, done)
            bar.update(1)

        try:
            with collectors(targets, timeout) as collect:
                summary = asyncio.run(run_discovery(targets, options, collect, progress=progress))
        except DeviceLimitError as exc:
            raise CliError(str(exc)) from exc
    for line in summary.lines():
        click.echo(line)
    counts = summary.counts()
    click.echo(
        f"{len(summary.results)} devices in {summary.elapsed_s:.1f}s: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    )
    if kw["save"]:
        written = save_outputs(summary, kw["save"])
        click.echo(f"saved the outputs of {written} devices under {kw['save']}")
    snapshot = build_snapshot(summary)
    if snapshot is None:
        raise CliError("no device could be collected; nothing to submit")
    if not kw["publish"]:
        click.echo(f"snapshot {snapshot.snapshot_id}: not submitted (--no-publish)")
        return
    echo_outcome(submit(snapshot, wait=kw["wait"], timeout=kw["wait_timeout"]))
