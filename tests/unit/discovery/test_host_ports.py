"""``host:port`` in Ansible inventories, read as ansible-core reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from network_discovery.discovery import InventoryError, parse_inventory
from network_discovery.discovery._hostrange import split_host_port
from support.ansible_run import ansible_inventory, listing

INI = """
[access]
sw1.example.com:2222 ansible_network_os=ios
10.0.0.1:2223 ansible_network_os=ios
[2001:db8::1]:2224 ansible_network_os=ios
acc[01:03]:2225 ansible_network_os=ios
inline:2226 ansible_network_os=ios ansible_port=830
grouped:2227 ansible_network_os=ios
2001:db8::2:2228 ansible_network_os=ios
again ansible_network_os=ios
10.0.0.[5:6]:2232 ansible_network_os=eos

[core]
again:2229
grouped
first:2230 ansible_network_os=eos

[edge]
first:2231

[core:vars]
ansible_port=8022
"""

YAML = """
all:
  children:
    access:
      vars: {ansible_port: 8022}
      hosts:
        sw1.example.com:2222: {ansible_network_os: ios}
        "[2001:db8::1]:2224": {ansible_network_os: ios}
        acc[01:02]:2225: {ansible_network_os: ios}
        inline:2226: {ansible_network_os: ios, ansible_port: 830}
        plain: {ansible_network_os: ios}
        "tail:": {ansible_network_os: ios, ansible_host: 10.1.1.1}
"""


def test_ports_in_an_ini_inventory() -> None:
    ports = {t.name: t.port for t in parse_inventory(INI, "hosts.ini").targets}
    assert ports == {
        "sw1.example.com": 2222,
        "10.0.0.1": 2223,
        "2001:db8::1": 2224,  # IPv6 takes a port only in brackets
        "acc01": 2225,
        "acc02": 2225,
        "acc03": 2225,
        "inline": 830,  # the host's own ansible_port wins
        "grouped": 2227,  # over its group's ansible_port
        "2001:db8::2:2228": None,  # no brackets: all of it is the address
        "again": 8022,  # a port on a later mention of the host is ignored
        "first": 2230,
        "10.0.0.5": 2232,
        "10.0.0.6": 2232,
    }
    targets = {t.name: t for t in parse_inventory(INI, "hosts.ini").targets}
    assert targets["2001:db8::1"].address == "2001:db8::1"
    assert targets["sw1.example.com"].address == "sw1.example.com"


@pytest.mark.parametrize(
    ("text", "name", "plugin"), [(INI, "hosts.ini", "ini"), (YAML, "hosts.yml", "yaml")]
)
def test_ports_as_ansible_inventory_lists_them(
    text: str, name: str, plugin: str, tmp_path: Path
) -> None:
    pytest.importorskip("ansible")
    file = tmp_path / name
    file.write_text(text)
    hostvars = listing(file, tmp_path, env={"ANSIBLE_INVENTORY_ENABLED": plugin})["_meta"][
        "hostvars"
    ]
    ours = {t.name: t.port for t in parse_inventory(text, name).targets}
    assert ours == {host: found.get("ansible_port") for host, found in hostvars.items()}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("sw1: ansible_network_os=ios", "hosts.ini:3: host 'sw1:' ends in ':'"),
        ("sw[1:2]:22: ansible_network_os=ios", "hosts.ini:3: host 'sw[1:2]:22:' ends in ':'"),
    ],
)
def test_a_trailing_colon_is_refused_as_ansible_refuses_it(
    line: str, message: str, tmp_path: Path
) -> None:
    text = f"[access]\n\n{line}\n"
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "hosts.ini")
    assert str(info.value).startswith(message)
    pytest.importorskip("ansible")
    file = tmp_path / "hosts.ini"
    file.write_text(text)
    with pytest.raises(AssertionError, match="ending in ':' is not allowed"):
        ansible_inventory(file, "--list", tmp=tmp_path)


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_out_of_range_is_refused(port: str) -> None:
    """Ansible drops ``:0`` quietly and keeps ``:70000``; neither can be dialled."""
    text = f"[access]\nsw1:{port} ansible_network_os=ios\n"
    with pytest.raises(InventoryError, match=rf"^hosts\.ini:2: host 'sw1:{port}': the port"):
        parse_inventory(text, "hosts.ini")
    yaml_text = f"all:\n  hosts:\n    sw1:{port}: {{ansible_network_os: ios}}\n"
    with pytest.raises(InventoryError, match="must be from 1 to 65535"):
        parse_inventory(yaml_text, "hosts.yml")


@settings(max_examples=400, deadline=None)
@given(st.text("ab9_-.:[]f0A\u00e9\u0663", max_size=16))
@example("[a:1]:22")
@example("[10.0.0.1]:22")
@example("::ffff:1.2.3.4")
@example("[::ffff:abcd.1.2.3]:22")
@example("fe80::[1:3]")
@example("[fe80::[a:f]]:22")
@example("sw-:22")
@example("sw_[a:c]:22")
@example("1:2:3:4:5:6:7::")
@example("srv[01:10:2].dc[a:b]:9")
def test_split_like_ansible_core(pattern: str) -> None:
    addresses = pytest.importorskip("ansible.parsing.utils.addresses")
    try:
        expected = addresses.parse_address(pattern, allow_ranges=True)
    except Exception:
        expected = (pattern, None)
    assert split_host_port(pattern) == expected
