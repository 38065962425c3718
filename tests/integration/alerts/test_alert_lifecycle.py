"""The alert lifecycle in PostgreSQL: fire, hold, `for:`, acknowledge (who and when), resolve
with hysteresis, absent keys, history as the stream's cursor, and bounded open alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from meshq_alerts import store as store_module
from meshq_alerts.rules import load_rules
from meshq_alerts.store import AlertStore, parse_alert_id

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

RULES = load_rules(
    """
rules:
  - name: peer-down
    query: bgp_peers_down
    key: [device, peer_ip]
    severity: high
    labels: {team: netops}
    summary: "peer {peer_ip} of {device} is down"
  - name: busy
    query: link_utilization
    key: [device, interface]
    condition: "utilization_pct > 80"
    for: 5m
    resolve_after: 2m
  - name: link-lost
    query: topology_edges
    key: [a_device, a_interface, b_device, b_interface]
    when: absent
"""
)
PEER, BUSY, LOST = RULES


async def test_fire_hold_acknowledge_resolve_and_fire_again(alerts: AlertStore) -> None:
    rows = [
        {"device": "r1", "peer_ip": "10.0.0.2", "state": "Idle"},
        {"device": "r2", "peer_ip": "10.0.0.9", "state": "Active"},
    ]
    first = await alerts.evaluate(PEER, rows, T0)
    assert sorted(t.alert["key"]["device"] for t in first.fired) == ["r1", "r2"]
    fired = {t.alert["key"]["device"]: t.alert for t in first.fired}
    r1 = fired["r1"]
    assert r1["alert_id"].startswith("alert-") and r1["state"] == "firing"
    assert r1["summary"] == "peer 10.0.0.2 of r1 is down"
    assert r1["labels"] == {
        "team": "netops",
        "device": "r1",
        "peer_ip": "10.0.0.2",
        "alertname": "peer-down",
        "severity": "high",
    }
    assert r1["devices"] == ["r1"]

    # the same answer again: the same alerts, nothing raised twice
    again = await alerts.evaluate(PEER, rows, T0 + timedelta(minutes=1))
    assert again.fired == [] and again.resolved == [] and again.held == 2

    number = parse_alert_id(r1["alert_id"])
    assert number is not None
    ack = await alerts.acknowledge(number, "alice@example.com", T0 + timedelta(minutes=2))
    assert ack.status == "acknowledged"
    assert ack.alert is not None and ack.alert["acknowledged_by"] == "alice@example.com"
    assert ack.alert["acknowledged_at"] == "2026-12-01T12:02:00Z"
    # acknowledging again answers the same, and keeps the first acknowledgement
    twice = await alerts.acknowledge(number, "bob", T0 + timedelta(minutes=3))
    assert twice.status == "acknowledged" and twice.alert is not None
    assert twice.alert["acknowledged_by"] == "alice@example.com"
    assert (await alerts.acknowledge(99_999, "bob", T0)).status == "not_found"

    # r1's peer comes back up: its (acknowledged) alert resolves; r2's holds
    later = await alerts.evaluate(PEER, rows[1:], T0 + timedelta(minutes=4))
    assert [t.alert["alert_id"] for t in later.resolved] == [r1["alert_id"]]
    assert (await alerts.acknowledge(number, "bob", T0)).status == "resolved"
    open_alerts, total = await alerts.find()
    assert total == 1 and open_alerts[0]["key"]["device"] == "r2"
    mine, _ = await alerts.find(states=("firing", "acknowledged", "resolved"), device="r1")
    assert [a["state"] for a in mine] == ["resolved"]

    # down again: a new alert, with a new id
    anew = await alerts.evaluate(PEER, rows, T0 + timedelta(minutes=5))
    assert len(anew.fired) == 1 and anew.fired[0].alert["alert_id"] != r1["alert_id"]

    # the history, in order, is what the stream reads
    changes = await alerts.changes(0, limit=100)
    assert [c["change"] for c in changes] == [
        "firing",
        "firing",
        "acknowledged",
        "resolved",
        "firing",
    ]
    assert changes[2]["actor"] == "alice@example.com"
    assert await alerts.changes(int(changes[-1]["cursor"])) == []
    assert await alerts.latest_cursor() == int(changes[-1]["cursor"])


async def test_for_and_resolve_after_hold_back_flaps(alerts: AlertStore) -> None:
    hot = [{"device": "sw1", "interface": "Et1", "utilization_pct": 95.0}]
    cool = [{"device": "sw1", "interface": "Et1", "utilization_pct": 40.0}]
    at = T0
    assert (await alerts.evaluate(BUSY, hot, at)).pending == 1
    assert (await alerts.evaluate(BUSY, hot, at + timedelta(minutes=4))).fired == []
    # one cool reading restarts the wait
    await alerts.evaluate(BUSY, cool, at + timedelta(minutes=4, seconds=30))
    assert (await alerts.evaluate(BUSY, hot, at + timedelta(minutes=6))).fired == []
    fired = await alerts.evaluate(BUSY, hot, at + timedelta(minutes=11))
    assert len(fired.fired) == 1
    # a short dip does not resolve it (resolve_after 2m) and does not open another alert
    dip = await alerts.evaluate(BUSY, cool, at + timedelta(minutes=12))
    assert dip.resolved == []
    back = await alerts.evaluate(BUSY, hot, at + timedelta(minutes=13))
    assert back.fired == [] and back.held == 1
    await alerts.evaluate(BUSY, cool, at + timedelta(minutes=14))
    assert (await alerts.evaluate(BUSY, cool, at + timedelta(minutes=15))).resolved == []
    gone = await alerts.evaluate(BUSY, cool, at + timedelta(minutes=16))
    assert len(gone.resolved) == 1


async def test_absent_rule_fires_for_a_lost_key_and_resolves_when_it_returns(
    alerts: AlertStore,
) -> None:
    link_a = {"a_device": "d1", "a_interface": "Et1", "b_device": "a1", "b_interface": "Gi0/1"}
    link_b = {"a_device": "d1", "a_interface": "Et2", "b_device": "a2", "b_interface": "Gi0/1"}
    first = await alerts.evaluate(LOST, [link_a, link_b], T0)
    assert first.fired == []  # nothing known before: nothing lost
    lost = await alerts.evaluate(LOST, [link_a], T0 + timedelta(minutes=1))
    assert [t.alert["key"] for t in lost.fired] == [link_b]
    assert lost.fired[0].alert["devices"] == ["d1", "a2"]
    # a cut answer says nothing about what is missing
    cut = await alerts.evaluate(LOST, [], T0 + timedelta(minutes=2), complete=False)
    assert cut.skipped and cut.fired == []
    back = await alerts.evaluate(LOST, [link_a, link_b], T0 + timedelta(minutes=3))
    assert len(back.resolved) == 1 and back.fired == []


async def test_a_cut_answer_resolves_nothing(alerts: AlertStore) -> None:
    rows = [{"device": "r1", "peer_ip": "10.0.0.2"}]
    await alerts.evaluate(PEER, rows, T0)
    cut = await alerts.evaluate(PEER, [], T0 + timedelta(minutes=1), complete=False)
    assert cut.resolved == [] and (await alerts.find())[1] == 1


async def test_open_alerts_per_rule_are_bounded(
    alerts: AlertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_OPEN_PER_RULE", 3)
    rows = [{"device": f"r{i}", "peer_ip": "10.0.0.1"} for i in range(5)]
    result = await alerts.evaluate(PEER, rows, T0)
    assert len(result.fired) == 3 and result.over_limit == 2


async def test_removed_rules_resolve_their_alerts(alerts: AlertStore) -> None:
    await alerts.evaluate(PEER, [{"device": "r1", "peer_ip": "10.0.0.2"}], T0)
    assert await alerts.forget_rules(["busy"], T0 + timedelta(minutes=1)) == 1
    assert (await alerts.find())[1] == 0


def test_alert_ids() -> None:
    assert parse_alert_id("alert-42") == 42
    assert parse_alert_id("42") == 42
    for bad in ("alert-", "alert-4x", "-1", "alert-١٢", "9" * 30, "' OR 1=1"):
        assert parse_alert_id(bad) is None
