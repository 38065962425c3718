"""How configuration text reaches the compliance store: the snapshot's ``configs`` (checked
against its scope, bounded, never trimmed), carried through graph-engine's lean snapshot
reading without becoming facts, captured by the directory parser from real running-config
captures (not from a startup configuration), kept with when it was collected, and a text
older than the device's last collection said so. And the VLAN span over the graph."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from meshq_graph_engine.archive import SnapshotArchive
from meshq_graph_engine.compliance.configs import ConfigStore
from meshq_graph_engine.compliance.evaluate import DeviceInput, evaluate_device
from meshq_graph_engine.compliance.inputs import graph_values
from meshq_graph_engine.compliance.packs import load_packs
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.facts import SnapshotFacts, read_snapshot
from meshq_graph_engine.handlers import IngestHandlers
from meshq_graph_engine.intake import SnapshotIntake
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import CONFIG_MAX_CHARS, Snapshot
from network_discovery.parsers import parse_directory
from pydantic import ValidationError

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
EXAMPLE = REAL / "ios" / "example-network"
JUNOS = REAL / "routing" / "junos_ebgp_loop_prevention"
LAYOUT = REAL / "ios" / "batfish-example-live" / "network"
DEPT = EXAMPLE / "as2dept1" / "show running-config.txt"


def _snapshot(**extra: object) -> dict:
    return {
        "snapshot_id": "s1",
        "source": "test",
        "collected_at": "2026-03-01T08:00:00Z",
        "scope": [{"device": "sw1", "facts": ["device"]}],
        "devices": [{"hostname": "sw1", "platform": "cisco_ios"}],
        **extra,
    }


def test_configs_belong_to_devices_in_scope_once_each_and_keep_their_lines() -> None:
    text = "\n\nhostname sw1\n ip ssh version 2  \n"
    snap = Snapshot.model_validate(_snapshot(configs=[{"device": "SW1", "text": text}]))
    (config,) = snap.configs
    assert config.device == "sw1" and config.text == text  # not trimmed: lines keep numbers
    with pytest.raises(ValidationError, match="configs\\[0\\]: device 'sw9' is not in"):
        Snapshot.model_validate(_snapshot(configs=[{"device": "sw9", "text": "x"}]))
    with pytest.raises(ValidationError, match="configs: 'sw1' appears 2 times"):
        Snapshot.model_validate(
            _snapshot(configs=[{"device": "sw1", "text": "a"}, {"device": "sw1", "text": "b"}])
        )
    with pytest.raises(ValidationError, match="at most"):
        Snapshot.model_validate(
            _snapshot(configs=[{"device": "sw1", "text": "x" * (CONFIG_MAX_CHARS + 1)}])
        )


def test_the_lean_reading_carries_configs_without_making_them_facts() -> None:
    text = DEPT.read_text()
    body = json.dumps(
        _snapshot(configs=[{"device": "sw1", "text": text, "source": "show running-config"}])
    )
    facts = read_snapshot(body)
    assert [(c.device, c.text, c.source) for c in facts.configs] == [
        ("sw1", text, "show running-config")
    ]
    assert set(facts.grouped) == {("sw1", "device")}
    assert "running" not in b"".join(facts.json_chunks()).decode()
    # the same from a parsed snapshot; and an invalid one is refused as the model refuses it
    assert SnapshotFacts.of(Snapshot.model_validate_json(body)).configs == facts.configs
    with pytest.raises(ValidationError, match="not in the snapshot's scope"):
        read_snapshot(json.dumps(_snapshot(configs=[{"device": "sw2", "text": "x"}])))


def test_the_directory_parser_attaches_running_config_captures() -> None:
    snapshot, _ = parse_directory(EXAMPLE, snapshot_id="ex")
    configs = {c.device: c for c in snapshot.configs}
    assert set(configs) == {d.id for d in snapshot.devices} and len(configs) == 13
    dept = configs["as2dept1"]
    assert dept.text == DEPT.read_text() and dept.source.endswith("show running-config.txt")
    assert dept.collected_at is None  # the snapshot's own time
    # a configs/ folder of several devices: each file is its device's configuration
    layout, _ = parse_directory(LAYOUT, snapshot_id="lay")
    by_device = {c.device: c for c in layout.configs}
    assert len(by_device) == 13 and by_device["as1core1"].source.endswith("configs/as1core1.cfg")
    assert by_device["as1core1"].text == (LAYOUT / "configs" / "as1core1.cfg").read_text()
    junos, _ = parse_directory(JUNOS, snapshot_id="jn")
    d1 = {c.device: c for c in junos.configs}["d1"]
    assert d1.text.startswith("set version 17.4R1.16\nset system host-name")


def test_a_startup_config_or_a_filtered_one_is_not_the_running_config(tmp_path: Path) -> None:
    folder = tmp_path / "net" / "as2dept1"
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE / "as2dept1" / "meta.yaml", folder / "meta.yaml")
    shutil.copy(DEPT, folder / "show startup-config.txt")
    snapshot, _ = parse_directory(tmp_path / "net", snapshot_id="st")
    assert snapshot.devices and snapshot.configs == ()
    (folder / "show startup-config.txt").unlink()
    shutil.copy(DEPT, folder / "show run.txt")
    snapshot, _ = parse_directory(tmp_path / "net", snapshot_id="run")
    assert [c.text for c in snapshot.configs] == [DEPT.read_text()]


def test_the_store_keeps_when_a_text_was_collected(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path)
    assert store.put("sw1", "hostname sw1\n", collected_at="2026-03-01T08:00:00+00:00")
    assert store.meta("sw1")["collected_at"] == "2026-03-01T08:00:00+00:00"
    # the same text again: not a change, but collected later
    assert not store.put("sw1", "hostname sw1\n", collected_at="2026-03-02T08:00:00+00:00")
    assert store.meta("sw1")["collected_at"] == "2026-03-02T08:00:00+00:00"
    store.remove("sw1")
    assert store.read("sw1") is None and store.meta("sw1") is None


def test_a_text_older_than_the_last_collection_is_said_so() -> None:
    packs = [p for p in load_packs(None) if p.pack == "ios-hardening"]
    text = DEPT.read_text()

    def ssh(**when: str | None) -> dict:
        device = DeviceInput("as2dept1", platform="cisco_ios", config=text, **when)
        (row,) = [r.as_row() for r in evaluate_device(device, packs) if r.rule == "ios-ssh-v2-only"]
        return row

    fresh = ssh(config_collected_at="2026-03-01T08:00:00Z", last_collected="2026-03-01T08:00:00Z")
    assert fresh["status"] == "pass" and fresh["message"] == "the configuration comply"
    assert fresh["evidence"] == [{"line": 52, "text": "ip ssh version 2"}]
    old = ssh(config_collected_at="2026-03-01T08:00:00Z", last_collected="2026-03-02T09:30:00Z")
    assert old["status"] == "pass" and old["evidence"] == fresh["evidence"]
    assert old["message"].endswith(
        "collected at 2026-03-01T08:00:00+00:00, before the device's last collection at "
        "2026-03-02T09:30:00+00:00"
    )
    unknown = ssh(config_collected_at=None, last_collected="2026-03-02T09:30:00Z")
    assert unknown["message"].endswith("of unknown age")
    # the age is part of what a run compares: the result is evaluated again
    a = DeviceInput("d", config=text, config_collected_at="2026-03-01T08:00:00Z")
    b = DeviceInput("d", config=text, config_collected_at="2026-03-01T08:00:00Z")
    b.last_collected = "2026-03-02T09:30:00Z"
    assert a.fingerprint() != b.fingerprint()


def _port(device: str, name: str, mode: str | None, **more: object) -> dict:
    fields = {"access_vlan": None, "native_vlan": None, "trunk_vlans": None, "lag": None}
    return {
        "device": device,
        "platform": "cisco_ios",
        "interface": name,
        "mode": mode,
        "admin_status": "up",
        **fields,
        **more,
    }


def _link(a: str, a_if: str, b: str, b_if: str) -> dict:
    roles = {"acc": "access", "d1": "distribution", "d2": "distribution"}
    row = {"a": a, "a_role": roles[a], "a_if": a_if, "b": b, "b_role": roles[b], "b_if": b_if}
    for side in "ab":
        row |= {f"{side}_mtu": None, f"{side}_speed": None, f"{side}_desc": "x"}
    return row


def _span(ports: list[dict] | None) -> tuple[object, list[str]]:
    devices = [
        {"device": "acc", "role": "access"},
        {"device": "d1", "role": "distribution"},
        {"device": "d2", "role": "distribution"},
    ]
    links = [_link("acc", "Gi1/0/49", "d1", "Gi1/0/1"), _link("acc", "Po1", "d2", "Gi1/0/1")]
    values, details = graph_values(devices, links, [], ports)["acc"]
    return values["uplinks_missing_user_vlans"], details.get("uplinks_missing_user_vlans", [])


def test_the_vlan_span_of_an_access_switch() -> None:
    users = [
        _port("acc", "Gi1/0/1", "access", access_vlan=10),
        _port("acc", "Gi1/0/2", "access", access_vlan=20),
        _port("acc", "Gi1/0/3", "access", access_vlan=30, admin_status="down"),  # shut: not
    ]
    both = [
        _port("acc", "Gi1/0/49", "trunk", trunk_vlans=[10, 20, 99]),
        _port("acc", "Po1", "trunk", trunk_vlans=[10], native_vlan=20),
    ]
    assert _span(users + both) == (0, [])
    # one uplink does not carry VLAN 20
    lacking = [both[0], _port("acc", "Po1", "trunk", trunk_vlans=[10, 30])]
    assert _span(users + lacking) == (1, ["Po1 -> d2 Gi1/0/1: does not carry VLAN 20"])
    # an IOS trunk without an allowed list carries every VLAN
    assert _span([*users, both[0], _port("acc", "Po1", "trunk", trunk_vlans=[])]) == (0, [])
    # elsewhere an empty list says nothing: not known
    junos = _port("acc", "Po1", "trunk", trunk_vlans=[], platform="juniper_junos")
    assert _span([*users, both[0], junos]) == (None, [])
    # an uplink whose mode is not known: not known; no port facts read at all: not known
    assert _span(users + both[:1])[0] is None
    assert _span(None)[0] is None
    # a routed uplink carries no VLAN
    assert _span([*users, both[0], _port("acc", "Po1", "routed")])[0] == 1


def test_a_lag_member_carries_what_its_lag_carries() -> None:
    ports = [
        _port("acc", "Gi1/0/1", "access", access_vlan=10),
        _port("acc", "Gi1/0/49", None, lag="Po2"),
        _port("acc", "Po2", "trunk", trunk_vlans=[10]),
        _port("acc", "Po1", "trunk", trunk_vlans=[10]),
    ]
    assert _span(ports) == (0, [])
    ports[2] = _port("acc", "Po2", "trunk", trunk_vlans=[11])
    assert _span(ports)[0] == 1


def test_the_vlan_span_rule_is_built_in_for_access_switches() -> None:
    (topology,) = [p for p in load_packs(None) if p.pack == "topology"]
    (rule,) = [r for r in topology.rules if r.id == "topo-access-uplinks-carry-user-vlans"]
    assert tuple(rule.roles) == ("access",) and rule.source == "graph"
    device = DeviceInput("acc", role="access", graph={"uplinks_missing_user_vlans": 1})
    (row,) = [r for r in evaluate_device(device, [topology]) if r.rule == rule.id]
    assert row.status == "fail" and row.remediation
    device.graph["uplinks_missing_user_vlans"] = None
    (row,) = [r for r in evaluate_device(device, [topology]) if r.rule == rule.id]
    assert row.status == "unknown"


async def test_the_ingest_handler_keeps_the_texts_then_lets_go_of_them(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    configs = ConfigStore(tmp_path / "configs")
    handlers = IngestHandlers(
        GraphEngine(store),
        None,  # type: ignore[arg-type]  # nothing is published here
        SnapshotArchive(tmp_path / "archive"),
        SnapshotIntake(tmp_path / "intake"),
        configs=configs,
    )
    text = DEPT.read_text()
    facts = read_snapshot(json.dumps(_snapshot(configs=[{"device": "sw1", "text": text}])))
    await handlers._keep_configs(facts)
    assert configs.read("sw1") == text and facts.configs == []
    assert configs.meta("sw1") == {
        "device": "sw1",
        "collected_at": "2026-03-01T08:00:00+00:00",
        "source": "",
        "snapshot_id": "s1",
        "bytes": len(text.encode()),
    }
    # a later snapshot without a text for sw1 leaves the kept one alone
    await handlers._keep_configs(read_snapshot(json.dumps(_snapshot(snapshot_id="s2"))))
    assert configs.read("sw1") == text and configs.meta("sw1")["snapshot_id"] == "s1"
    await store.close()
