"""How a device is managed, read from real configurations (the settings hardening baselines
check): NTP, logging and AAA servers, SNMP versions, remote access, SSH version, banner.
Secrets never reach the device record."""

from __future__ import annotations

from pathlib import Path

from network_discovery.parsers._device import parse_device
from network_discovery.parsers.config._management import management_settings

REAL = Path(__file__).parents[2] / "fixtures" / "real"


def _device(folder: Path, platform: str, file: str):  # type: ignore[no-untyped-def]
    facts, report = parse_device(folder.name, platform, {file: folder / file})
    assert report.errors == []
    assert facts.record is not None
    return facts.record


def test_ios_routers_of_the_campus() -> None:
    lab = REAL / "ios" / "example-network"
    border2 = _device(lab / "as1border2", "cisco_ios", "show running-config.txt")
    assert border2.settings_source == "configuration"
    assert border2.ntp_servers == ("18.18.18.18", "23.23.23.23")
    assert (border2.ssh_version, border2.remote_access) == (2, ("ssh",))  # vty: ssh only
    assert border2.snmp_versions == () and border2.aaa_servers == ()
    core = _device(lab / "as1core1", "cisco_ios", "show running-config.txt")
    assert core.logging_hosts == ("1.1.1.1", "2.2.2.2")
    assert core.login_banner is False


def test_nxos_snmp_user_is_v3_and_its_key_is_not_kept() -> None:
    folder = REAL / "nxos" / "configs" / "nxos_static_route" / "D1"
    record = _device(folder, "cisco_nxos", "show_running-config.txt")
    assert record.snmp_versions == ("v3",)
    assert "ssh" in record.remote_access  # on by default on NX-OS
    assert "0x5e4b7d7e" not in record.model_dump_json()


def test_eos_ntp_in_a_vrf_and_its_api() -> None:
    folder = REAL / "eos" / "configs" / "eos_evpn_l3_design_guide" / "DC1-LEAF2A"
    record = _device(folder, "arista_eos", "show_running-config.txt")
    assert record.ntp_servers == ("0.north-america.pool.ntp.org", "1.north-america.pool.ntp.org")
    assert record.remote_access == ("https", "ssh")  # eAPI on; SSH on by default


def test_junos_services() -> None:
    folder = REAL / "junos" / "configs" / "juniper_resolution" / "r1"
    record = _device(folder, "juniper_junos", "show_configuration_|_display_set.txt")
    assert record.remote_access == ("ssh",)
    assert record.logging_hosts == ()  # syslog to files and users only


def test_the_forms_each_platform_writes() -> None:
    ios = management_settings(
        "\n".join(
            [
                "tacacs server T1",
                " address ipv4 10.9.9.9",
                "radius-server host 10.8.8.8 key 7 0822455D0A16",
                "snmp-server community s3cr3t RO",
                "ip http server",
                "logging 10.7.7.7",
                "banner motd ^C keep out ^C",
                "line vty 0 4",
                " transport input telnet ssh",
            ]
        ),
        "cisco_ios",
    )
    assert ios["aaa_servers"] == ("10.9.9.9", "10.8.8.8")
    assert ios["snmp_versions"] == ("v2c",)
    assert ios["remote_access"] == ("http", "ssh", "telnet")
    assert ios["logging_hosts"] == ("10.7.7.7",)
    assert ios["login_banner"] is True
    assert "s3cr3t" not in repr(ios) and "0822455D0A16" not in repr(ios)
    junos = management_settings(
        "\n".join(
            [
                "set system ntp server 192.0.2.1",
                "set system syslog host 192.0.2.2 any any",
                "set system tacplus-server 192.0.2.3 secret abc",
                "set snmp community public authorization read-only",
                "set system services telnet",
                "set system services ssh protocol-version v2",
                'set system login message "authorised use only"',
            ]
        ),
        "juniper_junos",
    )
    assert junos["ntp_servers"] == ("192.0.2.1",)
    assert junos["logging_hosts"] == ("192.0.2.2",)
    assert junos["aaa_servers"] == ("192.0.2.3",)
    assert junos["snmp_versions"] == ("v2c",)
    assert junos["remote_access"] == ("ssh", "telnet")
    assert (junos["ssh_version"], junos["login_banner"]) == (2, True)
    eos = management_settings(
        "management telnet\n   no shutdown\nmanagement ssh\n   shutdown\n", "arista_eos"
    )
    assert eos["remote_access"] == ("telnet",)
