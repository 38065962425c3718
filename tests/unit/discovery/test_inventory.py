"""Inventories (ours and Ansible's), credentials by reference, and the command plan."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from network_discovery.discovery import (
    CredentialError,
    InventoryError,
    SecretRef,
    commands_for,
    guess_platform,
    load_inventory,
    parse_inventory,
)
from network_discovery.discovery.plan import is_unsupported_output
from support.ansible_run import listing

OURS = """
credentials:
  lab: {username: netops, password_env: LAB_PW}
  core: {username_env: CORE_USER, password_file: /run/secrets/core}
defaults: {credentials: lab, port: 2222}
hosts:
  core1: {address: 10.0.0.1, platform: arista_eos, credentials: core, role: core, site: hq}
  acc1: {address: 10.0.0.2, platform: cisco_ios}
  sw9: {platform: juniper_junos, port: 22}
"""


def test_our_yaml_inventory() -> None:
    inv = parse_inventory(OURS, "inv.yaml")
    by_name = {t.name: t for t in inv.targets}
    assert set(by_name) == {"core1", "acc1", "sw9"}
    core = by_name["core1"]
    assert (core.address, core.platform, core.port) == ("10.0.0.1", "arista_eos", 2222)
    assert core.credentials.password == SecretRef(file=Path("/run/secrets/core"))
    assert core.credentials.username_ref == SecretRef(env="CORE_USER")
    assert dict(core.meta) == {"role": "core", "site": "hq"}
    assert by_name["acc1"].credentials.password == SecretRef(env="LAB_PW")
    assert by_name["sw9"].address == "sw9" and by_name["sw9"].port == 22  # a DNS name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "credentials: {lab: {username: u, password: hunter2}}\n"
            "hosts: {a: {address: 10.0.0.1, platform: cisco_ios, credentials: lab}}",
            "'password' is written in clear text, which is refused; give password_env",
        ),
        (
            "hosts: {a: {address: 10.0.0.1, platform: cisco_ios, password: hunter2}}",
            "'password' is written in clear text",
        ),
        (
            "credentials: {s: {snmp_version: '3', snmp_user: m, snmp_auth_key: k}}\n"
            "hosts: {a: {address: 10.0.0.1, transport: snmp, credentials: s}}",
            "'snmp_auth_key' is written in clear text",
        ),
        (
            "hosts: {a: {address: 10.0.0.1, platform: cisco_ios, credentials: nope}}",
            "credentials 'nope' are not defined",
        ),
        ("hosts: {a: {address: 10.0.0.1}}", "platform is required for SSH"),
        ("hosts: {a: {address: 10.0.0.1, platform: vyos}}", "platform 'vyos' is not one of"),
        ("hosts: {a: {address: 10.0.0.1, platform: cisco_ios, port: 0}}", "port must be"),
        ("hosts: {a: {address: 'not an address!', platform: cisco_ios}}", "not an IP address"),
        ("hosts: {a: {address: 10.0.0.1, platform: cisco_ios, colour: red}}", "unknown key"),
        ("just: text", "not an inventory"),
    ],
)
def test_bad_inventories_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=r"^inv\.yaml") as info:
        parse_inventory(text, "inv.yaml")
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


def test_a_host_listed_twice_and_an_unreadable_file(tmp_path: Path) -> None:
    file = tmp_path / "inv.yaml"
    file.write_text(
        "hosts:\n  a: {address: 10.0.0.1, platform: cisco_ios, hostname: x}\n"
        "  b: {address: 10.0.0.2, platform: cisco_ios, hostname: x}\n"
    )
    with pytest.raises(InventoryError, match="'x' is listed twice"):
        load_inventory(file)
    with pytest.raises(InventoryError, match="cannot read"):
        load_inventory(tmp_path / "missing.yaml")


ANSIBLE_INI = """
# network devices
[access]
acc1 ansible_host=10.0.0.12
acc2 ansible_host=10.0.0.13 ansible_port=2222

[core]
core1 ansible_host=10.0.0.11 ansible_network_os=arista.eos.eos meshq_role=core

[switches:children]
access
core

[access:vars]
ansible_network_os=cisco.ios.ios

[all:vars]
ansible_user=netops
ansible_password="{{ lookup('env', 'LAB_PW') }}"

[servers]
web1 ansible_host=10.0.0.5
"""

ANSIBLE_YAML = """
all:
  vars:
    ansible_user: netops
    meshq_password_file: /run/secrets/lab
  children:
    core:
      hosts:
        core1: {ansible_host: 10.0.0.11, ansible_network_os: eos}
    access:
      vars: {ansible_network_os: ios}
      hosts:
        acc1: {ansible_host: 10.0.0.12}
        acc2:
          ansible_host: 10.0.0.13
          ansible_network_os: nxos
          ansible_password: "{{ lookup('file', '/run/secrets/acc2') }}"
    servers:
      hosts:
        web1: {ansible_host: 10.0.0.5}
