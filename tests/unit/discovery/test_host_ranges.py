"""Ansible host ranges in Ansible inventories, expanded as ansible-core expands them."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from network_discovery.discovery import InventoryError, parse_inventory
from network_discovery.discovery._hostrange import (
    MAX_HOSTS,
    HostRangeError,
    expand_host_range,
)
from support.ansible_run import listing


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        (
            "switch[01:03].example.com",
            ["switch01.example.com", "switch02.example.com", "switch03.example.com"],
        ),
        ("10.0.0.[1:5]", [f"10.0.0.{n}" for n in range(1, 6)]),
        ("rack-[a:c]", ["rack-a", "rack-b", "rack-c"]),
        ("edge[1:10:2]", ["edge1", "edge3", "edge5", "edge7", "edge9"]),
        ("sw[:2]", ["sw0", "sw1", "sw2"]),
        ("sw[y:B]", ["swy", "swz", "swA", "swB"]),
        ("dc[1:2]-sw[01:02]", ["dc1-sw01", "dc1-sw02", "dc2-sw01", "dc2-sw02"]),
        ("leaf[8:010]", ["leaf8", "leaf9", "leaf10"]),
        ("plain.example.com", ["plain.example.com"]),
    ],
)
def test_documented_ranges(pattern: str, hosts: list[str]) -> None:
    assert expand_host_range(pattern) == hosts


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("sw[1:2", "'[' without a closing ']'"),
        ("sw[1]", "a range is [begin:end] or [begin:end:step]"),
        ("sw[1:2:3:4]", "a range is [begin:end] or [begin:end:step]"),
        ("sw[1:]", "the range has no end"),
        ("sw[5:1]", "5 is larger than 1"),
        ("sw[c:a]", "'c' comes after 'a'"),
        ("sw[1:c]", "two numbers or two single letters"),
        ("sw[aa:cc]", "two numbers or two single letters"),
        ("sw[1:5:0]", "the step must be a whole number of 1 or more"),
        ("sw[1:5:-1]", "the step must be a whole number of 1 or more"),
        ("sw[01:100]", "zero-padded range needs begin and end of the same width"),
        ("sw[0:999999]", f"more than {MAX_HOSTS} hosts"),
        ("a[0:999]b[0:999]", f"more than {MAX_HOSTS} hosts"),
    ],
)
def test_bad_ranges_say_why(pattern: str, message: str) -> None:
    with pytest.raises(HostRangeError) as err:
        expand_host_range(pattern)
    assert message in str(err.value)


_NUMBERS = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(sorted)
_RANGE = st.one_of(
    _NUMBERS.map(lambda b: f"{b[0]}:{b[1]}"),
    st.tuples(st.integers(1, 2), _NUMBERS).map(
        lambda w: (
            f"{str(w[1][0]).zfill(w[0] + 1)}:{str(w[1][1]).zfill(w[0] + 1)}"
            if len(str(w[1][1])) <= w[0] + 1
            else f"{w[1][0]}:{w[1][1]}"
        )
    ),
    st.tuples(st.sampled_from(string.ascii_letters), st.sampled_from(string.ascii_letters))
    .map(lambda p: sorted(p, key=string.ascii_letters.index))
    .map(lambda p: f"{p[0]}:{p[1]}"),
)
_PART = st.text(string.ascii_lowercase + string.digits + ".-", max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_PART, _RANGE, st.integers(1, 4)), min_size=1, max_size=2),
    _PART,
)
def test_same_hosts_as_ansible_core(parts: list[tuple[str, str, int]], tail: str) -> None:
    helpers = pytest.importorskip("ansible.plugins.inventory")
    pattern = "".join(f"{head}[{bounds}:{step}]" for head, bounds, step in parts) + tail
    assert expand_host_range(pattern) == helpers.expand_hostname_range(pattern)


INI = """
[access]
acc[01:03].example.com ansible_network_os=ios ansible_user=netops

[core]
10.0.0.[1:2] ansible_network_os=eos ansible_user=netops

[racks]
rack-[a:c] ansible_network_os=junos ansible_user=netops ansible_port=830
"""
YAML = """
all:
  children:
    leaves:
      hosts:
        leaf[1:7:3]:
          ansible_network_os: nxos
          ansible_user: netops
"""


def test_ranges_in_ansible_inventories() -> None:
    ini = {t.name: t for t in parse_inventory(INI, "hosts.ini").targets}
    assert sorted(ini) == [
        "10.0.0.1",
        "10.0.0.2",
        "acc01.example.com",
        "acc02.example.com",
        "acc03.example.com",
        "rack-a",
        "rack-b",
        "rack-c",
    ]
    assert (ini["10.0.0.2"].address, ini["10.0.0.2"].platform) == ("10.0.0.2", "arista_eos")
    assert (ini["rack-b"].port, ini["rack-b"].platform) == (830, "juniper_junos")
    yaml_hosts = {t.name: t.platform for t in parse_inventory(YAML, "hosts.yml").targets}
    assert yaml_hosts == {"leaf1": "cisco_nxos", "leaf4": "cisco_nxos", "leaf7": "cisco_nxos"}


def test_a_bad_range_names_the_line() -> None:
    with pytest.raises(InventoryError, match=r"hosts\.ini:3: host range 'sw\[5:1\]'"):
        parse_inventory("[x]\n\nsw[5:1] ansible_network_os=ios\n", "hosts.ini")
    bad_yaml = "all:\n  hosts:\n    'sw[1:c]': {ansible_network_os: ios}\n"
    with pytest.raises(InventoryError, match=r"hosts\.yml: group 'all': host range"):
        parse_inventory(bad_yaml, "hosts.yml")


@pytest.mark.parametrize(("text", "name"), [(INI, "hosts.ini"), (YAML, "hosts.yml")])
def test_ranges_read_as_ansible_inventory_reads_them(text: str, name: str, tmp_path: Path) -> None:
    file = tmp_path / name
    file.write_text(text)
    listed = listing(file, tmp_path, env={"ANSIBLE_INVENTORY_ENABLED": "ini,yaml"})
    hostvars = listed["_meta"]["hostvars"]
    ours = {t.name: t for t in parse_inventory(text, name).targets}
    assert set(ours) == set(hostvars)
    for host, target in ours.items():
        assert str(target.port) == str(hostvars[host].get("ansible_port", "None"))
