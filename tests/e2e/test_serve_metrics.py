"""``meshq serve`` with ``MESHQ_METRICS_INVENTORY`` set runs the interface counter collector as
one of its supervised children: it polls an snmpsim agent (counters that advance) into the
embedded PostgreSQL on its schedule, shows in the supervisor's /ready, comes back after a
SIGKILL and goes on storing, and stops with the stack on Ctrl-C. A missing inventory is
refused before anything starts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from e2e.serve_support import (
    ServeRun,
    clean_env,
    kill_child,
    refused_at_start,
    serving,
    stop_with_sigint,
)
from meshq_runtime.embedded import free_port
from support.metrics_lab import ADDRESS, COMMUNITY, Agent, serve
from support.procs import wait_for

pytestmark = pytest.mark.e2e

CHILD = "metrics_collector"


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with serve(tmp_path_factory.mktemp("serve-snmpsim"), free_port()) as running:
        yield running


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, agent: Agent) -> Iterator[ServeRun]:
    root = tmp_path_factory.mktemp("serve-metrics")
    inventory = root / "inventory.yaml"
    inventory.write_text(
        "credentials:\n"
        "  lab: {snmp_community_env: SERVE_LAB_COMMUNITY}\n"
        "hosts:\n"
        f"  edge1: {{address: {ADDRESS}, port: {agent.port}, transport: snmp, credentials: lab}}\n"
    )
    env = clean_env(
        MESHQ_METRICS_INVENTORY=str(inventory),
        MESHQ_METRICS_INTERVAL="2",
        SERVE_LAB_COMMUNITY=COMMUNITY,
    )
    with serving(root, env) as serve_run:
        yield serve_run


@pytest.fixture(scope="module")
def endpoints(run: ServeRun) -> dict[str, Any]:
    return run.wait_up()


async def _stored(url: str, after: datetime) -> tuple[int, int]:
    """(samples, rates) of edge1 stored after ``after``."""
    conn = await asyncpg.connect(url)
    try:
        counts = []
        for table in ("metrics_if_samples", "metrics_if_rates"):
            exists = await conn.fetchval("SELECT to_regclass($1)", table)
            counts.append(
                0
                if exists is None
                else await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE device = 'edge1' AND ts > $1",
                    after,
                )
            )
        return counts[0], counts[1]
    finally:
        await conn.close()


def _wait_stored(url: str, after: datetime, rates: int) -> tuple[int, int]:
    def enough() -> tuple[int, int] | None:
        found = asyncio.run(_stored(url, after))
        return found if found[1] >= rates else None

    return wait_for(enough, timeout=90, interval=0.5, what=f"{rates} rates of edge1 stored")


def test_the_collector_is_a_supervised_child_that_stores(endpoints: dict[str, Any]) -> None:
    ready = httpx.get(f"{endpoints['supervisor']}/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    entry = ready.json()["children"][CHILD]
    assert entry["state"] == "up" and entry["pid"]
    assert CHILD not in endpoints  # it serves nothing
    # three ports polled each round; two rounds give the first rates
    samples, rates = _wait_stored(endpoints["postgres"], datetime(2000, 1, 1, tzinfo=UTC), 6)
    assert samples >= rates


def test_a_killed_collector_comes_back_and_goes_on(
    endpoints: dict[str, Any], run: ServeRun
) -> None:
    recovery = kill_child(run, endpoints, CHILD, timeout=60)
    assert recovery.back["state"] == "up"
    killed_at = datetime.now(UTC)
    # the restarted collector takes its previous samples from the store: rates right away
    _wait_stored(endpoints["postgres"], killed_at, 3)


def test_sigint_stops_the_collector_with_the_stack(run: ServeRun) -> None:
    stop_with_sigint(run)


def test_an_inventory_that_is_not_there_is_refused_at_start(tmp_path: Path) -> None:
    env = clean_env(MESHQ_METRICS_INVENTORY=str(tmp_path / "missing.yaml"))
    stderr = refused_at_start(tmp_path, env)
    assert "MESHQ_METRICS_INVENTORY" in stderr and "is not a file" in stderr
