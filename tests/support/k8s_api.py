"""A Kubernetes API server for tests: nodes, pods, services and EndpointSlices, served the
way kube-apiserver serves them, for the product's own client (``kubernetes_asyncio``).

No kube-apiserver package runs here, so the server is built from the API's published schema
(the OpenAPI definitions, as JSON Schema in the ``kubernetes-validate`` package, strict, of
the newest Kubernetes it bundles): every object put into it is validated against its kind's
schema first, and every list it answers against the ``…List`` schema.

What it does, as the API does it:

- list (``GET /api/v1/pods`` …) with ``limit`` and ``continue`` pages, the list's
  ``metadata.resourceVersion`` the version of the whole store when the list began;
- get one object (``GET /api/v1/namespaces/{ns}/pods/{name}``), 404 as a ``Status``;
- watch (``?watch=true``) from ``resourceVersion``: the events after it, then each change as
  it happens; without one, an ``ADDED`` for every object first; ``allowWatchBookmarks``
  sends a ``BOOKMARK`` (an object with only ``metadata.resourceVersion``) every
  ``bookmark_every`` seconds; ``timeoutSeconds`` ends the stream; a version older than the
  oldest kept event (after ``compact()``) is answered with an ``ERROR`` event carrying a 410
  ``Status`` (Expired), as kube-apiserver does;
- ``Authorization: Bearer <token>`` required (401 ``Status`` otherwise).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
from aiohttp import web

__all__ = ["RESOURCES", "K8sApiServer", "kubeconfig", "running_api", "validate"]


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    plural: str
    namespaced: bool

    @property
    def base(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"


RESOURCES = {
    r.kind: r
    for r in (
        Resource("Node", "v1", "nodes", False),
        Resource("Pod", "v1", "pods", True),
        Resource("Service", "v1", "services", True),
        Resource("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", True),
    )
}


def validate(obj: dict[str, Any]) -> None:
    """``obj`` against its kind's schema (strict: no field the API does not define), in the
    newest Kubernetes version ``kubernetes-validate`` bundles; ``ValueError`` naming the fault."""
    try:
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        name = (obj.get("metadata") or {}).get("name")
        raise ValueError(f"{obj.get('kind')} {name}: {exc.message}") from None


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@dataclass
class _Event:
    version: int
    type: str
    obj: dict[str, Any]


@dataclass
class K8sApiServer:
    token: str = "test-token"
    bookmark_every: float = 0.2
    objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in RESOURCES}
    )
    events: dict[str, list[_Event]] = field(
        default_factory=lambda: {kind: [] for kind in RESOURCES}
    )
    version: int = 1
    #: Events at or below this version are forgotten: a watch from there gets 410.
    compacted: int = 0
    #: Requests seen, as (method, path, query string).
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    _changed: asyncio.Condition | None = None

    # -- the store ----------------------------------------------------------------------

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        async with self._condition():
            self._condition().notify_all()

    async def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace one object (validated against its kind's schema)."""
        resource = RESOURCES[obj["kind"]]
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = resource.api_version
        meta = obj.setdefault("metadata", {})
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        meta.setdefault("uid", f"uid-{resource.plural}-{meta.get('namespace', '')}-{meta['name']}")
        validate(obj)
        key = (meta.get("namespace", ""), meta["name"])
        kind_event = "MODIFIED" if key in self.objects[resource.kind] else "ADDED"
        self.objects[resource.kind][key] = obj
        self.events[resource.kind].append(_Event(self.version, kind_event, copy.deepcopy(obj)))
        await self._notify()
        return obj

    async def delete(self, kind: str, name: str, namespace: str = "") -> None:
        obj = self.objects[kind].pop((namespace, name))
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.events[kind].append(_Event(self.version, "DELETED", obj))
        await self._notify()

    def compact(self) -> None:
        """Forget every event so far: a watch from an older version gets 410 Gone."""
        self.compacted = self.version
        for kind in self.events:
            self.events[kind] = []

    # -- HTTP ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        for resource in RESOURCES.values():
            app.router.add_get(f"{resource.base}/{resource.plural}", self._collection(resource))
            if resource.namespaced:
                app.router.add_get(
                    f"{resource.base}/namespaces/{{namespace}}/{resource.plural}/{{name}}",
                    self._one(resource),
                )
            else:
                app.router.add_get(
                    f"{resource.base}/{resource.plural}/{{name}}", self._one(resource)
                )
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path, request.query_string))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(_status(401, "Unauthorized", "Unauthorized"), status=401)
        response: web.StreamResponse = await handler(request)
        return response

    def _one(self, resource: Resource) -> Any:
        async def get(request: web.Request) -> web.StreamResponse:
            key = (request.match_info.get("namespace", ""), request.match_info["name"])
            obj = self.objects[resource.kind].get(key)
            if obj is None:
                message = f'{resource.plural} "{key[1]}" not found'
                return web.json_response(_status(404, "NotFound", message), status=404)
            return web.json_response(obj)

        return get

    def _collection(self, resource: Resource) -> Any:
        async def collection(request: web.Request) -> web.StreamResponse:
            if request.query.get("watch", "").lower() in ("true", "1"):
                return await self._watch(resource, request)
            return self._list(resource, request)

        return collection

    def _list(self, resource: Resource, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit") or 0)
        token = request.query.get("continue")
        if token:
            start, version = (int(x) for x in token.split(":"))
        else:
            start, version = 0, self.version
        keys = sorted(self.objects[resource.kind])
        end = len(keys) if limit <= 0 else start + limit
        items = []
        for key in keys[start:end]:
            item = copy.deepcopy(self.objects[resource.kind][key])
            item.pop("kind", None)  # a typed list's items name no kind
            item.pop("apiVersion", None)
            items.append(item)
        meta: dict[str, Any] = {"resourceVersion": str(version)}
        if end < len(keys):
            meta["continue"] = f"{end}:{version}"
        body = {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": meta,
            "items": items,
        }
        validate(body)
        return web.json_response(body)

    async def _watch(self, resource: Resource, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            await self._stream(resource, request, response)
        except ConnectionResetError:  # the client went away: so does the watch
            pass
        return response

    async def _stream(
        self, resource: Resource, request: web.Request, response: web.StreamResponse
    ) -> None:
        timeout = float(request.query.get("timeoutSeconds") or 3600)
        bookmarks = request.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        deadline = asyncio.get_running_loop().time() + timeout
        raw = request.query.get("resourceVersion")

        async def send(kind_event: str, obj: dict[str, Any]) -> None:
            line = json.dumps({"type": kind_event, "object": obj}) + "\n"
            await response.write(line.encode())

        if raw and int(raw) < self.compacted:
            await send("ERROR", _status(410, "Expired", f"too old resource version: {raw}"))
            return
        if not raw:
            after = self.version
            for key in sorted(self.objects[resource.kind]):
                await send("ADDED", self.objects[resource.kind][key])
        else:
            after = int(raw)
        loop = asyncio.get_running_loop()
        last_bookmark = loop.time()
        while loop.time() < deadline:
            for event in self.events[resource.kind]:
                if event.version > after:
                    await send(event.type, event.obj)
                    after = event.version
            if bookmarks and loop.time() - last_bookmark >= self.bookmark_every:
                after = max(after, self.version)
                mark = {
                    "kind": resource.kind,
                    "apiVersion": resource.api_version,
                    "metadata": {"resourceVersion": str(after)},
                }
                await send("BOOKMARK", mark)
                last_bookmark = loop.time()
            wait = min(deadline - loop.time(), self.bookmark_every if bookmarks else 1.0)
            if wait <= 0:
                break
            async with self._condition():
                try:
                    await asyncio.wait_for(self._condition().wait(), wait)
                except TimeoutError:
                    pass


def kubeconfig(path: Path, url: str, token: str, *, context: str = "test") -> Path:
    """A kubeconfig naming the server at ``url`` with a bearer token."""
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": url}}],
                "users": [{"name": "reader", "user": {"token": token}}],
                "contexts": [{"name": context, "context": {"cluster": "test", "user": "reader"}}],
                "current-context": context,
            }
        )
    )
    return path


@asynccontextmanager
async def running_api(server: K8sApiServer) -> AsyncIterator[str]:
    """The server on a free loopback port; yields its URL."""
    runner = web.AppRunner(server.app(), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
