"""Compliance runs end to end on a generated campus in the embedded graph store: topology rules
(dual homing, MTU and speed on both ends, undescribed uplinks, idle ports up), config rules
on a kept configuration, runs that reuse unchanged devices, the diff between runs, exports,
and the history in files and in PostgreSQL."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.compliance import (
    ComplianceService,
    ConfigStore,
    FileHistory,
    PostgresHistory,
)
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.model import Snapshot
from pypdf import PdfReader
from support.pgdb import fresh_database

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
D_IOS = REAL / "routing/mix_vendor_bgp_vrf/D-IOS/show_running-config.txt"
#: Interface names are kept in canonical form.
GI = "GigabitEthernet"
D_IOSXE = REAL / "routing/mix_vendor_bgp_vrf/D-IOSXE/show_running-config.txt"

#: (a device, its port, b device, its port, a's MTU, b's MTU, a's speed, b's speed, a described)
LINKS = [
    ("d1", "Te1/1/1", "c1", "Et1", 9214, 9214, 10000, 10000, True),
    ("d1", "Te1/1/2", "c2", "Et1", 9214, 9214, 10000, 10000, True),
    ("d2", "Te1/1/1", "c1", "Et2", 9214, 9214, 10000, 10000, True),  # d2: one core only
    ("a1", "Gi1/0/49", "d1", "Gi1/0/1", 1500, 1500, 1000, 1000, True),
    ("a1", "Gi1/0/50", "d2", "Gi1/0/1", 1500, 9214, 1000, 1000, True),  # MTU differs
    ("a2", "Gi1/0/49", "d1", "Gi1/0/2", 1500, 1500, 1000, 10000, True),  # speed differs
    ("a3", "Gi1/0/49", "d1", "Gi1/0/3", 1500, 1500, 1000, 1000, False),  # undescribed
    ("a3", "Gi1/0/50", "d1", "Gi1/0/4", 1500, 1500, 1000, 1000, True),  # same upstream
]
ROLES = {"c1": "core", "c2": "core", "d1": "distribution", "d2": "distribution"}
ROLES |= {"a1": "access", "a2": "access", "a3": "access"}
PACK = """
pack: site-policy
title: Site policy
platforms: [cisco_ios]
rules:
  - id: site-ntp-two
    title: Two NTP servers
    source: facts
    condition: ntp_servers >= 2
  - id: site-domain
    title: A domain name is set
    source: config
    config:
      present: '^ip domain[ -]name \\S+'
    remediation: ip domain name example.net
