"""Collecting from devices over SNMP (v2c, or v3 authPriv) with pysnmp.

pysnmp 7 is asyncio-only, and building its engine costs seconds of CPU. A
:class:`SnmpCollector` therefore keeps ONE engine on its own event-loop thread for a whole
run; the runner's coroutines hand it devices and await their results, so devices are walked
side by side on that loop. Every table of
:data:`~network_discovery.discovery._snmp_map.OIDS` is walked with GETBULK.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import structlog

from network_discovery.discovery._secrets import CredentialError
from network_discovery.discovery._snmp_client import SnmpFailure, Walker, auth_data
from network_discovery.discovery._snmp_map import OIDS, facts_from_tables
from network_discovery.discovery.inventory import Target
from network_discovery.discovery.plan import guess_platform
from network_discovery.discovery.result import DeviceResult, DeviceStatus

__all__ = ["DEFAULT_SNMP_PORT", "SnmpCollector"]

log = structlog.get_logger(__name__)

DEFAULT_SNMP_PORT = 161


class SnmpCollector:
    """A collector (``await collector(target) -> DeviceResult``) over one shared engine.

    Use it as a context manager, or call :meth:`close` when the run is over.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        retries: int = 1,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.environ = environ
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._engine: Any = asyncio.run_coroutine_threadsafe(
            self._new_engine(), self._loop
        ).result()

    @staticmethod
    async def _new_engine() -> Any:
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        return SnmpEngine()

    def __enter__(self) -> SnmpCollector:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        async def shut() -> None:
            self._engine.close_dispatcher()
            await asyncio.sleep(0)  # let the closed UDP transports finish on this loop

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def __call__(self, target: Target) -> DeviceResult:
        """Walk ``target`` on the engine's loop; the caller's loop waits without blocking."""
        try:
            auth = auth_data(target.credentials, self.environ)
        except CredentialError as exc:
            return DeviceResult(target, DeviceStatus.ERROR, str(exc), attempts=0)
        future = asyncio.run_coroutine_threadsafe(self._collect(target, auth), self._loop)
        return await asyncio.wrap_future(future)

    async def _collect(self, target: Target, auth: Any) -> DeviceResult:
        result = DeviceResult(target, DeviceStatus.OK)
        started = time.perf_counter()
        walker = Walker(
            target.address,
            target.port or DEFAULT_SNMP_PORT,
            auth,
            self.timeout,
            self.retries,
            engine=self._engine,
        )
        try:
            tables = {name: await walker.walk(oid) for name, oid in OIDS.items()}
        except SnmpFailure as exc:
            result.status, result.detail = exc.status, exc.detail
            log.info("discovery.snmp.failed", device=target.label, status=exc.status.value)
            return result
        except OSError as exc:
            result.status = DeviceStatus.UNREACHABLE
            result.detail = f"unreachable ({exc.strerror or type(exc).__name__})"
            return result
        finally:
            result.commands_s = time.perf_counter() - started
        return _map(result, tables)


def _map(result: DeviceResult, tables: dict[str, Any]) -> DeviceResult:
    started = time.perf_counter()
    target = result.target
    descr = tables.get("sysDescr", {})
    platform = target.platform or guess_platform(
        *(v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in descr.values())
    )
    meta = dict(target.meta)
    meta.setdefault("management_ip", target.address)
    try:
        result.facts = facts_from_tables(target.name, tables, platform=platform, meta=meta)
    except ValueError as exc:
        result.status, result.detail = DeviceStatus.PARSE_ERRORS, str(exc).split("\n")[0]
        return result
    result.hostname = result.facts.device
    result.parse_s = time.perf_counter() - started
    return result
