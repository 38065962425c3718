"""A file that fails to parse is reported and the rest goes on; native snapshot files."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from network_discovery.demo import snapshot_text
from network_discovery.parsers import load_snapshot_file, parse_device, parse_directory

LAB1 = Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "lab1"

WHEN = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)


@pytest.fixture
def lab_copy(tmp_path):
    target = tmp_path / "lab"
    shutil.copytree(LAB1, target)
    return target


def test_broken_file_reported_with_line_and_template_rest_goes_on(lab_copy):
    # only the brief LLDP form: the detailed one would be read instead
    (lab_copy / "lab-edge1" / "show_lldp_neighbors_interface.txt").unlink()
    lldp = lab_copy / "lab-edge1" / "show_lldp_neighbors.txt"
    lines = lldp.read_text().splitlines()
    lines.insert(2, "error: busy")
    lldp.write_text("\n".join(lines) + "\n")
    # a Junos file the template cannot follow
    (lab_copy / "lab-edge1" / "show_ethernet-switching_table.txt").write_text(
        "Routing instance : default-switch\n    garbage here\n"
    )
    snapshot, report = parse_directory(lab_copy, collected_at=WHEN)
    errors = {(e.device, e.file.rsplit("/", 1)[1]): e for e in report.errors}
    core = errors[("lab-edge1", "show_lldp_neighbors.txt")]
    assert core.line == 3
    assert core.template == "ntc:juniper_junos_show_lldp_neighbors.textfsm"
    assert "error: busy" in core.message
    edge = errors[("lab-edge1", "show_ethernet-switching_table.txt")]
    assert edge.line == 2 and edge.template.startswith("own:")
    assert len(report.errors) == 2
    scope = snapshot.scope_map()
    assert "lldp" not in scope["lab-edge1"] and "mac_table" not in scope["lab-edge1"]
    assert "arp" in scope["lab-edge1"] and "mac_table" in scope["lab-acc1"]
    assert not [m for m in snapshot.mac_table if m.device == "lab-edge1"]
    assert not [n for n in snapshot.neighbors if n.device == "lab-edge1"]
    assert len(snapshot.devices) == 5
    assert str(core).startswith("error: ") and ":3 [ntc:" in str(core)


def test_broken_junos_lldp_detail_is_reported_and_the_brief_form_is_not_used(lab_copy):
    detail = lab_copy / "lab-edge1" / "show_lldp_neighbors_interface.txt"
    lines = detail.read_text().splitlines()
    assert lines[5].startswith("Parent Interface")
    lines.insert(6, "error: the lldp subsystem is not responding")
    detail.write_text("\n".join(lines) + "\n")
    snapshot, report = parse_directory(lab_copy, collected_at=WHEN)
    [error] = report.errors
    assert (error.device, error.line) == ("lab-edge1", 7)
    assert error.file.endswith("lab-edge1/show_lldp_neighbors_interface.txt")
    assert error.template == "own:juniper_junos_show_lldp_neighbors_interface.textfsm"
    assert "not responding" in error.message
    # the graph keeps the LLDP facts it had: no kind, no entries, no fallback to the brief
    assert "lldp" not in snapshot.scope_map()["lab-edge1"]
    assert not [n for n in snapshot.neighbors if n.device == "lab-edge1"]


def test_a_summary_without_the_local_as_leaves_bgp_out_with_one_warning(lab_copy):
    bgp = lab_copy / "lab-edge1" / "meta.yaml"
    meta = yaml.safe_load(bgp.read_text())
    del meta["bgp_asn"]
    bgp.write_text(yaml.safe_dump(meta))
    snapshot, report = parse_directory(lab_copy, collected_at=WHEN)
    assert report.errors == []
    [warning] = [w for w in report.warnings if "bgp_asn" in w.message]
    assert warning.device == "lab-edge1" and "show bgp neighbor" in warning.message
    assert "bgp" not in snapshot.scope_map()["lab-edge1"]
    assert "lldp" in snapshot.scope_map()["lab-edge1"]
    # the configuration tells it: the sessions are read
    (lab_copy / "lab-edge1" / "show configuration.txt").write_text(
        "routing-options {\n    autonomous-system 65001;\n}\n"
    )
    snapshot, report = parse_directory(lab_copy, collected_at=WHEN)
    assert "bgp" in snapshot.scope_map()["lab-edge1"]
    assert {p.local_asn for p in snapshot.bgp_peers if p.device == "lab-edge1"} == {65001}


def test_meta_problems(lab_copy):
    (lab_copy / "lab-leaf1" / "meta.yaml").write_text("platform: arista_eoss\n")
    (lab_copy / "lab-acc1" / "meta.yaml").unlink()
    (lab_copy / "lab-acc2" / "meta.yaml").write_text("platform: cisco_ios\ncolour: blue\n")
    (lab_copy / "lab-acc2" / "show_clock.txt").write_text("*08:15:00.000 UTC Mon Mar 2 2026\n")
    snapshot, report = parse_directory(lab_copy, collected_at=WHEN)
    # lab-acc1 has no meta.yaml: its show version says IOS, with a warning
    assert {d for d in snapshot.scope_map()} == {"lab-acc1", "lab-acc2", "lab-core1", "lab-edge1"}
    messages = [str(i) for i in report.issues]
    assert any("lab-leaf1/meta.yaml" in m and "arista_eoss" in m for m in messages)
    assert any(
        m.startswith("warning") and "lab-acc1/meta.yaml" in m and "platform cisco_ios" in m
        for m in messages
    )
    assert any("unknown keys colour" in m and m.startswith("warning") for m in messages)
    assert any("show_clock.txt" in m and m.startswith("warning") for m in messages)


def test_empty_version_is_an_error_and_the_device_stays_collected(tmp_path):
    version = tmp_path / "show_version.txt"
    version.write_text("nothing useful\n")
    facts, report = parse_device("sw9", "cisco_ios", {"show_version.txt": version})
    assert report.errors[0].message == "the template found nothing"
    # the folder named its platform: a managed device, without a version, and a warning
    assert facts.record is not None and facts.record.managed
    assert (facts.record.platform, facts.record.os_version) == ("cisco_ios", None)
    assert [d.empty for d in report.devices] == [True]
    assert any("yielded no identity" in w.message for w in report.warnings)


def test_unknown_platform_is_refused():
    with pytest.raises(ValueError, match="unknown platform 'hp_procurve'"):
        parse_device("sw9", "hp_procurve", {})


def test_load_snapshot_file_json_and_yaml(tmp_path):
    text = snapshot_text()
    (tmp_path / "s.json").write_text(text)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(json.loads(text)))
    from_json = load_snapshot_file(tmp_path / "s.json")
    assert load_snapshot_file(tmp_path / "s.yaml") == from_json
    assert from_json.snapshot_id == "demo-campus-dc-v1"