"""


def test_ansible_ini_inventory() -> None:
    inv = parse_inventory(ANSIBLE_INI, "hosts.ini")
    by_name = {t.name: t for t in inv.targets}
    assert {n: (t.address, t.platform, t.port) for n, t in by_name.items()} == {
        "acc1": ("10.0.0.12", "cisco_ios", None),
        "acc2": ("10.0.0.13", "cisco_ios", 2222),
        "core1": ("10.0.0.11", "arista_eos", None),
    }
    assert by_name["core1"].meta == {"role": "core"}
    assert all(t.credentials.password == SecretRef(env="LAB_PW") for t in inv.targets)
    assert all(t.credentials.username == "netops" for t in inv.targets)
    assert inv.skipped == ("web1: no ansible_network_os",)


def test_ansible_yaml_inventory() -> None:
    inv = parse_inventory(ANSIBLE_YAML, "hosts.yml")
    by_name = {t.name: t for t in inv.targets}
    assert {n: t.platform for n, t in by_name.items()} == {
        "core1": "arista_eos",
        "acc1": "cisco_ios",
        "acc2": "cisco_nxos",  # the host's own variable wins over its group's
    }
    assert by_name["acc1"].credentials.password == SecretRef(file=Path("/run/secrets/lab"))
    assert by_name["acc2"].credentials.password == SecretRef(file=Path("/run/secrets/lab"))
    assert inv.skipped == ("web1: no ansible_network_os",)


def test_ansible_clear_text_password_is_refused() -> None:
    text = "[sw]\nacc1 ansible_host=10.0.0.1 ansible_network_os=ios ansible_password=hunter2\n"
    with pytest.raises(InventoryError, match="ansible_password is written in clear text") as info:
        parse_inventory(text, "hosts.ini")
    assert "hunter2" not in str(info.value)


def test_secret_refs_resolve_and_never_show(tmp_path: Path) -> None:
    secret = SecretRef(env="X_PW").resolve({"X_PW": "s3cr3t"})
    assert secret.reveal() == "s3cr3t"
    assert (
        "s3cr3t" not in repr(secret) and "s3cr3t" not in str(secret) and "s3cr3t" not in f"{secret}"
    )
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(CredentialError, match="environment variable X_PW is not set"):
        SecretRef(env="X_PW").resolve({})
    file = tmp_path / "pw"
    file.write_text("from-file\n")
    assert SecretRef(file=file).resolve({}).reveal() == "from-file"
    with pytest.raises(CredentialError, match="cannot read secret file"):
        SecretRef(file=tmp_path / "none").resolve({})


def test_command_plan_follows_what_ingest_understands() -> None:
    ios = commands_for("cisco_ios")
    assert "show lldp neighbors detail" in ios and "show lldp neighbors" not in ios
    assert "show cdp neighbors detail" in ios and "show mac address-table" in ios
    junos = commands_for("juniper_junos")
    assert "show lldp neighbors" in junos and "show lldp neighbors interface" not in junos
    assert "show ip interface" not in commands_for("cisco_nxos")
    assert guess_platform("Arista Networks EOS version 4.30.2F") == "arista_eos"
    assert guess_platform(None, "cisco N9K-C93180YC-EX", "Cisco Nexus Operating System") == (
        "cisco_nxos"
    )
    assert guess_platform("Juniper Networks, Inc. mx204") == "juniper_junos"
    assert guess_platform("Cisco IOS Software, C2960X Software") == "cisco_ios"
    assert guess_platform("Linux 6.1") is None
    assert is_unsupported_output("          ^\n% Invalid input detected at '^' marker.\n")
    assert is_unsupported_output("% Invalid command at '^' marker")
    assert not is_unsupported_output("Port  Name  Status\nGi1/0/1 x connected")


@pytest.mark.parametrize(
    ("text", "name"), [(ANSIBLE_INI, "hosts.ini"), (ANSIBLE_YAML, "hosts.yml")]
)
def test_ansible_inventories_read_as_ansible_reads_them(
    text: str, name: str, tmp_path: Path
) -> None:
    """ansible-inventory itself (ansible-core) is the reference for hosts and variables."""
    file = tmp_path / name
    file.write_text(text)
    listed = listing(file, tmp_path, env={"ANSIBLE_INVENTORY_ENABLED": "ini,yaml"})
    hostvars = listed["_meta"]["hostvars"]
    ours = {t.name: t for t in parse_inventory(text, name).targets}
    with_os = {h for h, v in hostvars.items() if v.get("ansible_network_os")}
    assert set(ours) == with_os
    for host, target in ours.items():
        assert target.address == hostvars[host]["ansible_host"]
        assert str(target.port) == str(hostvars[host].get("ansible_port", "None"))
        assert target.credentials.username == hostvars[host]["ansible_user"]
