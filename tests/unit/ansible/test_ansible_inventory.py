"""The Ansible inventory built from device rows, read back by the real ansible-inventory."""

from __future__ import annotations

from pathlib import Path

from meshq_query_gateway.ansible_inventory import build_inventory, to_ini
from support.ansible_run import ansible_inventory, graph_groups, listing

ROWS = [
    {
        "device": "hq-core-01",
        "managed": True,
        "vendor": "Arista",
        "platform": "arista_eos",
        "model": "DCS-7280SR3",
        "os_version": "4.30.1F",
        "role": "core",
        "site": "HQ",
        "management_ip": "10.255.0.2",
        "serial": "JPE111",
    },
    {
        "device": "hq-acc-01",
        "managed": True,
        "vendor": "Cisco",
        "platform": "cisco_ios",
        "model": "C9300-48P",
        "os_version": "15.2",
        "role": "access",
        "site": "HQ",
        "management_ip": "10.255.0.11",
        "serial": "0123",
    },
    {
        "device": "dc1-leaf-01",
        "managed": True,
        "vendor": "Juniper",
        "platform": "juniper_junos",
        "model": "QFX5120",
        "os_version": "22.4R2",
        "role": "leaf",
        "site": "DC 1 (Frankfurt)",
        "management_ip": None,
    },
    {
        "device": "hq-fw-01",
        "managed": True,
        "vendor": "Palo Alto Networks",
        "platform": "paloalto_panos",
        "model": 'PA-3220 "rev 2" O\'Neil \\ lab',
        "os_version": "10.2.8",
        "role": "firewall",
        "site": "HQ",
        "management_ip": "10.255.0.9",
    },
    {"device": "ap-lobby-01", "managed": False, "vendor": None, "platform": None},
]
GROUPS = {
    "meshoptixiq": ["dc1-leaf-01", "hq-acc-01", "hq-core-01", "hq-fw-01"],
    "firewalls": ["hq-fw-01"],
    "non_firewalls": ["dc1-leaf-01", "hq-acc-01", "hq-core-01"],
    "vendor_arista": ["hq-core-01"],
    "vendor_cisco": ["hq-acc-01"],
    "vendor_juniper": ["dc1-leaf-01"],
    "vendor_palo_alto_networks": ["hq-fw-01"],
    "role_access": ["hq-acc-01"],
    "role_core": ["hq-core-01"],
    "role_firewall": ["hq-fw-01"],
    "role_leaf": ["dc1-leaf-01"],
    "site_dc_1_frankfurt": ["dc1-leaf-01"],
    "site_hq": ["hq-acc-01", "hq-core-01", "hq-fw-01"],
}


def test_groups_and_hostvars() -> None:
    inventory = build_inventory(ROWS)
    assert {k: v["hosts"] for k, v in inventory.items() if k not in ("all", "_meta")} == GROUPS
    assert inventory["all"] == {"children": sorted(GROUPS)}
    hostvars = inventory["_meta"]["hostvars"]
    assert hostvars["hq-acc-01"] == {
        "ansible_host": "10.255.0.11",
        "ansible_network_os": "cisco.ios.ios",
        "vendor": "Cisco",
        "model": "C9300-48P",
        "os_version": "15.2",
        "role": "access",
        "site": "HQ",
        "platform": "cisco_ios",
        "serial_number": "0123",
    }
    assert hostvars["hq-core-01"]["ansible_network_os"] == "arista.eos.eos"
    assert hostvars["dc1-leaf-01"]["ansible_network_os"] == "junipernetworks.junos.junos"
    assert "ansible_host" not in hostvars["dc1-leaf-01"], "no address: Ansible uses the name"
    assert "ansible_network_os" not in hostvars["hq-fw-01"], "PAN-OS has no network_os"
    assert "ap-lobby-01" not in hostvars, "only collected devices"


def test_netbox_platform_is_only_a_fallback_for_network_os() -> None:
    rows = [
        {"device": "a", "platform": "arista_eos", "netbox_platform_slug": "cisco-ios"},
        {"device": "b", "platform": None, "netbox_platform_slug": "cisco-nxos"},
        {"device": "c", "platform": None, "netbox_platform_slug": "juniper_junos"},
        {"device": "c2", "platform": None, "netbox_platform_slug": "eos"},
        {"device": "d", "platform": "paloalto_panos", "netbox_platform_slug": "cisco-ios"},
        {"device": "e", "platform": None, "netbox_platform_slug": "some-os"},
        {"device": "f", "platform": None, "netbox_platform_slug": None},
    ]
    hostvars = build_inventory(rows)["_meta"]["hostvars"]
    assert {h: v.get("ansible_network_os") for h, v in hostvars.items()} == {
        "a": "arista.eos.eos",
        "b": "cisco.nxos.nxos",
        "c": "junipernetworks.junos.junos",
        "c2": "arista.eos.eos",
        "d": None,
        "e": None,
        "f": None,
    }
    assert "platform" not in hostvars["b"], "NetBox's platform is not the device's platform"


def test_ansible_reads_the_ini_file(tmp_path: Path) -> None:
    inventory = build_inventory(ROWS)
    path = tmp_path / "meshoptixiq.ini"
    path.write_text(to_ini(inventory))
    listed = listing(path, tmp_path)
    for group, hosts in GROUPS.items():
        assert sorted(listed[group]["hosts"]) == hosts, group
    got = listed["_meta"]["hostvars"]
    assert got == inventory["_meta"]["hostvars"], "every value as a string, as sent"
    assert got["hq-acc-01"]["os_version"] == "15.2" and got["hq-acc-01"]["serial_number"] == "0123"
    drawn = graph_groups(ansible_inventory(path, "--graph", tmp=tmp_path))
    assert drawn["firewalls"] == ["hq-fw-01"]
    assert drawn["site_hq"] == ["hq-acc-01", "hq-core-01", "hq-fw-01"]


HOSTILE = [
    {
        # a name the model now refuses; a graph written before that may still hold it
        "device": 'sw-inj ansible_ssh_common_args="-o ProxyCommand=touch /tmp/x"',
        "managed": True,
        "platform": "cisco_ios",
    },
    {
        "device": "sw-ok",
        "managed": True,
        "platform": "cisco_ios",
        # values are data: quotes, '=', shell and template syntax stay one string
        "model": 'x" ansible_ssh_common_args="-o ProxyCommand=touch /tmp/x',
        "site": "{{ lookup('pipe', 'id') }}",
        "rack": "$(touch /tmp/x); `id`",
    },
]


def test_hostile_names_and_values_never_become_ansible_variables(tmp_path: Path) -> None:
    inventory = build_inventory(HOSTILE)
    assert inventory["meshoptixiq"]["hosts"] == ["sw-ok"]  # the hostile name is left out
    path = tmp_path / "hostile.ini"
    path.write_text(to_ini(inventory))
    listed = listing(path, tmp_path)
    got = listed["_meta"]["hostvars"]
    assert list(got) == ["sw-ok"]
    assert "ansible_ssh_common_args" not in got["sw-ok"]
    assert got["sw-ok"] == inventory["_meta"]["hostvars"]["sw-ok"]  # as the graph holds them
    assert not (tmp_path / "x").exists()
