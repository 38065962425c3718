"""Firewall policy from configurations: iptables-save, Cisco ASA and IOS/IOS-XE running
configurations, Juniper SRX ``display set`` output. Each parser reads the whole text, keeps
what it understands, and reports every line it could not read with its line number."""

from network_discovery.parsers.firewall._asa import parse_asa
from network_discovery.parsers.firewall._common import PolicyResult
from network_discovery.parsers.firewall._ios import parse_ios_acls
from network_discovery.parsers.firewall._iptables import parse_iptables
from network_discovery.parsers.firewall._srx import parse_srx

__all__ = ["PolicyResult", "parse_asa", "parse_ios_acls", "parse_iptables", "parse_srx"]
