"""The Kubernetes API as a source: every node, pod, service and EndpointSlice listed, then
watched, so that a change reaches the stored inventory as it happens.

The client is ``kubernetes_asyncio`` (the official client's asyncio port, generated from the
API's OpenAPI document): kubeconfig (a file and context) or the pod's service account, and
its ``Watch`` stream. For each kind:

- a list, a page (``limit``) at a time, whose ``resourceVersion`` the watch starts from;
- a watch from there, asking for bookmarks (``allowWatchBookmarks``) so that the version
  moves on while nothing changes, ended by the server every ``watch_timeout`` seconds and
  resumed from the last version seen;
- a ``410 Gone`` (the version is older than the server keeps) starts that kind again with a
  fresh list, which also drops whatever was deleted while the watch was away.

Every list and every event is bounded: at most ``max_objects`` objects of one kind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import ConfigException
from kubernetes_asyncio.watch import Watch

from network_discovery.k8s._model import (
    ClusterInventory,
    K8sObjectError,
    ObjectKey,
    build_inventory,
    object_key,
    slim,
)

__all__ = [
    "MAX_OBJECTS_PER_KIND",
    "ApiException",
    "ApiSource",
    "ConfigException",
    "open_api_client",
]

log = structlog.get_logger("meshq.k8s")

MAX_OBJECTS_PER_KIND = 200_000
_GONE = 410


async def open_api_client(
    *, kubeconfig: Path | None = None, context: str | None = None, in_cluster: bool = False
) -> k8s_client.ApiClient:
    """An API client from the pod's service account (``in_cluster``), else from a kubeconfig
    (``kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``) and its context."""
    configuration = k8s_client.Configuration()
    if in_cluster:
        k8s_config.load_incluster_config(client_configuration=configuration)
    else:
        await k8s_config.load_kube_config(
            config_file=str(kubeconfig) if kubeconfig is not None else None,
            context=context,
            client_configuration=configuration,
        )
    return k8s_client.ApiClient(configuration)


Lister = Callable[..., Awaitable[Any]]


def _reason(body: bytes, fallback: str | None) -> str:
    """The ``Status`` message of an error answer, else the HTTP reason."""
    try:
        status = json.loads(body)
    except ValueError:
        return str(fallback or "")
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])[:300]
    return str(fallback or "")


def _listers(api: k8s_client.ApiClient) -> dict[str, Lister]:
    core = k8s_client.CoreV1Api(api)
    discovery = k8s_client.DiscoveryV1Api(api)
    return {
        "Node": core.list_node,
        "Pod": core.list_pod_for_all_namespaces,
        "Service": core.list_service_for_all_namespaces,
        "EndpointSlice": discovery.list_endpoint_slice_for_all_namespaces,
    }


@dataclass
class _Kind:
    objects: dict[ObjectKey, Mapping[str, Any]] = field(default_factory=dict)
    version: str | None = None


class ApiSource:
    """One cluster's objects, kept current from the API."""

    def __init__(
        self,
        api: k8s_client.ApiClient,
        cluster: str,
        *,
        page_size: int = 500,
        watch_timeout: int = 300,
        max_objects: int = MAX_OBJECTS_PER_KIND,
    ) -> None:
        self.cluster = cluster
        self._listers = _listers(api)
        self._page_size, self._watch_timeout, self._max = page_size, watch_timeout, max_objects
        self._kinds = {kind: _Kind() for kind in self._listers}
        self._changed = asyncio.Event()
        #: Lists made, by kind (the first one and each re-list after a 410).
        self.lists: dict[str, int] = dict.fromkeys(self._listers, 0)

    def inventory(self) -> ClusterInventory:
        objects = [o for kind in self._kinds.values() for o in kind.objects.values()]
        versions = {k: v.version for k, v in self._kinds.items() if v.version is not None}
        return build_inventory(self.cluster, objects, source="api", resource_versions=versions)

    async def _list(self, kind: str) -> None:
        objects: dict[ObjectKey, Mapping[str, Any]] = {}
        token: str | None = None
        while True:
            args: dict[str, Any] = {"limit": self._page_size, "_preload_content": False}
            if token:
                args["_continue"] = token
            response = await self._listers[kind](**args)
            body = await response.read()
            if response.status >= 400:  # raw responses are not checked by the client
                raise ApiException(status=response.status, reason=_reason(body, response.reason))
            document = json.loads(body)
            for item in document.get("items") or ():
                item = slim({**item, "kind": kind})
                objects[object_key(item)] = item
                if len(objects) > self._max:
                    raise K8sObjectError(f"more than {self._max} {kind} objects")
            meta = document.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
        state = self._kinds[kind]
        state.objects, state.version = objects, meta.get("resourceVersion")
        self.lists[kind] += 1
        log.info("k8s.listed", cluster=self.cluster, kind=kind, objects=len(objects))
        self._changed.set()

    async def list_all(self) -> ClusterInventory:
        """Every kind listed once: the inventory as it stands."""
        for kind in self._kinds:
            await self._list(kind)
        return self.inventory()

    def _apply(self, kind: str, kind_event: str, raw: Mapping[str, Any]) -> None:
        state = self._kinds[kind]
        item = slim({**raw, "kind": kind})
        key = object_key(item)
        if kind_event == "DELETED":
            state.objects.pop(key, None)
        else:
            if key not in state.objects and len(state.objects) >= self._max:
                raise K8sObjectError(f"more than {self._max} {kind} objects")
            state.objects[key] = item
        version = (raw.get("metadata") or {}).get("resourceVersion")
        if version:
            state.version = version
        self._changed.set()

    async def watch_kind(self, kind: str, stop: asyncio.Event) -> None:
        """List ``kind`` (unless listed) and follow its changes until ``stop`` is set."""
        state = self._kinds[kind]
        while not stop.is_set():
            if state.version is None:
                await self._list(kind)
            watch = Watch(return_type="object")
            try:
                async for event in watch.stream(
                    self._listers[kind],
                    resource_version=state.version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self._watch_timeout,
                ):
                    if stop.is_set():
                        break
                    kind_event = event["type"]
                    if kind_event == "BOOKMARK":
                        state.version = watch.resource_version or state.version
                        continue
                    self._apply(kind, kind_event, event["raw_object"])
            except ApiException as exc:
                if exc.status != _GONE:
                    raise
                log.info("k8s.relist", cluster=self.cluster, kind=kind, reason="410 Gone")
                state.version = None  # too old: list again
            finally:
                await watch.close()

    async def follow(
        self,
        save: Callable[[ClusterInventory], Awaitable[None] | None],
        stop: asyncio.Event,
        *,
        settle: float = 1.0,
    ) -> None:
        """Watch every kind; after a change, and ``settle`` seconds without another, hand the
        inventory to ``save``. Returns when ``stop`` is set; a watch's error ends it."""
        watches = [
            asyncio.create_task(self.watch_kind(kind, stop), name=f"k8s-watch-{kind}")
            for kind in self._kinds
        ]
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                changed = asyncio.create_task(self._changed.wait())
                done, _ = await asyncio.wait(
                    [changed, stopping, *watches], return_when=asyncio.FIRST_COMPLETED
                )
                changed.cancel()
                for task in watches:
                    if task in done:
                        task.result()  # a watch that failed raises here
                if self._changed.is_set():
                    await asyncio.sleep(settle)
                    self._changed.clear()
                    if any(k.version is None for k in self._kinds.values()):
                        continue  # a list still under way
                    result = save(self.inventory())
                    if result is not None:
                        await result
        finally:
            stop.set()
            stopping.cancel()
            for task in watches:
                task.cancel()
            await asyncio.gather(*watches, stopping, return_exceptions=True)
