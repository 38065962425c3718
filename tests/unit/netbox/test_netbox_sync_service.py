"""The netbox-sync service's scheduling: skipped without settings, refused without the flag,
the periodic loop woken early (as a topology change does)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from meshq_netbox_sync.service import NetBoxSync
from meshq_netbox_sync.settings import Settings
from network_discovery.contracts.envelope import EventBase


async def _never(event: EventBase) -> None:
    raise AssertionError(f"nothing should be published, got {event.type}")


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key in ("NETBOX_URL", "NETBOX_TOKEN", "NETBOX_SYNC_DIRECTION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


async def test_default_is_pull_and_unconfigured_runs_are_skipped(monkeypatch) -> None:
    sync = NetBoxSync(_settings(monkeypatch), allows=lambda _: True, publish=_never)
    assert sync.settings.direction == "pull" and sync.settings.interval_s == 3600
    record = await sync.run()
    assert (record.outcome, record.detail) == ("skipped", "NETBOX_URL and NETBOX_TOKEN are not set")


async def test_without_the_flag_a_run_is_refused(monkeypatch) -> None:
    settings = _settings(monkeypatch, NETBOX_URL="http://127.0.0.1:9", NETBOX_TOKEN="t")
    sync = NetBoxSync(settings, allows=lambda feature: feature != "netbox_sync", publish=_never)
    record = await sync.run(direction="push", trigger="requested by ops")
    assert (record.outcome, record.direction, record.trigger) == (
        "refused",
        "push",
        "requested by ops",
    )


async def test_the_loop_runs_at_start_and_when_woken(monkeypatch) -> None:
    sync = NetBoxSync(
        _settings(monkeypatch, NETBOX_SYNC_INTERVAL="3600"), allows=lambda _: True, publish=_never
    )
    task = asyncio.create_task(sync.loop())
    try:
        async with asyncio.timeout(10):
            while len(sync.history) < 1:
                await asyncio.sleep(0.01)
            sync.wake()
            while len(sync.history) < 2:
                await asyncio.sleep(0.01)
        assert [r.trigger for r in sync.history] == ["periodic", "periodic"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    off = NetBoxSync(
        _settings(monkeypatch, NETBOX_SYNC_INTERVAL="0"), allows=lambda _: True, publish=_never
    )
    await off.loop()  # returns at once: no periodic sync
    assert off.history == []
