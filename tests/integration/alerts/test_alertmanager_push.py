"""Our alerts in Debian's real Alertmanager: shown with our labels and annotations while they
fire (acknowledged ones too), and resolved there when they resolve here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from meshq_alerts.alertmanager import AlertmanagerPush
from meshq_alerts.rules import load_rules
from meshq_alerts.store import AlertStore, parse_alert_id
from meshq_runtime.embedded import free_port
from support import alertmanager_lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        alertmanager_lab.binary() is None,
        reason="Debian's prometheus-alertmanager is not installed (.ci/run installs it)",
    ),
]

(PEER,) = load_rules(
    """
- name: peer-down
  query: bgp_peers_down
  key: [device, peer_ip]
  severity: critical
  labels: {team: netops}
  summary: "peer {peer_ip} of {device} is down"
"""
)


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with alertmanager_lab.serve(tmp_path_factory.mktemp("alertmanager"), free_port()) as url:
        yield url


async def _shown(client: httpx.AsyncClient, url: str) -> list[dict]:
    response = await client.get(f"{url}/api/v2/alerts", params={"filter": 'alertname="peer-down"'})
    response.raise_for_status()
    return response.json()


async def test_alerts_reach_alertmanager_and_resolve_there(
    alertmanager: str, alerts: AlertStore, tmp_path: Path
) -> None:
    # a minute ago: the resolution below is then in the past for Alertmanager too
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    rows = [{"device": "r1", "peer_ip": "10.0.0.2"}, {"device": "r2", "peer_ip": "10.0.0.9"}]
    fired = await alerts.evaluate(PEER, rows, now)
    async with httpx.AsyncClient(timeout=10) as client:
        push = AlertmanagerPush([alertmanager], client, generator_url="http://meshq.example:8000")
        first = fired.fired[0].alert
        number = parse_alert_id(first["alert_id"])
        assert number is not None
        await alerts.acknowledge(number, "alice", now + timedelta(seconds=1))
        open_alerts, _ = await alerts.find()
        assert await push.push(open_alerts) == 1

        shown = await _shown(client, alertmanager)
        assert len(shown) == 2
        by_device = {a["labels"]["device"]: a for a in shown}
        r = by_device[first["key"]["device"]]
        assert r["labels"] == {
            "alertname": "peer-down",
            "severity": "critical",
            "team": "netops",
            "device": first["key"]["device"],
            "peer_ip": first["key"]["peer_ip"],
        }
        assert r["annotations"]["alert_id"] == first["alert_id"]
        assert r["annotations"]["acknowledged_by"] == "alice"
        assert r["annotations"]["summary"].startswith("peer ")
        assert r["status"]["state"] == "active"
        assert r["generatorURL"] == f"http://meshq.example:8000/alerts/{first['alert_id']}"

        # r1's peer is back: resolved here, and once pushed, no longer active there
        later = await alerts.evaluate(PEER, rows[1:], now + timedelta(seconds=2))
        assert len(later.resolved) == 1
        open_alerts, _ = await alerts.find()
        resolved = await alerts.recently_resolved(now - timedelta(minutes=15))
        assert await push.push([*open_alerts, *resolved]) == 1
        shown = await _shown(client, alertmanager)
        assert [a["labels"]["device"] for a in shown if a["status"]["state"] == "active"] == ["r2"]


async def test_an_unreachable_alertmanager_is_counted_not_fatal(alerts: AlertStore) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        push = AlertmanagerPush([f"http://127.0.0.1:{free_port()}"], client)
        row = {"device": "r9", "peer_ip": "1.1.1.1"}
        fired = await alerts.evaluate(PEER, [row], datetime.now(UTC))
        assert await push.push([fired.fired[0].alert]) == 0
        assert push.failures == 1
