"""A snapshot laid out by kind of source (configs/, hosts/, iptables/), the layout Batfish
snapshots use: one device from several files of several platforms, names from the files,
and nothing read from outside the snapshot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from network_discovery.model import FactKind
from network_discovery.parsers import parse_directory

REAL = Path(__file__).parents[2] / "fixtures" / "real" / "ios"
FIREWALLS = REAL / "batfish-iptables-firewall" / "network"


def test_a_router_config_and_its_iptables_file_are_one_device() -> None:
    # z1-firewall: an IOS-style configuration (interfaces, OSPF) in configs/, a host file
    # that overlays it, and an iptables-save file with its packet filter (*mangle)
    snapshot, report = parse_directory(FIREWALLS)
    assert report.errors == []
    devices = {d.hostname: d.platform for d in snapshot.devices}
    assert len(devices) == 10
    assert devices["z1-firewall"] == "cisco_ios"
    assert devices["z1-host1"] == devices["internet-host"] == "linux"
    scope = {e.device: set(e.facts) for e in snapshot.scope}
    assert {FactKind.INTERFACES, FactKind.ROUTES, FactKind.FIREWALL} <= scope["z1-firewall"]
    addresses = {
        (a.interface, a.address) for a in snapshot.ip_addresses if a.device == "z1-firewall"
    }
    assert addresses == {("eth0", "10.0.2.10/24"), ("eth1", "10.0.3.1/24")}
    assert any(r.device == "z1-firewall" for r in snapshot.firewall_rulesets)
    # OSPF over the IOS-style "network 10.0.2.0/24 area 0" statements: z1-firewall learns
    # zone 2 (10.0.4.0/24) through r1 (10.0.2.1)
    zone2 = [r for r in snapshot.routes if r.device == "z1-firewall" and r.prefix == "10.0.4.0/24"]
    assert [(r.protocol, [h.address for h in r.next_hops]) for r in zone2] == [
        ("ospf", ["10.0.2.1"])
    ]
    # a host's gateway is its default route
    [default] = [r for r in snapshot.routes if r.device == "z1-host1" and r.prefix == "0.0.0.0/0"]
    assert (default.protocol, default.next_hops[0].address) == ("static", "10.0.3.1")
    # configurations with no banner are read as IOS-style, and say so
    assert any("read as cisco_ios" in w.message for w in report.warnings)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "net"
    shutil.copytree(FIREWALLS, root)
    return root


def test_an_iptables_file_outside_the_snapshot_is_not_read(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    secret = tmp_path / "outside.v4"
    secret.write_text("*filter\n:INPUT DROP [0:0]\nCOMMIT\n")
    host = root / "hosts" / "z1-host1.json"
    data = json.loads(host.read_text())
    data["iptablesFile"] = "../outside.v4"
    host.write_text(json.dumps(data))
    snapshot, report = parse_directory(root)
    assert not any(r.device == "z1-host1" for r in snapshot.firewall_rulesets)
    [issue] = [i for i in report.errors if i.device == "z1-host1"]
    assert "is not a file inside the snapshot" in issue.message


def test_broken_and_unknown_files_are_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "hosts" / "broken.json").write_text("{not json")
    (root / "configs" / "mystery.cfg").write_text("just some words\nnothing else\n")
    (root / "iptables" / "orphan.v4").write_text("*filter\nCOMMIT\n")
    snapshot, report = parse_directory(root)
    assert len(snapshot.devices) == 10
    messages = {(Path(i.file).name, i.severity): i.message for i in report.issues}
    assert "not valid JSON" in messages[("broken.json", "error")]
    assert "platform unknown" in messages[("mystery.cfg", "error")]
    assert "no host file names it" in messages[("orphan.v4", "warning")]


def test_a_hostile_host_name_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    host = root / "hosts" / "z1-host2.json"
    data = json.loads(host.read_text())
    data["hostname"] = 'h ansible_ssh_common_args="-o ProxyCommand=touch /tmp/x"'
    host.write_text(json.dumps(data))
    snapshot, report = parse_directory(root)
    assert all("ansible" not in d.hostname for d in snapshot.devices)
    assert any("left out" in i.message for i in report.errors)


def test_a_device_folder_beside_the_source_folders_is_still_read(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    lab = REAL / "example-network" / "as2dept1"
    shutil.copytree(lab, root / "as2dept1")
    snapshot, report = parse_directory(root)
    assert report.errors == []
    assert "as2dept1" in {d.hostname for d in snapshot.devices}


def test_a_router_folder_may_hold_its_iptables_file_too(tmp_path: Path) -> None:
    # one device folder, two platforms: z1-firewall's IOS-style configuration (meta.yaml says
    # cisco_ios) and its iptables-save file, read as a Linux host's packet filter
    folder = tmp_path / "net" / "z1-firewall"
    folder.mkdir(parents=True)
    (folder / "meta.yaml").write_text("platform: cisco_ios\n")
    shutil.copy(FIREWALLS / "configs" / "z1-firewall.cfg", folder / "show running-config.txt")
    shutil.copy(FIREWALLS / "iptables" / "z1-firewall.v4", folder / "iptables-save.txt")
    snapshot, report = parse_directory(tmp_path / "net")
    assert report.errors == []
    [device] = snapshot.devices
    assert device.platform == "cisco_ios"
    assert {r.name for r in snapshot.firewall_rulesets} == {"mangle PREROUTING"}
    assert {(a.interface, a.address) for a in snapshot.ip_addresses} == {
        ("eth0", "10.0.2.10/24"),
        ("eth1", "10.0.3.1/24"),
    }
