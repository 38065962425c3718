"""The graph as an Ansible inventory: JSON (the dynamic-inventory script format) and INI."""

from network_discovery.integrations.ansible._inventory import (
    NETWORK_OS,
    build_inventory,
    group_name,
    to_ini,
)

__all__ = ["NETWORK_OS", "build_inventory", "group_name", "to_ini"]
