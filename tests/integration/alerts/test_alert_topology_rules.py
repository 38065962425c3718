"""The built-in topology and blast-radius rules, fired by re-collected snapshots of the demo
network applied to a real graph (LadybugDB) and asked through graph-engine's query routes:
a new duplicate address, a new unmanaged neighbour, a device its neighbours no longer see,
access switches that lose an uplink (link lost, redundancy lost, a distribution switch whose
failure would now cut off their endpoints), and everything resolving when the network comes
back. The blast figures are asked again only for the devices near the change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from meshq_alerts.evaluator import Evaluator, GraphQueries, Round
from meshq_alerts.rules import load_rules
from meshq_alerts.settings import DEFAULT_RULES
from meshq_alerts.sources import BlastFigures
from meshq_alerts.store import AlertStore
from network_discovery.demo import load_snapshot
from network_discovery.model.snapshot import Snapshot

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEMO = load_snapshot()
#: The built-in rules that read the graph (the metric ones need a metrics store, the probe one
#: the prober), and a blast rule with a threshold the demo network can cross.
RULES = [
    r
    for r in load_rules(DEFAULT_RULES.read_text())
    if r.query not in ("interface_window", "link_utilization", "device_blast")
    and not r.query.startswith("meshq_synthetic_")
] + load_rules(
    """
rules:
  - name: isolates-over-30
    query: device_blast
    params: {depth: 3}
    key: [device]
    condition: "isolated_endpoints > 30"
    severity: high
    summary: "{device} would cut off {isolated_endpoints} endpoints"
"""
)


def recollected(devices: set[str], kinds: set[str], tag: str, **facts: Any) -> Snapshot:
    """The demo's facts of ``kinds`` for ``devices`` collected again, replaced by ``facts``."""
    scope = tuple(
        s.model_copy(update={"facts": tuple(f for f in s.facts if f.value in kinds)})
        for s in DEMO.scope
        if s.device in devices
    )
    empty = {n: () for n, v in DEMO if isinstance(v, tuple) and n != "scope"}
    return DEMO.model_copy(
        update={
            **empty,
            "snapshot_id": f"{tag}-{uuid.uuid4().hex[:8]}",
            "scope": scope,
            **facts,
        }
    )


def _names(value: str | None) -> str:
    return (value or "").split(".")[0]


def without_links(pairs: set[frozenset[str]]) -> Snapshot:
    """LLDP/CDP of both ends of each pair collected again, less the pair's observations."""
    ends = {d for pair in pairs for d in pair}
    neighbors = tuple(
        n
        for n in DEMO.neighbors
        if n.device in ends and frozenset({n.device, _names(n.remote_system_name)}) not in pairs
    )
    return recollected(ends, {"lldp", "cdp"}, "lose-uplinks", neighbors=neighbors)


class Rounds:
    def __init__(self, lab: Any, alerts: AlertStore) -> None:
        source = GraphQueries(lab.client)
        self.blast = BlastFigures(alerts, source)
        self.now = T0
        self.evaluator = Evaluator(RULES, alerts, source, blast=self.blast, clock=lambda: self.now)
        self.lab = lab

    async def after(self, snapshot: Snapshot | None = None) -> Round:
        if snapshot is not None:
            await self.lab.apply(snapshot)
            self.blast.note_change([s.device for s in snapshot.scope])
        self.now += timedelta(minutes=1)
        result = await self.evaluator.run_once()
        assert result.failed == {}, result.failed
        # the figures a round kept up to date are those every device asked again gives
        kept = await self.evaluator.store.blast_rows(3)
        whole = BlastFigures(self.evaluator.store, self.blast.source)
        assert (await whole.refresh(3, self.now))["kind"] == "full"
        assert await self.evaluator.store.blast_rows(3) == kept
        return result


def _fired(result: Round) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for t in result.fired:
        out.setdefault(t.alert["rule"], []).append(t.alert)
    return out


