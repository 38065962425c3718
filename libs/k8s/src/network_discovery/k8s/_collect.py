"""One cluster's inventory from the API: listed once, or listed and then followed (watch)
until stopped, each complete inventory saved to the store. ``meshq k8s sync`` and the
collector the Helm chart runs beside the graph engine (``python -m network_discovery.k8s``)
both run it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

from network_discovery.k8s._model import ClusterInventory
from network_discovery.k8s._store import InventoryStore

__all__ = ["summary", "sync_from_api"]


def summary(inventory: ClusterInventory, where: Path) -> str:
    """One line: what a sync wrote, and where."""
    endpoints = sum(len(s.endpoints) for s in inventory.services)
    return (
        f"cluster {inventory.cluster}: {len(inventory.nodes)} nodes, {len(inventory.pods)} pods, "
        f"{len(inventory.services)} services ({endpoints} endpoints) into {where}"
    )


async def sync_from_api(
    cluster: str,
    store: InventoryStore,
    *,
    kubeconfig: Path | None = None,
    context: str | None = None,
    in_cluster: bool = False,
    watch: bool = False,
    report: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """List the cluster and save its inventory; with ``watch``, follow every change until
    ``stop`` is set (or SIGINT/SIGTERM), saving after each burst of changes. The client's
    errors (no kubeconfig, a 403 from RBAC, the API away) are raised as they are."""
    from network_discovery.k8s._api import ApiSource, open_api_client

    api = await open_api_client(kubeconfig=kubeconfig, context=context, in_cluster=in_cluster)
    async with api:
        source = ApiSource(api, cluster)
        inventory = await source.list_all()
        report(summary(inventory, store.save(inventory)))
        if not watch:
            return
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)

        def save(current: ClusterInventory) -> None:
            report(summary(current, store.save(current)))

        await source.follow(save, stop)