"""


def _network(snapshot_id: str = "campus-1") -> Snapshot:
    interfaces: dict[tuple[str, str], dict[str, Any]] = {}
    links = []
    for a, ap, b, bp, am, bm, aspeed, bspeed, described in LINKS:
        interfaces[(a, ap)] = {
            "device": a,
            "name": ap,
            "mtu": am,
            "speed_mbps": aspeed,
            "description": f"to {b}" if described else None,
            "admin_status": "up",
            "oper_status": "up",
        }
        interfaces[(b, bp)] = {
            "device": b,
            "name": bp,
            "mtu": bm,
            "speed_mbps": bspeed,
            "description": f"to {a}",
            "admin_status": "up",
            "oper_status": "up",
        }
        links.append(
            {
                "a": {"device": a, "interface": ap},
                "b": {"device": b, "interface": bp},
                "evidence": "lldp_both",
            }
        )
    for name, status in (("Gi1/0/10", "up"), ("Gi1/0/11", "down"), ("Vlan1", "up")):
        interfaces[("a1", name)] = {
            "device": "a1",
            "name": name,
            "admin_status": status,
            "oper_status": "down",
        }
    devices = [
        {
            "hostname": name,
            "platform": "cisco_ios",
            "role": role,
            "os_version": "17.9.4",
            **(
                {"settings_source": "configuration", "ntp_servers": ["192.0.2.1"]}
                if name == "a1"
                else {}
            ),
        }
        for name, role in sorted(ROLES.items())
    ]
    return Snapshot.model_validate(
        {
            "snapshot_id": snapshot_id,
            "source": "test",
            "collected_at": "2026-03-01T08:00:00Z",
            "scope": [
                {"device": name, "facts": ["device", "interfaces", "links"]} for name in ROLES
            ],
            "devices": devices,
            "interfaces": list(interfaces.values()),
            "links": links,
        }
    )


class Lab:
    def __init__(self, ctx: QueryContext, configs: ConfigStore) -> None:
        self.ctx = ctx
        self.configs = configs

    async def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return (await run_query(REGISTRY, name, params, self.ctx)).rows

    async def result(self, device: str, rule: str, run_id: str = "") -> dict[str, Any]:
        rows = await self.run("meshq_compliance_results", device=device, rule=rule, run_id=run_id)
        assert len(rows) == 1, rows
        return rows[0]


@pytest.fixture
async def graph(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedStore, GraphEngine]]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(_network())
    yield store, engine
    await store.close()


def _lab(graph: tuple[EmbeddedStore, GraphEngine], history: Any, tmp_path: Path) -> Lab:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "site.yaml").write_text(PACK)
    configs = ConfigStore(tmp_path / "configs")
    service = ComplianceService(graph[0], history, configs, packs_dir=packs)
    return Lab(QueryContext(graph[0], graph[1], compliance=service), configs)


@pytest.fixture
def lab(graph: tuple[EmbeddedStore, GraphEngine], tmp_path: Path) -> Lab:
    return _lab(graph, FileHistory(tmp_path / "runs"), tmp_path)


async def test_topology_rules_on_the_generated_campus(lab: Lab) -> None:
    (run,) = await lab.run("meshq_compliance_run")
    assert run["devices"] == 7 and run["evaluated"] == 7 and run["reused"] == 0
    assert (await lab.result("a1", "topo-access-dual-homed"))["status"] == "pass"
    single = await lab.result("a2", "topo-access-dual-homed")
    assert single["status"] == "fail"
    assert single["evidence"] == [
        {"fact": "upstream_neighbors", "value": 1, "details": [f"{GI}1/0/49 -> d1 {GI}1/0/2"]}
    ]
    # two links, one upstream device: not dual-homed
    assert (await lab.result("a3", "topo-access-dual-homed"))["status"] == "fail"
    assert (await lab.result("d1", "topo-distribution-dual-homed"))["status"] == "pass"
    assert (await lab.result("d2", "topo-distribution-dual-homed"))["status"] == "fail"
    # a rule for another role
    assert (await lab.result("c1", "topo-access-dual-homed"))["status"] == "not_applicable"
    for device in ("a1", "d2"):
        mtu = await lab.result(device, "topo-mtu-consistent")
        assert mtu["status"] == "fail" and mtu["remediation"]
    assert (await lab.result("a1", "topo-mtu-consistent"))["evidence"][0]["details"] == [
        f"{GI}1/0/50 -> d2 {GI}1/0/1: MTU 1500 vs 9214"
    ]
    assert (await lab.result("d1", "topo-mtu-consistent"))["status"] == "pass"
    for device in ("a2", "d1"):
        assert (await lab.result(device, "topo-speed-consistent"))["status"] == "fail"
    described = await lab.result("a3", "topo-uplink-description")
    assert described["status"] == "fail"
    assert described["evidence"][0]["details"] == [f"{GI}1/0/49 -> d1 {GI}1/0/3"]
    idle = await lab.result("a1", "topo-unused-ports-down")
    assert idle["status"] == "fail"
    assert idle["evidence"][0]["details"] == [f"{GI}1/0/10"]  # not the shut one, not Vlan1
    assert (await lab.result("a2", "topo-unused-ports-down"))["status"] == "pass"


async def test_config_and_fact_rules_and_what_is_unknown(lab: Lab) -> None:
    lab.configs.put("a1", D_IOS.read_text())
    await lab.run("meshq_compliance_run")
    ssh = await lab.result("a1", "ios-ssh-v2-only")
    assert ssh["status"] == "pass"
    assert ssh["evidence"][0]["text"] == "ip ssh version 2"
    # no configuration kept for a2: its config rules are unknown, never guessed
    assert (await lab.result("a2", "ios-ssh-v2-only"))["status"] == "unknown"
    # a customer pack beside the built-in ones; facts read from the device record
    ntp = await lab.result("a1", "site-ntp-two")
    assert ntp["status"] == "fail"
    assert ntp["evidence"] == [{"fact": "ntp_servers", "value": 1}]
    assert (await lab.result("a2", "site-ntp-two"))["status"] == "unknown"
    domain = await lab.result("a1", "site-domain")
    assert domain["status"] == "pass"


async def test_a_run_reuses_unchanged_devices_and_the_diff_names_the_change(lab: Lab) -> None:
    lab.configs.put("a1", D_IOS.read_text())
    (first,) = await lab.run("meshq_compliance_run")
    (again,) = await lab.run("meshq_compliance_run")
    assert again["evaluated"] == 0 and again["reused"] == 7
    assert {k: again[k] for k in ("passed", "failed", "unknown")} == {
        k: first[k] for k in ("passed", "failed", "unknown")
    }
    lab.configs.put("a1", D_IOSXE.read_text())  # an HTTP server on, SSH not pinned
    (third,) = await lab.run("meshq_compliance_run")
    assert third["evaluated"] == 1 and third["reused"] == 6
    changed = await lab.run(
        "meshq_compliance_results", run_id=third["run_id"], compare_to=first["run_id"]
    )
    assert changed and {r["device"] for r in changed} == {"a1"}
    http = [r for r in changed if r["rule"] == "ios-no-http-server"]
    assert http and http[0]["previous_status"] == "pass" and http[0]["status"] == "fail"
    failing = await lab.run("meshq_compliance_results", status="fail", device="a1")
    assert {r["run_id"] for r in failing} == {third["run_id"]}
    assert "ios-no-http-server" in {r["rule"] for r in failing}


async def test_exports(lab: Lab) -> None:
    lab.configs.put("a1", D_IOSXE.read_text())
    (run,) = await lab.run("meshq_compliance_run")
    (as_json,) = await lab.run("meshq_compliance_export", format="json")
    document = json.loads(as_json["content"])
    assert document["run"]["run_id"] == run["run_id"]
    assert len(document["results"]) == sum(
        run[k] for k in ("passed", "failed", "not_applicable", "unknown")
    )
    (as_csv,) = await lab.run("meshq_compliance_export", format="csv", status="fail")
    table = list(csv.DictReader(io.StringIO(as_csv["content"])))
    assert table and {r["status"] for r in table} == {"fail"}
    assert as_csv["media_type"] == "text/csv"
    (as_html,) = await lab.run("meshq_compliance_export", format="html")
    page = as_html["content"]
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script" not in page and "src=" not in page and "href=" not in page
    assert "ios-no-http-server" in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
async def test_pdf_export_is_the_report_printed(lab: Lab) -> None:
    lab.configs.put("a1", D_IOSXE.read_text())
    (run,) = await lab.run("meshq_compliance_run")
    (as_pdf,) = await lab.run("meshq_compliance_export", format="pdf")
    assert (as_pdf["media_type"], as_pdf["encoding"]) == ("application/pdf", "base64")
    assert as_pdf["filename"] == f"compliance-{run['run_id']}.pdf"
    data = base64.b64decode(as_pdf["content"], validate=True)
    document = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in document.pages)
    assert "Compliance report" in text
    failures = await lab.run("meshq_compliance_results", status="fail")
    assert failures and f"Failures ({len(failures)})" in text
    for rule in {r["rule"] for r in failures}:
        assert rule in text.replace("\n", ""), rule
    (as_html,) = await lab.run("meshq_compliance_export", format="html")
    assert as_html["encoding"] == "utf-8"


async def test_errors(lab: Lab, graph: tuple[EmbeddedStore, GraphEngine]) -> None:
    assert await lab.run("meshq_compliance_results") == []  # no run yet
    with pytest.raises(QueryError) as missing:
        await lab.run("meshq_compliance_results", run_id="r-20260101T000000Z-abcdef")
    assert missing.value.status == 404
    with pytest.raises(QueryError) as invalid:
        await lab.run("meshq_compliance_results", run_id="../../etc/passwd")
    assert invalid.value.status == 422
    bare = QueryContext(graph[0], graph[1])
    with pytest.raises(QueryError) as absent:
        await run_query(REGISTRY, "meshq_compliance_run", {}, bare)
    assert absent.value.status == 503


async def test_a_broken_customer_pack_is_a_422_naming_the_file(
    graph: tuple[EmbeddedStore, GraphEngine], tmp_path: Path
) -> None:
    lab = _lab(graph, FileHistory(tmp_path / "runs"), tmp_path)
    (tmp_path / "packs" / "bad.yaml").write_text(
        "pack: bad\ntitle: Bad\nrules:\n  - {id: x, title: X, source: facts, "
        "condition: 'ntp_servers >= 1 or __import__ > 0'}\n"
    )
    with pytest.raises(QueryError) as raised:
        await lab.run("meshq_compliance_run")
    assert raised.value.status == 422 and "bad.yaml" in raised.value.detail


async def test_history_in_postgresql(
    stack: Any, graph: tuple[EmbeddedStore, GraphEngine], tmp_path: Path
) -> None:
    async with fresh_database(stack.postgres_url, "meshq_cp") as url:
        pool = await create_pool(PostgresSettings(postgres_url=url))
        try:
            lab = _lab(graph, PostgresHistory(pool, keep=2), tmp_path)
            lab.configs.put("a1", D_IOS.read_text())
            (first,) = await lab.run("meshq_compliance_run")
            (second,) = await lab.run("meshq_compliance_run")
            assert second["reused"] == 7
            lab.configs.put("a1", D_IOSXE.read_text())
            (third,) = await lab.run("meshq_compliance_run")
            assert third["evaluated"] == 1
            http = await lab.result("a1", "ios-no-http-server")
            assert http["status"] == "fail" and http["run_id"] == third["run_id"]
            assert http["evidence"][0]["text"] == "ip http server"
            changed = await lab.run(
                "meshq_compliance_results", compare_to=second["run_id"], rule="ios-no-http-server"
            )
            assert [(r["device"], r["previous_status"]) for r in changed] == [("a1", "pass")]
            # two runs kept: the first is gone
            with pytest.raises(QueryError):
                await lab.run("meshq_compliance_results", run_id=first["run_id"])
            count = await pool.fetchval("SELECT count(*) FROM compliance_runs")
            assert count == 2
        finally:
            await pool.close()
