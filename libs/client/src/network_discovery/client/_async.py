"""The asyncio client of the REST API (the MCP server); the same calls as :class:`MeshqClient`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from network_discovery.client import _core as core
from network_discovery.client._core import Direction, Export, Probe, ProbePath
from network_discovery.client._models import (
    NetboxSyncReceipt,
    PatchReceipt,
    ReplayCounts,
    SnapshotReceipt,
    SnapshotStatus,
)
from network_discovery.client._settings import DEFAULT_TIMEOUT, ClientSettings, resolve_settings

__all__ = ["AsyncMeshqClient"]

T = TypeVar("T")


class AsyncMeshqClient:
    """Calls of the REST API with one credential, for asyncio; every refusal is an
    :class:`~network_discovery.client.ApiError`, a gateway that does not answer a
    :class:`~network_discovery.client.StackNotFound`.

    ``http`` is an ``httpx.AsyncClient`` to send with, shared by many clients when each caller
    brings its own credential (the MCP server over HTTP); the client closes only one it made.
    """

    def __init__(self, settings: ClientSettings, *, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._own = http is None
        self._http = (
            http
            if http is not None
            else httpx.AsyncClient(timeout=settings.timeout or DEFAULT_TIMEOUT)
        )

    @classmethod
    def from_env(
        cls,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> AsyncMeshqClient:
        """A client of the gateway that the arguments, the environment or ``meshq serve``'s
        endpoints file names (:func:`~network_discovery.client.resolve_settings`)."""
        return cls(resolve_settings(api_url, api_key, timeout=timeout), http=http)

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncMeshqClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- sending ----------------------------------------------------------------------------------

    async def _send(
        self, call: core.Call[Any], content: Any = None, *, stream: bool = False
    ) -> Any:
        try:
            request = call.request(self._http, self.settings, content)
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise core.unreachable(self.settings, exc) from exc
        try:
            if not stream or (response.status_code >= 400 and not call.probe):
                await response.aread()
        except httpx.HTTPError as exc:
            await response.aclose()
            raise core.unreachable(self.settings, exc) from exc
        error = None if call.probe else core.refused(response)
        if error is not None:
            await response.aclose()
            raise error
        return response

    async def _call(self, call: core.Call[T], content: Any = None) -> T:
        return call.read(await self._send(call, content))

    # -- queries ----------------------------------------------------------------------------------

    async def list_queries(self) -> list[dict[str, Any]]:
        """``GET /queries``: the catalogue this credential may see."""
        return await self._call(core.list_queries())

    async def run_query(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``POST /queries/{name}``: its rows (a page of ``limit``, from ``cursor``)."""
        return await self._call(core.run_query(name, params, limit, cursor))

    async def license(self) -> dict[str, Any]:
        """``GET /license``: the plan, its status and feature flags."""
        return await self._call(core.license_state())

    async def ansible_inventory(self) -> dict[str, Any]:
        """``GET /inventory/ansible``: the dynamic-inventory JSON (``_meta.hostvars``)."""
        return await self._call(core.ansible_inventory())

    async def ansible_inventory_text(self, fmt: Literal["json", "ini"] = "json") -> str:
        """The Ansible inventory as the gateway wrote it (JSON or INI), to save as a file."""
        return await self._call(core.ansible_inventory_text(fmt))

    async def chaos_simulate(self, scenario: str, target: str, *, depth: int = 3) -> dict[str, Any]:
        """``POST /graph/chaos-simulate``: the blast radius of one failure."""
        return await self._call(core.chaos_simulate(scenario, target, depth))

    async def whatif(self, changes: list[Mapping[str, Any]]) -> dict[str, Any]:
        """``POST /graph/whatif``: what a change set would break (the graph is not changed)."""
        return await self._call(core.whatif(changes))

    # -- snapshots --------------------------------------------------------------------------------

    async def list_snapshots(self) -> list[dict[str, Any]]:
        """``GET /snapshots``: applied snapshots, newest first, with their diff summary."""
        return await self._call(core.list_snapshots())

    async def snapshot_diff(self, a: str, b: str) -> dict[str, Any]:
        """``GET /snapshots/{a}/diff/{b}``: the facts that differ."""
        return await self._call(core.snapshot_diff(a, b))

    async def submit_snapshot(
        self, body: bytes | Iterable[bytes] | AsyncIterable[bytes], *, gzip: bool = True
    ) -> SnapshotReceipt:
        """``POST /snapshots``: hand a snapshot (its JSON, whole or in chunks, sync or async)
        to the gateway; gzip-compressed chunk by chunk unless ``gzip=False``, so a large one is
        streamed and never held whole. The receipt names where its outcome is read."""
        call = core.submit_snapshot(gzip)
        chunks: AsyncIterable[bytes]
        if isinstance(body, AsyncIterable):
            chunks = body
        elif not gzip and isinstance(body, (bytes, bytearray, memoryview)):
            return await self._call(call, bytes(body))
        else:
            chunks = core.as_async(core.pieces(body))
        return await self._call(call, core.agzip(chunks) if gzip else chunks)

    async def submit_patches(self, patches: list[Mapping[str, Any]]) -> PatchReceipt:
        """``POST /snapshots/patches``: queue device metadata patches (site, tenant, rack,
        role, criticality, tags, NetBox ids), at most 10,000 per call."""
        return await self._call(core.submit_patches(patches))

    async def snapshot_status(self, snapshot_id: str, *, wait: float = 0) -> SnapshotStatus:
        """``GET /snapshots/{id}``; with ``wait`` (up to 60 s) the gateway answers as soon as
        the snapshot is applied or rejected, or when the wait is over."""
        return await self._call(core.snapshot_status(snapshot_id, wait, self.settings.timeout))

    async def wait_for_snapshot(self, snapshot_id: str, timeout: float = 300.0) -> SnapshotStatus:
        """Poll until the snapshot is applied or rejected; ``TimeoutError`` after ``timeout``
        seconds with it still accepted."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            status = await self.snapshot_status(
                snapshot_id, wait=max(0.0, min(remaining, core.POLL_WAIT))
            )
            if status.done:
                return status
            if deadline - time.monotonic() <= 0:
                raise core.still_waiting(snapshot_id, status.status, timeout)

    # -- operations -------------------------------------------------------------------------------

    async def audit_verify(self, start: int = 1) -> dict[str, Any]:
        """``GET /audit/verify``: walk the audit log's hash chain from record ``start``."""
        return await self._call(core.audit_verify(start))

    async def audit_export(
        self, since: str | None = None, fmt: Export = "jsonl"
    ) -> AsyncIterator[bytes]:
        """``GET /audit/export``: the audit records (at or after ``since``, RFC 3339) as JSON
        lines or CSV, streamed as they come."""
        response = await self._send(core.audit_export(since, fmt), stream=True)
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise core.unreachable(self.settings, exc) from exc
        finally:
            await response.aclose()

    async def soar_replay(self) -> ReplayCounts:
        """``POST /soar/replay``: send every dead-lettered webhook again."""
        return await self._call(core.soar_replay())

    async def netbox_sync(
        self, direction: Direction, *, dry_run: bool = False
    ) -> NetboxSyncReceipt:
        """``POST /netbox/sync``: ask the NetBox sync service for a run."""
        return await self._call(core.netbox_sync(direction, dry_run))

    async def probe(self, path: ProbePath) -> Probe:
        """A probe (``/health``, ``/ready``, ``/health/platform``), sent without a credential;
        any status is an answer."""
        return await self._call(core.probe(path))
