"""The Vulnerabilities queries end to end: public lab captures parsed and applied to a real
graph store, the real advisories of tests/fixtures/vuln loaded into the advisory store (SQLite,
and the machine's PostgreSQL), ``meshq_vuln_scan`` / ``meshq_vuln_by_device`` run through the
catalogue, and ``meshq vuln load`` through the CLI."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.catalogue.vulns import VulnRow
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.cli.main import cli
from network_discovery.parsers.directory import parse_directory
from network_discovery.vuln.feed import load_path
from network_discovery.vuln.store import (
    AdvisoryStore,
    LoadCounts,
    PostgresAdvisoryStore,
    SqliteAdvisoryStore,
)

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ADVISORIES = FIXTURES / "vuln"
LABS = [
    FIXTURES / "real" / "sweep",
    FIXTURES / "real" / "ios" / "configs",
    FIXTURES / "real" / "eos" / "lab-validation" / "text",
    FIXTURES / "real" / "junos" / "configs" / "juniper_resolution",
]
# tests/fixtures/vuln/README.md, "Expected matches"
EXPECTED = {
    ("iosxe1", "CVE-2023-20198", "affected"),
    ("iosxe164-d1", "CVE-2023-20198", "affected if configured"),
    ("iosxe1", "CVE-2018-0171", "affected if configured"),
    ("iosxe164-d1", "CVE-2018-0171", "affected if configured"),
    ("np02", "CVE-2023-24509", "affected if configured"),
    ("nxos92-nxos1", "CVE-2021-1227", "affected if configured"),
}


@pytest.fixture(scope="module")
async def graph(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    store = EmbeddedStore(tmp_path_factory.mktemp("vuln-graph") / "db")
    engine = GraphEngine(store)
    await engine.start()
    for root in LABS:
        snapshot, _report = parse_directory(root)
        await engine.apply_snapshot(snapshot)
    yield store, engine
    await store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def advisory_store(request: pytest.FixtureRequest, tmp_path: Path) -> AdvisoryStore:
    if request.param == "sqlite":
        return SqliteAdvisoryStore(tmp_path / "vuln" / "advisories.sqlite3")
    stack = request.getfixturevalue("stack")
    return PostgresAdvisoryStore(stack.postgres_url)


async def _loaded(store: AdvisoryStore) -> AdvisoryStore:
    await load_path(store, ADVISORIES)
    return store


async def test_load_is_idempotent_and_replaces_a_revision(advisory_store: AdvisoryStore) -> None:
    first = await load_path(advisory_store, ADVISORIES)
    if first.counts.new == 0:  # the PostgreSQL database is shared by this module's tests
        assert first.counts.unchanged + first.counts.updated == 5
    else:
        assert first.counts == LoadCounts(new=5)
    again = await load_path(advisory_store, ADVISORIES)
    assert again.counts == LoadCounts(unchanged=5)
    assert (again.files, again.records, again.skipped, again.errors) == (5, 5, 0, ())
    records = await advisory_store.all()
    nvd = next(r for r in records if r.source == "nvd")
    revised = nvd.model_copy(update={"exploited": True})
    assert await advisory_store.load([revised]) == LoadCounts(updated=1)
    assert next(r for r in await advisory_store.all() if r.key == nvd.key).exploited is True
    assert await advisory_store.count() >= 5
    await advisory_store.load([nvd])  # back as the file says


async def test_scan(graph: Any, advisory_store: AdvisoryStore) -> None:
    store, engine = graph
    ctx = QueryContext(store, engine, vulns=await _loaded(advisory_store))
    result = await run_query(REGISTRY, "meshq_vuln_scan", {}, ctx)
    rows = result.rows
    for row in rows:
        VulnRow.model_validate(row)
    assert {(r["device"], r["cve"], r["status"]) for r in rows} == EXPECTED
    top = rows[0]
    assert (top["cve"], top["cvss_score"], top["severity"], top["exploited"]) == (
        "CVE-2023-20198",
        10.0,
        "critical",
        True,
    )
    assert top["device"] == "iosxe1" and top["source"] == "cve5"
    assert top["cvss_vector"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
    assert [r["cvss_score"] for r in rows] == sorted((r["cvss_score"] for r in rows), reverse=True)
    np02 = next(r for r in rows if r["device"] == "np02")
    assert np02["source"] == "nvd" and np02["feature"] == "other"
    # tests/unit/vuln/test_vuln_exposure.py works these out
    assert {(r["device"], r["device_exposure"]) for r in rows} == {
        ("iosxe1", 10.0),
        ("iosxe164-d1", 7.5),
        ("nxos92-nxos1", 4.05),
        ("np02", 3.9),
    }

    exploited = await run_query(REGISTRY, "meshq_vuln_scan", {"exploited_only": True}, ctx)
    assert {r["cve"] for r in exploited.rows} == {"CVE-2023-20198"}
    # a device's exposure does not depend on which of its rows a filter keeps
    assert {(r["device"], r["device_exposure"]) for r in exploited.rows} == {
        ("iosxe1", 10.0),
        ("iosxe164-d1", 7.5),
    }
    high = await run_query(REGISTRY, "meshq_vuln_scan", {"min_severity": "critical"}, ctx)
    assert {r["cve"] for r in high.rows} == {"CVE-2023-20198", "CVE-2018-0171"}
    affected = await run_query(REGISTRY, "meshq_vuln_scan", {"status": "affected"}, ctx)
    assert [(r["device"], r["cve"]) for r in affected.rows] == [("iosxe1", "CVE-2023-20198")]
    page = await run_query(REGISTRY, "meshq_vuln_scan", {}, ctx, limit=2, offset=1)
    assert page.row_count == 6 and page.rows == rows[1:3]


async def test_by_device(graph: Any, tmp_path: Path) -> None:
    store, engine = graph
    ctx = QueryContext(store, engine, vulns=await _loaded(SqliteAdvisoryStore(tmp_path / "a.db")))
    rows = (await run_query(REGISTRY, "meshq_vuln_by_device", {"device": "IOSXE1"}, ctx)).rows
    assert [(r["cve"], r["status"]) for r in rows] == [
        ("CVE-2023-20198", "affected"),
        ("CVE-2018-0171", "affected if configured"),
    ]
    smart_install = rows[1]
    assert smart_install["feature"] == "smart_install"
    assert "Smart Install" in smart_install["reason"]
    clean = await run_query(REGISTRY, "meshq_vuln_by_device", {"device": "ios152-c7200"}, ctx)
    assert clean.rows == []
    with pytest.raises(QueryError) as caught:
        await run_query(REGISTRY, "meshq_vuln_by_device", {"device": "no-such-device"}, ctx)
    assert caught.value.status == 404


async def test_without_a_store_the_queries_say_so(graph: Any) -> None:
    store, engine = graph
    with pytest.raises(QueryError) as caught:
        await run_query(REGISTRY, "meshq_vuln_scan", {}, QueryContext(store, engine))
    assert caught.value.status == 503 and "meshq vuln load" in caught.value.detail


def test_cli_load_into_sqlite_then_again(tmp_path: Path) -> None:
    env = {"MESHQ_DATA_DIR": str(tmp_path), "MESHQ_POSTGRES_URL": ""}
    runner = CliRunner()
    first = runner.invoke(cli, ["vuln", "load", str(ADVISORIES)], env=env)
    assert first.exit_code == 0, first.output
    database = tmp_path / "vuln" / "advisories.sqlite3"
    assert first.output.strip() == (
        f"5 advisories from 5 file(s) into {database}: 5 new, 0 updated, 0 unchanged; "
        "0 about other products left out"
    )
    again = runner.invoke(cli, ["vuln", "load", str(ADVISORIES / "nvd")], env=env)
    assert "0 new, 0 updated, 1 unchanged" in again.output


def test_cli_load_into_postgres(stack: Any, tmp_path: Path) -> None:
    env = {"MESHQ_DATA_DIR": str(tmp_path), "MESHQ_POSTGRES_URL": stack.postgres_url}
    result = CliRunner().invoke(cli, ["vuln", "load", str(ADVISORIES / "cve5")], env=env)
    assert result.exit_code == 0, result.output
    assert "2 advisories from 2 file(s) into PostgreSQL" in result.output


def test_cli_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": "world"}')
    env = {"MESHQ_DATA_DIR": str(tmp_path), "MESHQ_POSTGRES_URL": ""}
    result = CliRunner().invoke(cli, ["vuln", "load", str(bad)], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == (f"meshq: {bad}: not CSAF 2.0, NVD CVE API 2.0 or CVE JSON 5")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_store_that_is_away_is_a_503(graph: Any) -> None:
    store, engine = graph
    away = PostgresAdvisoryStore(f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres")
    with pytest.raises(QueryError) as caught:
        await run_query(REGISTRY, "meshq_vuln_scan", {}, QueryContext(store, engine, vulns=away))
    assert caught.value.status == 503 and caught.value.title == "Advisory store unavailable"


def test_cli_says_when_the_store_is_away(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres"
    env = {"MESHQ_DATA_DIR": str(tmp_path), "MESHQ_POSTGRES_URL": url}
    result = CliRunner().invoke(cli, ["vuln", "load", str(ADVISORIES / "nvd")], env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meshq: advisory store: PostgreSQL: ")
