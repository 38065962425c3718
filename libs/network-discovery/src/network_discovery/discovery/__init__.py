"""Live discovery: collecting from devices over SSH (and SNMP), crawling from seeds, and
publishing one snapshot per run through the ingest path.

- :mod:`.inventory` (and :mod:`.credentials`, :mod:`.netbox_source`): what to collect from,
  and how to log in; secrets only by reference (environment variable or file).
- :mod:`.ssh`: one device over SSH (asyncssh, driven by the device's prompt), the commands
  ingest understands.
- :mod:`.run`: the run: global concurrency, retries, crawling within allowed networks and a
  hop limit, the plan's device limit, and the snapshot.
"""

from network_discovery.discovery._secrets import CredentialError, Secret, SecretRef
from network_discovery.discovery.credentials import Credentials, credentials_from_mapping
from network_discovery.discovery.inventory import (
    Inventory,
    InventoryError,
    Target,
    load_inventory,
    parse_inventory,
)
from network_discovery.discovery.netbox_source import (
    NetBoxSource,
    netbox_targets,
    resolve_inventory,
)
from network_discovery.discovery.plan import commands_for, guess_platform
from network_discovery.discovery.result import (
    DeviceResult,
    DeviceStatus,
    RunSummary,
    SkippedAddress,
)
from network_discovery.discovery.run import (
    DeviceLimitError,
    DiscoveryOptions,
    build_snapshot,
    collectors,
    discover,
    is_allowed,
    parse_networks,
    save_outputs,
)
from network_discovery.discovery.ssh import collect_ssh

__all__ = [
    "CredentialError",
    "Credentials",
    "DeviceLimitError",
    "DeviceResult",
    "DeviceStatus",
    "DiscoveryOptions",
    "Inventory",
    "InventoryError",
    "NetBoxSource",
    "RunSummary",
    "Secret",
    "SecretRef",
    "SkippedAddress",
    "Target",
    "build_snapshot",
    "collect_ssh",
    "collectors",
    "commands_for",
    "credentials_from_mapping",
    "discover",
    "guess_platform",
    "is_allowed",
    "load_inventory",
    "netbox_targets",
    "parse_inventory",
    "parse_networks",
    "resolve_inventory",
    "save_outputs",
]
