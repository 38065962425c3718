"""How a device is managed, from its configuration: the settings hardening baselines check
(NTP and logging servers, AAA servers, SNMP versions, the remote-access services that are
on, the SSH version, a login banner).

Secrets are never kept: an SNMP community or a key says only that its version is in use.
What a configuration leaves at the platform's default is reported as the default only where
the default is the same on every release (SSH on NX-OS and EOS); elsewhere it is left
unknown rather than guessed.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from network_discovery.parsers.config._blocks import config_blocks
from network_discovery.parsers.config._junos import junos_set_form

__all__ = ["management_settings"]

#: At most this many values per setting (a configuration listing more is not a hardening
#: baseline's concern, and the device record stays small).
MAX_VALUES = 64


def _host(word: str) -> str | None:
    """An address or a host name as a server is named; a keyword is not one."""
    text = word.strip('"')
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}", text) and "." in text:
        return text.lower()
    return None


def _first_host(words: list[str]) -> str | None:
    skip = {"vrf", "use-vrf"}
    i = 0
    while i < len(words):
        if words[i] in skip:
            i += 2
            continue
        found = _host(words[i])
        if found is not None:
            return found
        i += 1
    return None


class _Found:
    def __init__(self) -> None:
        self.ntp: list[str] = []
        self.logging: list[str] = []
        self.aaa: list[str] = []
        self.snmp: set[str] = set()
        self.access: set[str] = set()
        self.ssh_version: int | None = None
        self.banner = False

    @staticmethod
    def add(values: list[str], value: str | None) -> None:
        if value is not None and value not in values and len(values) < MAX_VALUES:
            values.append(value)

    def fields(self) -> dict[str, Any]:
        return {
            "ntp_servers": tuple(self.ntp),
            "logging_hosts": tuple(self.logging),
            "aaa_servers": tuple(self.aaa),
            "snmp_versions": tuple(sorted(self.snmp)),
            "remote_access": tuple(sorted(self.access)),
            "ssh_version": self.ssh_version,
            "login_banner": self.banner,
            "settings_source": "configuration",
        }


def _ios_like(text: str, platform: str) -> _Found:
    found = _Found()
    if platform in ("cisco_nxos", "arista_eos"):
        found.access.add("ssh")  # on unless "no feature ssh" / "management ssh / shutdown"
    for block in config_blocks(text):
        words = block.words
        children = [c.split() for _, c in block.children]
        head = words[:2]
        if words[0] == "ntp" and words[1:2] == ["server"]:
            found.add(found.ntp, _first_host(words[2:]))
        elif words[0] == "logging" and words[1:2] in (["host"], ["server"]):
            found.add(found.logging, _first_host(words[2:]))
        elif words[0] == "logging" and words[1:2] == ["vrf"] and "host" in words:
            found.add(found.logging, _first_host(words[words.index("host") + 1 :]))
        elif words[0] == "logging" and len(words) >= 2 and _host(words[1]):
            found.add(found.logging, _host(words[1]))  # IOS "logging 10.1.1.1"
        elif head in (["tacacs-server", "host"], ["radius-server", "host"]):
            found.add(found.aaa, _first_host(words[2:]))
        elif head in (["tacacs", "server"], ["radius", "server"]):
            for child in children:
                if child[:1] == ["address"]:
                    found.add(found.aaa, _first_host(child[1:]))
        elif words[0] == "snmp-server" and words[1:2] == ["community"]:
            found.snmp.add("v2c")
        elif words[0] == "snmp-server" and words[1:2] in (["user"], ["group"]):
            if "v3" in words or platform == "cisco_nxos":
                found.snmp.add("v3")
            elif "v2c" in words or "v1" in words:
                found.snmp.add("v2c")
        elif words[:3] == ["ip", "ssh", "version"] and words[3:4] and words[3].isdigit():
            found.ssh_version = int(words[3])
        elif words[:3] == ["ip", "http", "server"]:
            found.access.add("http")
        elif words[:3] == ["ip", "http", "secure-server"]:
            found.access.add("https")
        elif words[:2] == ["feature", "telnet"]:
            found.access.add("telnet")
        elif words[:2] == ["feature", "nxapi"]:
            found.access.add("https")
        elif words[:3] == ["no", "feature", "ssh"]:
            found.access.discard("ssh")
        elif words[:2] == ["management", "telnet"] and ["no", "shutdown"] in children:
            found.access.add("telnet")
        elif words[:2] == ["management", "ssh"] and ["shutdown"] in children:
            found.access.discard("ssh")
        elif words[:3] == ["management", "api", "http-commands"]:
            if ["no", "shutdown"] in children:
                found.access.add("https")
        elif words[0] == "banner" and len(words) >= 2 and words[1] in ("motd", "login", "exec"):
            found.banner = True
        elif words[:2] == ["line", "vty"]:
            for child in children:
                if child[:2] == ["transport", "input"]:
                    methods = set(child[2:])
                    if methods & {"telnet", "all"}:
                        found.access.add("telnet")
                    if methods & {"ssh", "all"}:
                        found.access.add("ssh")
    return found


def _junos(text: str) -> _Found:
    found = _Found()
    for _, words in junos_set_form(text).statements():
        if words[:3] == ["system", "ntp", "server"] and words[3:]:
            found.add(found.ntp, _host(words[3]))
        elif words[:3] == ["system", "syslog", "host"] and words[3:]:
            found.add(found.logging, _host(words[3]))
        elif words[:2] in (["system", "tacplus-server"], ["system", "radius-server"]):
            if words[2:]:
                found.add(found.aaa, _host(words[2]))
        elif words[:2] == ["snmp", "community"]:
            found.snmp.add("v2c")
        elif words[:2] == ["snmp", "v3"]:
            found.snmp.add("v3")
        elif words[:3] == ["system", "services", "ssh"]:
            found.access.add("ssh")
            if words[3:5] == ["protocol-version", "v2"]:
                found.ssh_version = 2
        elif words[:3] == ["system", "services", "telnet"]:
            found.access.add("telnet")
        elif words[:4] == ["system", "services", "web-management", "http"]:
            found.access.add("http")
        elif words[:4] == ["system", "services", "web-management", "https"]:
            found.access.add("https")
        elif words[:3] in (["system", "login", "message"], ["system", "login", "announcement"]):
            found.banner = True
    return found


def management_settings(text: str, platform: str) -> dict[str, Any]:
    """The device fields a configuration gives about how the device is managed."""
    found = _junos(text) if platform == "juniper_junos" else _ios_like(text, platform)
    return found.fields()
