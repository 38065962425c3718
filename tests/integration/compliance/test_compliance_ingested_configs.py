"""Configuration text through the product's own path: real running-config captures read by the
directory parser, submitted to a running graph engine (its intake, the ingest handler, the
apply), then ``meshq_compliance_run`` through the gateway, whose results show the lines of
those captures by number. A later snapshot without configurations leaves the kept ones in
place, and the results say when one is older than the device's last collection."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from network_discovery.parsers import parse_directory
from support.submit import submit_sync

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "ios" / "example-network"
FIRST = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _query(gw: Any, name: str, params: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{gw.url}/queries/{name}",
        headers={"X-API-Key": gw.key},
        json=params,
        params={"limit": "10000"},
        timeout=60,
    )


def _run(gw: Any) -> str:
    """A run on demand, followed until its results can be read; its id."""
    answer = _query(gw, "meshq_compliance_run", {"wait": 25})
    assert answer.status_code == 200, answer.text
    (run,) = answer.json()["rows"]
    deadline = time.monotonic() + 300
    while run["status"] == "running":
        assert time.monotonic() < deadline
        probe = _query(gw, "meshq_compliance_results", {"run_id": run["run_id"], "rule": "x"})
        if probe.status_code == 200:
            break
        assert probe.status_code == 409, probe.text
        time.sleep(1)
    return str(run["run_id"])


def _result(gw: Any, run_id: str, device: str, rule: str) -> dict[str, Any]:
    answer = _query(
        gw, "meshq_compliance_results", {"run_id": run_id, "device": device, "rule": rule}
    )
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["rows"]
    return dict(row)


async def _after_snapshot_run(url: str, snapshot_id: str) -> str | None:
    conn = await asyncpg.connect(url)
    try:
        found: str | None = await conn.fetchval(
            "SELECT run_id FROM compliance_runs WHERE trigger = $1 ORDER BY started_at LIMIT 1",
            f"snapshot:{snapshot_id}",
        )
        return found
    finally:
        await conn.close()


def _line(device: str, number: int) -> str:
    text = (EXAMPLE / device / "show running-config.txt").read_text()
    return text.splitlines()[number - 1]


def test_configs_from_real_captures_reach_the_rules(
    compliance_gateway: Any, stack: Any, tmp_path: Path
) -> None:
    gw = compliance_gateway
    snapshot, report = parse_directory(EXAMPLE, snapshot_id="feed-example-1", collected_at=FIRST)
    assert not report.errors and len(snapshot.configs) == 13
    status = submit_sync(gw.graph_url, gw.env, snapshot)
    assert status["status"] == "applied", status
    # the run that follows the snapshot already reads its configurations
    deadline = time.monotonic() + 120
    while (after := asyncio.run(_after_snapshot_run(stack.postgres_url, "feed-example-1"))) is None:
        assert time.monotonic() < deadline, "no compliance run after the snapshot"
        time.sleep(0.5)
    assert _result(gw, after, "as2dept1", "ios-ssh-v2-only")["status"] == "pass"
    run_id = _run(gw)

    ssh = _result(gw, run_id, "as2dept1", "ios-ssh-v2-only")
    assert ssh["status"] == "pass" and ssh["source"] == "config"
    assert ssh["evidence"] == [{"line": 52, "text": "ip ssh version 2"}]
    assert _line("as2dept1", 52) == "ip ssh version 2"
    assert "before the device's last collection" not in ssh["message"]
    vty = _result(gw, run_id, "as1border1", "ios-vty-no-telnet")
    assert vty["status"] == "pass"
    for item in vty["evidence"]:
        assert _line("as1border1", item["line"]).strip() == item["text"]
    ntp = _result(gw, run_id, "as2dist1", "ios-ntp-server")
    assert ntp["status"] == "fail" and ntp["remediation"]
    assert ntp["evidence"][0]["why"].startswith("no line matching")

    # a later snapshot of as2dept1 alone, without its configuration
    later = tmp_path / "net"
    (later / "as2dept1").mkdir(parents=True)
    for name in ("meta.yaml", "show_version.txt", "show_interfaces.txt"):
        shutil.copy(EXAMPLE / "as2dept1" / name, later / "as2dept1" / name)
    again, _ = parse_directory(later, snapshot_id="feed-example-2", collected_at=LATER)
    assert again.configs == () and [d.id for d in again.devices] == ["as2dept1"]
    assert submit_sync(gw.graph_url, gw.env, again)["status"] == "applied"
    second = _run(gw)
    kept = _result(gw, second, "as2dept1", "ios-ssh-v2-only")
    assert kept["status"] == "pass" and kept["evidence"] == ssh["evidence"]
    assert kept["message"].endswith(
        "the configuration kept was collected at 2026-03-01T08:00:00+00:00, before the "
        "device's last collection at 2026-03-02T09:30:00+00:00"
    )
    # a device the later snapshot did not cover keeps its text and its answers as they were
    untouched = _result(gw, second, "as2dist1", "ios-ntp-server")
    assert untouched["status"] == "fail" and untouched["message"] == ntp["message"]
