"""The NetBox sync: pushes discovered devices to NetBox and pulls its metadata."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from litestar import Litestar, get
from litestar.di import NamedDependency
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.license import LicenseFollower
from meshq_runtime.service import kafka_probe, open_kafka
from meshq_runtime.service_auth import ServiceAuthMiddleware, service_credential
from network_discovery.discovery.schedule import ScheduledDiscovery

from meshq_netbox_sync import handlers
from meshq_netbox_sync._discovery import start_discovery
from meshq_netbox_sync.service import SERVICE, NetBoxSync
from meshq_netbox_sync.settings import Settings

__all__ = ["SERVICE", "create_app"]


@dataclass(frozen=True)
class NetboxDeps:
    """What the service's handlers use, built once by the lifespan."""

    sync: NetBoxSync
    license: LicenseFollower
    discovery: ScheduledDiscovery | None


@get("/sync/status", tags=["sync"])
async def sync_status(deps: NamedDependency[NetboxDeps]) -> dict[str, Any]:
    """The configured direction and interval, and the last runs (newest last)."""
    sync = deps.sync
    return {
        "configured": sync.configured(),
        "direction": sync.settings.direction,
        "interval_s": sync.settings.interval_s,
        "runs": [asdict(r) for r in sync.history],
    }


def create_app(settings: Settings) -> Litestar:
    state: ServiceState[NetboxDeps] = ServiceState(service=SERVICE)
    credential = service_credential(settings, caller=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            follower = LicenseFollower(settings, credential=credential)
            await follower.start()
            stack.push_async_callback(follower.stop)
            kafka = open_kafka(settings, service=SERVICE)
            stack.push_async_callback(kafka.broker.stop)
            sync = NetBoxSync(
                settings,
                allows=follower.allows,
                publish=kafka.bus.publish,
                credential=credential,
            )
            handlers.register(kafka.consumer, sync)
            await kafka.start()
            state.probes[:] = [kafka_probe(kafka.broker)]
            loop = asyncio.create_task(sync.loop(), name="netbox-sync-loop")

            async def stop_loop() -> None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop

            stack.push_async_callback(stop_loop)
            discovery = await start_discovery(settings, stack, follower, credential)
            state.hand_out(NetboxDeps(sync=sync, license=follower, discovery=discovery), stack)
            yield

    return build_app(
        service=SERVICE,
        route_handlers=[sync_status],
        lifespan=lifespan,
        state=state,
        middleware_extra=[ServiceAuthMiddleware(credential)],  # GET /sync/status
    )
