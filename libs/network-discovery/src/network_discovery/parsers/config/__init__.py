"""Device configurations read as a source of the facts that ``show`` output gives
(interfaces, addresses, VLANs, connected and static routes), beside their firewall policy."""

from network_discovery.parsers.config._ios import read_ios_config

__all__ = ["read_ios_config"]
