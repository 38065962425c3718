"""The blocking client of the REST API (the ``meshq`` commands, the Ansible inventory script)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
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

__all__ = ["MeshqClient"]

T = TypeVar("T")


class MeshqClient:
    """Calls of the REST API with one credential; every refusal is an
    :class:`~network_discovery.client.ApiError`, a gateway that does not answer a
    :class:`~network_discovery.client.StackNotFound`.

    ``http`` is an ``httpx.Client`` to send with (a test's ``MockTransport``); the client closes
    only one it made itself.
    """

    def __init__(self, settings: ClientSettings, *, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._own = http is None
        self._http = (
            http if http is not None else httpx.Client(timeout=settings.timeout or DEFAULT_TIMEOUT)
        )

    @classmethod
    def from_env(
        cls,
        api_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> MeshqClient:
        """A client of the gateway that the arguments, the environment or ``meshq serve``'s
        endpoints file names (:func:`~network_discovery.client.resolve_settings`)."""
        return cls(resolve_settings(api_url, api_key, timeout=timeout), http=http)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> MeshqClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------------------

    def _send(self, call: core.Call[Any], content: Any = None, *, stream: bool = False) -> Any:
        try:
            request = call.request(self._http, self.settings, content)
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise core.unreachable(self.settings, exc) from exc
        try:
            if not stream or (response.status_code >= 400 and not call.probe):
                response.read()
        except httpx.HTTPError as exc:
            response.close()
            raise core.unreachable(self.settings, exc) from exc
        error = None if call.probe else core.refused(response)
        if error is not None:
            response.close()
            raise error
        return response

    def _call(self, call: core.Call[T], content: Any = None) -> T:
        return call.read(self._send(call, content))

    # -- queries ----------------------------------------------------------------------------------

    def list_queries(self) -> list[dict[str, Any]]:
        """``GET /queries``: the catalogue this credential may see."""
        return self._call(core.list_queries())

    def run_query(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``POST /queries/{name}``: its rows (a page of ``limit``, from ``cursor``)."""
        return self._call(core.run_query(name, params, limit, cursor))

    def license(self) -> dict[str, Any]:
        """``GET /license``: the plan, its status and feature flags."""
        return self._call(core.license_state())

    def ansible_inventory(self) -> dict[str, Any]:
        """``GET /inventory/ansible``: the dynamic-inventory JSON (``_meta.hostvars``)."""
        return self._call(core.ansible_inventory())

    def ansible_inventory_text(self, fmt: Literal["json", "ini"] = "json") -> str:
        """The Ansible inventory as the gateway wrote it (JSON or INI), to save as a file."""
        return self._call(core.ansible_inventory_text(fmt))

    def chaos_simulate(self, scenario: str, target: str, *, depth: int = 3) -> dict[str, Any]:
        """``POST /graph/chaos-simulate``: the blast radius of one failure."""
        return self._call(core.chaos_simulate(scenario, target, depth))

    def whatif(self, changes: list[Mapping[str, Any]]) -> dict[str, Any]:
        """``POST /graph/whatif``: what a change set would break (the graph is not changed)."""
        return self._call(core.whatif(changes))

    # -- snapshots --------------------------------------------------------------------------------

    def list_snapshots(self) -> list[dict[str, Any]]:
        """``GET /snapshots``: applied snapshots, newest first, with their diff summary."""
        return self._call(core.list_snapshots())

    def snapshot_diff(self, a: str, b: str) -> dict[str, Any]:
        """``GET /snapshots/{a}/diff/{b}``: the facts that differ."""
        return self._call(core.snapshot_diff(a, b))

    def submit_snapshot(
        self, body: bytes | Iterable[bytes], *, gzip: bool = True
    ) -> SnapshotReceipt:
        """``POST /snapshots``: hand a snapshot (its JSON, whole or in chunks) to the gateway;
        gzip-compressed chunk by chunk unless ``gzip=False``, so a large one is streamed and
        never held whole. The receipt names where its outcome is read."""
        call = core.submit_snapshot(gzip)
        content: Any
        if gzip:
            content = core.gzip_chunks(core.pieces(body))
        elif isinstance(body, (bytes, bytearray, memoryview)):
            content = bytes(body)
        else:
            content = core.pieces(body)
        return self._call(call, content)

    def submit_patches(self, patches: list[Mapping[str, Any]]) -> PatchReceipt:
        """``POST /snapshots/patches``: queue device metadata patches (site, tenant, rack,
        role, criticality, tags, NetBox ids), at most 10,000 per call."""
        return self._call(core.submit_patches(patches))

    def snapshot_status(self, snapshot_id: str, *, wait: float = 0) -> SnapshotStatus:
        """``GET /snapshots/{id}``; with ``wait`` (up to 60 s) the gateway answers as soon as
        the snapshot is applied or rejected, or when the wait is over."""
        return self._call(core.snapshot_status(snapshot_id, wait, self.settings.timeout))

    def wait_for_snapshot(self, snapshot_id: str, timeout: float = 300.0) -> SnapshotStatus:
        """Poll until the snapshot is applied or rejected; ``TimeoutError`` after ``timeout``
        seconds with it still accepted."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            status = self.snapshot_status(
                snapshot_id, wait=max(0.0, min(remaining, core.POLL_WAIT))
            )
            if status.done:
                return status
            if deadline - time.monotonic() <= 0:
                raise core.still_waiting(snapshot_id, status.status, timeout)

    # -- operations -------------------------------------------------------------------------------

    def audit_verify(self, start: int = 1) -> dict[str, Any]:
        """``GET /audit/verify``: walk the audit log's hash chain from record ``start``."""
        return self._call(core.audit_verify(start))

    def audit_export(self, since: str | None = None, fmt: Export = "jsonl") -> Iterator[bytes]:
        """``GET /audit/export``: the audit records (at or after ``since``, RFC 3339) as JSON
        lines or CSV, streamed as they come."""
        response = self._send(core.audit_export(since, fmt), stream=True)
        try:
            yield from response.iter_bytes()
        except httpx.HTTPError as exc:
            raise core.unreachable(self.settings, exc) from exc
        finally:
            response.close()

    def soar_replay(self) -> ReplayCounts:
        """``POST /soar/replay``: send every dead-lettered webhook again."""
        return self._call(core.soar_replay())

    def netbox_sync(self, direction: Direction, *, dry_run: bool = False) -> NetboxSyncReceipt:
        """``POST /netbox/sync``: ask the NetBox sync service for a run."""
        return self._call(core.netbox_sync(direction, dry_run))

    def probe(self, path: ProbePath) -> Probe:
        """A probe (``/health``, ``/ready``, ``/health/platform``), sent without a credential;
        any status is an answer."""
        return self._call(core.probe(path))
