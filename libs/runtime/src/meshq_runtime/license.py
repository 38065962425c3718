"""Follow the installation's license from any service: ``GET /license`` at start, then
``meshq.license.events``.

    follower = LicenseFollower(settings)          # KafkaSettings + LicenseClientSettings
    await follower.start()                        # in the lifespan; stack.push_async_callback(
                                                  #     follower.stop)
    follower.check("api_access")                  # raises FeatureNotAvailableError
    if follower.allows("firewall_queries"): ...
    follower.on_change(callback)                  # called with the new LicenseStateData

Every pod reads the whole topic itself (no consumer group), so each one sees every change; the
highest ``revision`` wins, so a late or repeated event never rolls the state back. Until the
agent answers, the state is Community. ``MESHOPTIXIQ_DEMO_MODE`` opens every gate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import structlog
from aiokafka import AIOKafkaConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import LicenseStateData, adapter_for
from network_discovery.licensing.gates import check_feature
from network_discovery.licensing.plans import features_for, plans_with
from pydantic import ValidationError

from meshq_runtime.http import ProblemError
from meshq_runtime.kafka.security import client_options

__all__ = ["LicenseFollower", "community_state", "feature_refused"]

log = structlog.get_logger(__name__)

Callback = Callable[[LicenseStateData], Awaitable[None] | None]


def community_state() -> LicenseStateData:
    return LicenseStateData(
        plan="community", status="unverified", features=features_for("community")
    )


def feature_refused(feature: str, plan: str, detail: str = "") -> ProblemError:
    """A 403 problem naming the flag, the plan and the plans that include the flag."""
    try:
        having = plans_with(feature)
    except KeyError:
        having = []
    return ProblemError(
        403,
        "Feature not available",
        detail
        or f"the {plan} plan does not include {feature!r}; plans that do: "
        + (", ".join(having) or "none"),
        type_="https://meshoptixiq.com/problems/feature-not-available",
        feature=feature,
        plan=plan,
        plans=having,
    )


class LicenseFollower:
    """The license state of the installation, kept current from the agent's events."""

    def __init__(
        self,
        settings: Any,
        *,
        http: httpx.AsyncClient | None = None,
        fetch_timeout: float = 5.0,
    ) -> None:
        self._settings = settings
        self._http = http
        self._timeout = fetch_timeout
        self.state: LicenseStateData = community_state()
        self._callbacks: list[Callback] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    @property
    def plan(self) -> str:
        return self.state.plan

    @property
    def features(self) -> dict[str, bool | int]:
        return dict(self.state.features)

    def allows(self, feature: str) -> bool:
        try:
            return self.check(feature)
        except Exception:
            return False

    def check(self, feature: str) -> bool:
        """True, or ``FeatureNotAvailableError`` naming the feature and plan."""
        return check_feature(self.state.plan, feature, features=self.state.features)

    @property
    def known(self) -> bool:
        """Whether the agent has told the plan (``GET /license`` or an event) yet."""
        return self.state.revision > 0

    def on_change(self, callback: Callback) -> None:
        self._callbacks.append(callback)

    async def start(self) -> None:
        """Subscribe first, then read ``GET /license``, so no change is missed in between."""
        self._consumer = AIOKafkaConsumer(
            self._settings.topic(topics.LICENSE_EVENTS.name),
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="meshq-license-follower",
            **client_options(self._settings),
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._consume(), name="license-follower")
        await self.refresh()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def refresh(self) -> None:
        """Read ``GET /license`` from the agent; keep the current state when it is down."""
        url = self._settings.licensing_url.rstrip("/") + "/license"
        try:
            if self._http is not None:
                response = await self._http.get(url, timeout=self._timeout)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(url)
            response.raise_for_status()
            await self._apply(LicenseStateData.model_validate(response.json()))
        except (httpx.HTTPError, ValidationError, ValueError) as exc:
            log.warning("license.agent_unavailable", error=type(exc).__name__)

    async def wait_for(
        self, predicate: Callable[[LicenseStateData], bool], timeout: float = 30.0
    ) -> LicenseStateData:
        """Wait (with a deadline) until the state satisfies ``predicate``."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: predicate(self.state)), timeout=timeout
            )
        return self.state

    async def _consume(self) -> None:
        assert self._consumer is not None
        adapter = adapter_for(topics.LICENSE_EVENTS.name)
        async for record in self._consumer:
            try:
                event = adapter.validate_json(record.value)
            except ValidationError:
                log.warning("license.event_invalid", offset=record.offset)
                continue
            await self._apply(event.data)

    async def _apply(self, data: LicenseStateData) -> None:
        current = self.state
        if current.revision and data.revision < current.revision:
            return
        if data == current:
            return
        self.state = data
        log.info("license.followed", plan=data.plan, status=data.status, revision=data.revision)
        for callback in list(self._callbacks):
            result = callback(data)
            if asyncio.iscoroutine(result):
                await result
        async with self._changed:
            self._changed.notify_all()
