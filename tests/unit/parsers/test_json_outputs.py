"""Structured output (EOS ``| json``) saved as ``<command>.json``: the same facts as the text."""

from __future__ import annotations

import shutil
from pathlib import Path

from meshq_graph_engine.derive import derive_all
from network_discovery.model import FactKind
from network_discovery.parsers import parse_directory

LAB = Path(__file__).resolve().parents[2] / "fixtures" / "discovery"


def _mixed(tmp_path: Path) -> Path:
    """acc1/acc2 as text, core1 as EOS JSON."""
    root = tmp_path / "lab"
    for host in ("acc1", "acc2"):
        shutil.copytree(LAB / "lab" / host, root / host)
    shutil.copytree(LAB / "lab-json" / "core1", root / "core1")
    return root


def _facts(snapshot, device: str) -> dict[str, set]:
    return {
        "interfaces": {i.model_dump_json() for i in snapshot.interfaces if i.device == device},
        "ip_addresses": {a.id for a in snapshot.ip_addresses if a.device == device},
        "neighbors": {n.id for n in snapshot.neighbors if n.device == device},
        "arp": {a.model_dump_json() for a in snapshot.arp if a.device == device},
        "mac_table": {m.model_dump_json() for m in snapshot.mac_table if m.device == device},
        "vlans": {v.id for v in snapshot.vlans if v.device == device},
        "device": {d.model_dump_json() for d in snapshot.devices if d.id == device},
    }


def test_eos_json_gives_the_facts_the_text_gives(tmp_path: Path) -> None:
    from_json, report = parse_directory(_mixed(tmp_path))
    from_text, _ = parse_directory(LAB / "lab")
    assert report.ok, report.summary()
    assert from_json.scope_map()["core1"] == from_text.scope_map()["core1"]
    json_facts, text_facts = _facts(from_json, "core1"), _facts(from_text, "core1")
    for kind in ("interfaces", "ip_addresses", "arp", "mac_table", "vlans", "device"):
        assert json_facts[kind] == text_facts[kind], kind
    # JSON carries the neighbours' port descriptions too; the links are the same
    assert json_facts["neighbors"] == text_facts["neighbors"]
    assert {link.id for link in derive_all(from_json).links} == {
        link.id for link in derive_all(from_text).links
    }


def test_json_wins_over_text_and_bad_json_is_reported(tmp_path: Path) -> None:
    root = _mixed(tmp_path)
    shutil.copy(LAB / "lab" / "core1" / "show_ip_arp.txt", root / "core1")
    (root / "core1" / "show_vlan.json").write_text('{"vlans": [1, 2')
    (root / "core1" / "show_clock.json").write_text("{}")
    snapshot, report = parse_directory(root)
    assert str(root / "core1" / "show_ip_arp.txt") in report.skipped_files
    bad = [i for i in report.errors if i.file.endswith("show_vlan.json")]
    assert (
        len(bad) == 1 and bad[0].message.startswith("not valid JSON") and bad[0].template == "json"
    )
    assert FactKind.VLANS not in snapshot.scope_map()["core1"]  # the graph keeps what it knew
    assert any(i.file.endswith("show_clock.json") for i in report.warnings)


def test_nxos_json_gives_the_facts_the_text_gives(tmp_path: Path) -> None:
    """NX-API's TABLE_/ROW_ documents for LLDP, ARP, the MAC table and VLANs."""
    text_dir = LAB.parent / "cli" / "lab1" / "lab-core1"
    root = tmp_path / "nx"
    shutil.copytree(text_dir, root / "lab-core1")
    from_text, _ = parse_directory(root)
    for file in (LAB / "nxos-json" / "lab-core1").glob("*.json"):
        shutil.copy(file, root / "lab-core1")
    from_json, report = parse_directory(root)
    assert report.ok, report.summary()
    json_files = {Path(f).name for f in report.parsed_files if f.endswith(".json")}
    assert json_files == {
        "show_lldp_neighbors_detail.json",
        "show_ip_arp.json",
        "show_mac_address-table.json",
        "show_vlan.json",
    }
    assert from_json.scope_map() == from_text.scope_map()
    json_facts, text_facts = _facts(from_json, "lab-core1"), _facts(from_text, "lab-core1")
    for kind in ("neighbors", "arp", "mac_table", "vlans"):
        assert json_facts[kind] == text_facts[kind], kind
    mgmt = {n.remote_system_name: n.remote_management_address for n in from_json.neighbors}
    assert mgmt["lab-acc1.lab.example.net"] == "10.10.30.11"


def test_junos_display_json_gives_the_facts_the_text_gives(tmp_path: Path) -> None:
    """Junos ``| display json`` (every leaf a ``[{"data": ...}]``): LLDP brief and ARP."""
    text_dir = LAB.parent / "cli" / "lab1" / "lab-edge1"
    root = tmp_path / "junos"
    (root / "lab-edge1").mkdir(parents=True)
    for name in ("meta.yaml", "show_version.txt", "show_lldp_neighbors.txt"):
        shutil.copy(text_dir / name, root / "lab-edge1")
    shutil.copy(text_dir / "show_arp_no-resolve.txt", root / "lab-edge1")
    from_text, _ = parse_directory(root)
    for file in (LAB / "junos-json" / "lab-edge1").glob("*.json"):
        shutil.copy(file, root / "lab-edge1")
    from_json, report = parse_directory(root)
    assert report.ok, report.summary()
    assert {Path(f).name for f in report.parsed_files if f.endswith(".json")} == {
        "show_lldp_neighbors.json",
        "show_arp_no-resolve.json",
    }
    json_facts, text_facts = _facts(from_json, "lab-edge1"), _facts(from_text, "lab-edge1")
    for kind in ("neighbors", "arp"):
        assert json_facts[kind] and json_facts[kind] == text_facts[kind], kind
