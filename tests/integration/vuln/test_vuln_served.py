"""The Vulnerabilities queries as a client sees them: graph-engine with the demo network loads
the real advisories of tests/fixtures/vuln from ``MESHQ_VULN_FEED_DIR`` at start (the
scheduled load), and the gateway lists and answers the two queries under their gate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.demo_stack import DemoStack, demo_stack
from support.pgdb import fresh_database_sync

pytestmark = pytest.mark.integration

KEY = "vuln-served-test-key-0123456789abcd"
FEED = Path(__file__).resolve().parents[2] / "fixtures" / "vuln"


@pytest.fixture(scope="module")
def served(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    tmp = tmp_path_factory.mktemp("vuln-served")
    with (
        fresh_database_sync(stack.postgres_url, "meshq_vs") as url,
        demo_stack(
            stack,
            tmp,
            MESHOPTIXIQ_DEMO_MODE="true",
            API_KEY=KEY,
            MESHQ_POSTGRES_URL=url,
            MESHQ_VULN_FEED_DIR=str(FEED),
        ) as running,
    ):
        yield running


def _call(running: DemoStack, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method, running.gateway.url + path, json=body, headers={"X-API-Key": KEY}, timeout=60
    )


def test_listed_with_the_gate(served: DemoStack) -> None:
    listed = {q["name"]: q for q in _call(served, "GET", "/queries").json()}
    for name in ("meshq_vuln_scan", "meshq_vuln_by_device"):
        assert listed[name]["category"] == "Vulnerabilities"
        assert listed[name]["feature"] == "vulnerability_correlation"


def test_the_demo_network_against_the_feed(served: DemoStack) -> None:
    # the demo's IOS XE 17.6.5 devices are in CVE-2023-20198's list; its 17.9.4a ones, Junos
    # 21.4R3-S5 / 22.4R2-S2 / 22.4R3 and EOS 4.30.4M are fixed or not named
    deadline = time.monotonic() + 60
    while True:
        answer = _call(served, "POST", "/queries/meshq_vuln_scan", {})
        assert answer.status_code == 200, answer.text
        rows = answer.json()["rows"]
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # the scheduled load runs as graph-engine starts
    assert rows, "the feed directory was never loaded"
    assert {(r["os_version"], r["cve"]) for r in rows} == {("17.6.5", "CVE-2023-20198")}
    assert {r["exploited"] for r in rows} == {True}
    assert {r["cvss_score"] for r in rows} == {10.0}
    device = rows[0]["device"]
    one = _call(served, "GET", f"/queries/meshq_vuln_by_device?device={device}")
    assert one.status_code == 200, one.text
    assert [r["cve"] for r in one.json()["rows"]] == ["CVE-2023-20198"]
    bad = _call(served, "POST", "/queries/meshq_vuln_scan", {"min_severity": "severe"})
    assert bad.status_code == 422 and "min_severity" in bad.text
