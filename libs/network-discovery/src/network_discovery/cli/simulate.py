"""``meshq simulate``: a failure's blast radius from the running stack, with exit codes for CI.

Exit codes: 0 the simulation ran and stayed within the thresholds; 3 it ran and a threshold
was crossed (the change is blocked); 4 it could not run (unknown or ambiguous target, refused,
rate limited, the API unreachable): a gate fails closed. Click's own usage errors exit 2.
"""

from __future__ import annotations

import json
from typing import Any

import click

from network_discovery.cli._api import api
from network_discovery.cli._common import CliError

__all__ = ["EXIT_BLOCKED", "EXIT_ERROR", "EXIT_PASS", "simulate"]

EXIT_PASS = 0
EXIT_BLOCKED = 3
EXIT_ERROR = 4
SEVERITIES = ("low", "medium", "high", "critical")


class SimulationError(CliError):
    """The simulation could not run: exit 4, so that a gate fails closed."""

    exit_code = EXIT_ERROR


def _call(scenario: str, target: str, depth: int) -> dict[str, Any]:
    with api(SimulationError, timeout=300) as client:
        return client.chaos_simulate(scenario, target, depth=depth)


def _report(answer: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(answer, indent=2))
        return
    click.echo(
        f"blast radius {answer['blast_radius_pct']}% "
        f"({len(answer['affected_devices'])} devices affected, "
        f"{len(answer['degraded_devices'])} degraded, "
        f"{answer['affected_endpoints']} endpoints), "
        f"impact {answer['impact_score']}, severity {answer['severity']}"
    )
    if answer["affected_devices"]:
        click.echo("affected: " + ", ".join(answer["affected_devices"]))
    if answer["degraded_devices"]:
        click.echo("degraded: " + ", ".join(answer["degraded_devices"]))
    for entry in answer.get("lost_paths", []):
        for path in entry["lost"]:
            click.echo(f"lost path ({entry['device']}): " + " -> ".join(path))


def _run(
    scenario: str, target: str, depth: int, fail_above: float | None, fail_on: str | None, fmt: str
) -> None:
    answer = _call(scenario, target, depth)
    _report(answer, fmt)
    reasons = []
    if fail_above is not None and answer["blast_radius_pct"] > fail_above:
        reasons.append(f"blast radius {answer['blast_radius_pct']}% is above {fail_above}%")
    if fail_on is not None and SEVERITIES.index(answer["severity"]) >= SEVERITIES.index(fail_on):
        reasons.append(f"severity {answer['severity']} is {fail_on} or worse")
    if reasons:
        click.echo("meshq: blocked: " + "; ".join(reasons), err=True)
        raise SystemExit(EXIT_BLOCKED)


def _command(name: str, scenario: str, what: str) -> click.Command:
    @click.command(name=name, help=f"Simulate the failure of {what} and gate on it.")
    @click.argument("target")
    @click.option(
        "--depth",
        type=click.IntRange(1, 6),
        default=3,
        show_default=True,
        help="Hops from the failed element that count.",
    )
    @click.option(
        "--fail-above",
        type=click.FloatRange(0, 100),
        default=None,
        help="Exit 3 when blast_radius_pct is above this percentage.",
    )
    @click.option(
        "--fail-on-severity",
        "fail_on",
        type=click.Choice(SEVERITIES),
        default=None,
        help="Exit 3 when the severity is this or worse.",
    )
    @click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    def command(
        target: str, depth: int, fail_above: float | None, fail_on: str | None, fmt: str
    ) -> None:
        _run(scenario, target, depth, fail_above, fail_on, fmt)

    return command


@click.group()
def simulate() -> None:
    """Blast radius of a failure (POST /graph/chaos-simulate). Exit 0 pass, 3 blocked by a
    threshold, 4 could not simulate (a CI gate fails closed)."""


simulate.add_command(_command("device-failure", "device_failure", "a device (HOST)"))
simulate.add_command(
    _command("link-failure", "link_failure", "the link on an interface (HOST:IFNAME)")
)
simulate.add_command(
    _command("segment-failure", "segment_failure", "a VLAN (110, vlan110) or a subnet (CIDR)")
)