async def test_recollected_snapshots_fire_the_topology_rules(
    demo_graph: Any, alerts: AlertStore
) -> None:
    rounds = Rounds(demo_graph, alerts)
    first = await rounds.after()
    start = _fired(first)
    # the demo as it is: its own duplicate (10.2.30.2 on both distribution switches) and
    # unmanaged neighbours; no device unseen, no access switch without redundancy, no
    # device whose failure cuts off more than 30 endpoints
    assert [a["key"]["ip"] for a in start["duplicate-ip"]] == ["10.2.30.2"]
    assert "hq-a-ap-01" in {a["key"]["device"] for a in start["unmanaged-neighbour"]}
    for quiet in ("device-unreachable", "access-redundancy-lost", "isolates-over-30"):
        assert quiet not in start
    assert rounds.blast.last[3]["kind"] == "full"
    managed = rounds.blast.last[3]["devices"]
    assert managed == 31 and rounds.blast.last[3]["asked"] == 31

    # a new duplicate address: hq-a-acc-01's management address re-collected as hq-a-acc-02's
    (own,) = [a for a in DEMO.ip_addresses if a.device == "hq-a-acc-01"]
    (other,) = [a for a in DEMO.ip_addresses if a.device == "hq-a-acc-02"]
    clash = own.model_copy(update={"address": other.address})
    dup = _fired(
        await rounds.after(
            recollected({"hq-a-acc-01"}, {"ip_addresses"}, "dup", ip_addresses=(clash,))
        )
    )
    assert [a["key"]["ip"] for a in dup["duplicate-ip"]] == [other.address.split("/")[0]]
    # the blast figures were asked again only near the change
    assert rounds.blast.last[3]["kind"] == "changed"
    assert 0 < rounds.blast.last[3]["asked"] < managed

    # a new unmanaged neighbour: a camera on hq-a-acc-03's access port
    template = next(n for n in DEMO.neighbors if n.device == "hq-a-acc-03")
    camera = template.model_copy(
        update={
            "interface": "GigabitEthernet1/0/40",
            "remote_system_name": "hq-a-cam-99",
            "remote_port": "eth0",
            "remote_port_description": None,
            "remote_chassis_id": "00:1b:2c:3d:4e:5f",
            "remote_management_address": None,
            "remote_description": "IP camera",
            "capabilities": ("station",),
        }
    )
    acc3 = (*(n for n in DEMO.neighbors if n.device == "hq-a-acc-03"), camera)
    new = _fired(
        await rounds.after(recollected({"hq-a-acc-03"}, {"lldp", "cdp"}, "camera", neighbors=acc3))
    )
    assert [a["key"]["device"] for a in new["unmanaged-neighbour"]] == ["hq-a-cam-99"]

    # hq-b-acc-06 goes silent: both distribution switches re-collected without it
    dists = {"hq-dist-01", "hq-dist-02"}
    silent = tuple(
        n
        for n in DEMO.neighbors
        if n.device in dists and _names(n.remote_system_name) != "hq-b-acc-06"
    )
    gone = _fired(
        await rounds.after(recollected(dists, {"lldp", "cdp"}, "silent", neighbors=silent))
    )
    (unreachable,) = gone["device-unreachable"]
    assert unreachable["key"] == {"device": "hq-b-acc-06"}
    assert unreachable["row"]["silent_to"] == ["hq-dist-01", "hq-dist-02"]
    # its labels carry its blast size (blast_labels): its own 22 endpoints
    assert unreachable["labels"]["blast_endpoints"] == "22"
    assert unreachable["labels"]["blast_severity"] in ("low", "medium", "high", "critical")

    # hq-a-acc-01 and hq-a-acc-02 lose their uplinks to hq-dist-02
    cut = {frozenset({"hq-a-acc-01", "hq-dist-02"}), frozenset({"hq-a-acc-02", "hq-dist-02"})}
    cut_round = await rounds.after(without_links(cut))
    lost = _fired(cut_round)
    # (hq-dist-02 re-collected whole sees hq-b-acc-06 again: no longer unreachable)
    assert [
        t.alert["key"] for t in cut_round.resolved if t.alert["rule"] == "device-unreachable"
    ] == [{"device": "hq-b-acc-06"}]
    assert {
        frozenset({a["key"]["a_device"], a["key"]["b_device"]}) for a in lost["link-lost"]
    } == cut
    assert {
        (a["key"]["device"], a["row"]["single_point"]) for a in lost["access-redundancy-lost"]
    } == {
        ("hq-a-acc-01", "hq-dist-01"),
        ("hq-a-acc-02", "hq-dist-01"),
    }
    (isolates,) = lost["isolates-over-30"]
    assert isolates["key"] == {"device": "hq-dist-01"}
    # 22 and 23 endpoints on the two access switches (the demo's own counts)
    assert isolates["row"]["isolated_endpoints"] == 45
    # a lost link's alert carries the blast size of its first device
    for alert in lost["link-lost"]:
        first_device = alert["devices"][0]
        (figures,) = await alerts.blast_rows(3, [first_device])
        assert alert["labels"]["blast_endpoints"] == str(figures["isolated_endpoints"])

    # the network as it was: everything the changes raised resolves
    back = await rounds.after(DEMO.model_copy(update={"snapshot_id": "back-1"}))
    resolved = {t.alert["rule"] for t in back.resolved}
    assert {
        "link-lost",
        "duplicate-ip",
        "access-redundancy-lost",
        "isolates-over-30",
    } <= resolved
    still, _ = await alerts.find(rule="isolates-over-30")
    assert still == []
