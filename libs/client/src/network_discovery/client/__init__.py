"""The client of the MeshOptixIQ REST API (the query gateway): the one way the ``meshq``
commands, the MCP server and the Ansible inventory script reach a running stack.

    from network_discovery.client import ApiError, MeshqClient

    with MeshqClient.from_env() as api:          # --api-url/--api-key, env, or meshq serve
        for query in api.list_queries():
            print(query["name"])
        try:
            api.run_query("all_devices", {"managed_only": True})
        except ApiError as exc:                   # the gateway's problem+json, read once
            print(exc.status, exc.detail, exc.fields)

:class:`AsyncMeshqClient` has the same calls for asyncio. Where the gateway is comes from
:func:`resolve_settings`: what the caller passes, else ``MESHOPTIXIQ_API_URL`` /
``MESHOPTIXIQ_API_KEY``, else the endpoints file ``meshq serve`` writes; with none of them, or
nothing answering, a :class:`StackNotFound` says what to set.
"""

from network_discovery.client._async import AsyncMeshqClient
from network_discovery.client._core import Probe
from network_discovery.client._errors import (
    ApiError,
    ClientError,
    FieldError,
    StackNotFound,
    UnexpectedAnswer,
)
from network_discovery.client._models import (
    NetboxSyncReceipt,
    PatchReceipt,
    ReplayCounts,
    SnapshotReceipt,
    SnapshotResult,
    SnapshotStatus,
)
from network_discovery.client._settings import (
    API_KEY_ENV,
    API_URL_ENV,
    ClientSettings,
    endpoints_file,
    locate,
    read_endpoints,
    resolve_settings,
)
from network_discovery.client._sync import MeshqClient

__all__ = [
    "API_KEY_ENV",
    "API_URL_ENV",
    "ApiError",
    "AsyncMeshqClient",
    "ClientError",
    "ClientSettings",
    "FieldError",
    "MeshqClient",
    "NetboxSyncReceipt",
    "PatchReceipt",
    "Probe",
    "ReplayCounts",
    "SnapshotReceipt",
    "SnapshotResult",
    "SnapshotStatus",
    "StackNotFound",
    "UnexpectedAnswer",
    "endpoints_file",
    "locate",
    "read_endpoints",
    "resolve_settings",
]
