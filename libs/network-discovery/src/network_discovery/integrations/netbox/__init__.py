"""NetBox sync: the REST client, pull (metadata and declared cables into the graph), push
(discovered devices into NetBox), and the plan both share between dry and real runs."""

from network_discovery.integrations.netbox._client import NetBoxClient, WriteResult
from network_discovery.integrations.netbox._errors import (
    FieldError,
    NetBoxError,
    NetBoxUnavailable,
    NetBoxValidationError,
)
from network_discovery.integrations.netbox._graph import GraphError, GraphReader
from network_discovery.integrations.netbox._owner import OVERWRITABLE
from network_discovery.integrations.netbox._plan import Plan
from network_discovery.integrations.netbox._push import PushDefaults
from network_discovery.integrations.netbox.sync import SyncOptions, SyncResult, run_sync

__all__ = [
    "OVERWRITABLE",
    "FieldError",
    "GraphError",
    "GraphReader",
    "NetBoxClient",
    "NetBoxError",
    "NetBoxUnavailable",
    "NetBoxValidationError",
    "Plan",
    "PushDefaults",
    "SyncOptions",
    "SyncResult",
    "WriteResult",
    "run_sync",
]
