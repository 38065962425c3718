"""Device configurations read as a source of the facts that ``show`` output gives
(interfaces, addresses, VLANs, connected and static routes), beside their firewall policy."""

from network_discovery.parsers.config._eos import read_eos_config
from network_discovery.parsers.config._ios import read_ios_config
from network_discovery.parsers.config._junos import junos_set_form, read_junos_config
from network_discovery.parsers.config._nxos import read_nxos_config

__all__ = [
    "junos_set_form",
    "read_eos_config",
    "read_ios_config",
    "read_junos_config",
    "read_nxos_config",
]
