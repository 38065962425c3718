"""Saved outputs are matched to their command by the vendor's rules, whatever the file is
called, and terminal sessions are split into their commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_discovery.parsers import parse_device, parse_directory
from network_discovery.parsers._names import resolve_name
from network_discovery.parsers._session import split_session, strip_echo


@pytest.mark.parametrize(
    ("platform", "name", "command"),
    [
        ("cisco_ios", "sh ip int br", "show ip interface brief"),
        ("cisco_ios", "show_ip_int_br.txt", "show ip interface brief"),
        ("cisco_ios", "SHOW_IP_INTERFACE_BRIEF.LOG", "show ip interface brief"),
        ("cisco_ios", "show ip int", "show ip interface"),
        ("cisco_ios", "sh int", "show interfaces"),
        ("cisco_ios", "show interface", "show interfaces"),
        ("cisco_ios", "sh inv", "show inventory"),
        ("cisco_ios", "sh run", "show running-config"),
        ("cisco_ios", "show_running_config", "show running-config"),
        ("cisco_ios", "show running-config.txt", "show running-config"),
        ("cisco_ios", "show mac add", "show mac address-table"),
        ("cisco_ios", "show_mac_address_table.txt", "show mac address-table"),
        ("cisco_ios", "show ip route vrf *", "show ip route vrf *"),
        ("cisco_ios", "show lldp neighbors | no-more", "show lldp neighbors"),
        ("cisco_nxos", "show version | json native", "show version"),
        ("cisco_nxos", "show_version_json.txt", "show version"),
        ("cisco_nxos", "show version | xml.xml", "show version"),
        ("juniper_junos", "show interface | display json | no-more", "show interfaces"),
        ("juniper_junos", "show_interfaces_|_display_json.txt", "show interfaces"),
        ("juniper_junos", "show version | display xml", "show version"),
        ("linux", "iptables_save", "iptables-save"),
        ("linux", "iptables-save.out", "iptables-save"),
    ],
)
def test_names_people_and_collectors_use(platform: str, name: str, command: str) -> None:
    spec = resolve_name(platform, name).spec
    assert spec is not None and spec.command == command


@pytest.mark.parametrize(
    ("platform", "name"),
    [
        ("cisco_ios", "sh ip in"),  # interface? inspect? igmp? The CLI would not guess either
        ("cisco_ios", "show clock"),
        ("cisco_ios", "show ip ospf neighbor"),
        ("arista_eos", "show cdp neighbors"),  # EOS has no CDP
        ("juniper_junos", "show ip route"),  # not a Junos command
    ],
)
def test_what_is_not_a_command_read_there(platform: str, name: str) -> None:
    assert resolve_name(platform, name).spec is None


def test_filters_are_kept_apart_from_format_pipes() -> None:
    found = resolve_name("cisco_nxos", "show interface | egrep '^\\w|MTU' | no-more.txt")
    assert found.spec is not None and found.spec.command == "show interface"
    assert found.filters == ("egrep '^\\w|MTU'",)  # the | inside the quotes is the pattern's
    assert resolve_name("juniper_junos", "show lldp neighbors | display json").filters == ()


SESSION = """\
leaf01# terminal length 0
leaf01# show version
Cisco IOS Software, IOSv Software (VIOS-ADVENTERPRISEK9-M), Version 15.6(2)T
leaf01 uptime is 1 day
leaf01#sh lldp neigh
Device ID           Local Intf     Hold-time  Capability      Port ID
spine1              Gi0/0          120        B,R             Ethernet1/1

Total entries displayed: 1

leaf01#
"""


def test_a_terminal_session_is_split_into_its_commands() -> None:
    commands = split_session(SESSION)
    assert [(c.command, c.line) for c in commands] == [("show version", 2), ("sh lldp neigh", 5)]
    assert commands[1].output.splitlines()[1].startswith("spine1 ")
    assert not commands[1].output.rstrip().endswith("leaf01#")


def test_a_session_file_is_read_as_its_commands(tmp_path: Path) -> None:
    log = tmp_path / "leaf01.log"
    log.write_text(SESSION)
    facts, report = parse_device("leaf01", "cisco_ios", {log.name: log})
    assert [(n.interface, n.remote_system_name) for n in facts.neighbors] == [
        ("GigabitEthernet0/0", "spine1")
    ]
    assert sorted((c, f) for _, c, f in report.read) == [
        ("show lldp neighbors", "text"),
        ("show version", "text"),
    ]


def test_a_leading_prompt_and_command_is_not_output() -> None:
    text = 'core1# show version | json\n{"a": 1}\ncore1#\n'
    assert strip_echo(text) == '\n{"a": 1}\n'  # the line is kept blank: line numbers hold


def test_one_command_saved_twice_is_read_once(tmp_path: Path) -> None:
    text = tmp_path / "show lldp neighbors.txt"
    text.write_text(SESSION.split("leaf01#sh lldp neigh\n")[1].replace("leaf01#\n", ""))
    abbreviated = tmp_path / "sh_lldp_nei.txt"
    abbreviated.write_text(text.read_text())
    facts, report = parse_device(
        "leaf01", "cisco_ios", {text.name: text, abbreviated.name: abbreviated}
    )
    assert len(facts.neighbors) == 1
    assert [why for _, why in report.ignored] == [
        f"'show lldp neighbors' is read from {abbreviated}"
    ]


def test_one_command_with_other_arguments_is_another_output() -> None:
    """IOS routes saved per VRF (show ip route vrf cust10 / cust20), from a real 7206VXR."""
    lab = Path(__file__).parents[2] / "fixtures" / "real" / "ios" / "lab-validation"
    snapshot, report = parse_directory(lab)
    assert report.errors == [] and report.ignored == []
    vrfs = {(r.vrf, r.prefix) for r in snapshot.routes if r.vrf}
    assert vrfs == {("cust10", "1.1.2.10/32"), ("cust20", "1.1.2.20/32")}
    assert resolve_name("cisco_ios", "show_ip_route_vrf_cust10.txt").args == ("cust10",)
    # a VRF name with an underscore, in a name whose separators are underscores
    assert resolve_name("cisco_ios", "show_ip_route_vrf_vrf_100.txt").args == ("vrf_100",)
