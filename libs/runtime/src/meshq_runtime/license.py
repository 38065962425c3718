"""Follow the installation's license from any service: ``GET /license`` at start, then
``meshq.license.events``.

    follower = LicenseFollower(settings, credential=credential)   # KafkaSettings +
                                                  # LicenseClientSettings; the service credential
    await follower.start()                        # in the lifespan; stack.push_async_callback(
                                                  #     follower.stop)
    follower.check("api_access")                  # raises FeatureNotAvailableError
    if follower.allows("firewall_queries"): ...
    follower.on_change(callback)                  # called with the new LicenseStateData

Nothing is trusted without proof. A state (event or ``GET /license`` answer) applies only
through the license server's signed answer it carries, checked with the vendor public key
(``MESHOPTIXIQ_LICENSE_PUBLIC_KEY``, default the vendor's; see
:mod:`network_discovery.licensing.proof`): plan, features, limits and expiry come from the
signed payload, and active / grace / restricted / expired from its signed ``issued_at`` and this
process's own clock (24 h, 72 h: the agent's rules), re-evaluated on a timer, so grace turns to
restricted here even when no event arrives. The agent's own status fields are never trusted.

- Signed answers are ordered by their signed ``issued_at`` (``revision`` only breaks ties): an
  older one is refused, however high its revision.
- A state without a signed answer can only mean Community: it never raises the plan, and never
  lowers a verified one either (a verified plan lasts until its own clock ends it, or until a
  newer signed answer or signed refusal). A Community agent, or an agent of an earlier version
  (told apart by the plan it claims: a warning says to upgrade it), publishes such states.
- A signed answer names the key (its lookup hash) and the installation (fingerprint). What the
  agent serves on ``GET /license`` decides which count: an event about another key or
  installation (or any signed event while the agent holds no signed answer) is refused, and
  the agent asked again (it wins when it changed key). Until the agent has answered once, the
  first verified event sets them provisionally; an agent that then answers without a signed
  answer ends that provisional state.

Every refused state is logged as ``license.event_refused`` with the reason, and counted in
:attr:`LicenseFollower.refused`. ``MESHOPTIXIQ_DEMO_MODE`` opens every gate (no signature
needed). Every pod reads the whole topic itself (no consumer group), so each one sees every
change. ``MESHQ_LICENSE_CLOCK_OFFSET_S`` shifts this process's clock, for tests only.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from network_discovery.contracts import topics
from network_discovery.contracts.events import LicenseEvent, LicenseStateData
from network_discovery.licensing import protocol
from network_discovery.licensing.gates import check_feature
from network_discovery.licensing.plans import features_for, plans_with
from network_discovery.licensing.proof import SignedStatement, StatementError, open_statement
from network_discovery.licensing.verifier import PUBLIC_KEY_ENV, public_key_pem
from pydantic import ValidationError

from meshq_runtime.http import ProblemError
from meshq_runtime.kafka.reader import TopicReader
from meshq_runtime.service_auth import ServiceCredential, service_credential

__all__ = ["CLOCK_OFFSET_ENV", "LicenseFollower", "community_state", "feature_refused"]

log = structlog.get_logger(__name__)

Callback = Callable[[LicenseStateData], Awaitable[None] | None]

#: Tests only: seconds added to a follower's clock (as the agent's and server's settings do).
CLOCK_OFFSET_ENV = "MESHQ_LICENSE_CLOCK_OFFSET_S"

#: Statuses an unsigned state may show: each means Community.
_COMMUNITY_STATUSES = frozenset(
    {"community", "unverified", "invalid", "not_found", "expired", "device_limit", "restricted"}
)
#: What the operator should do about each refusal (logged with it).
_FIX = {
    "unsigned_plan": "upgrade the license agent (services of this version apply only signed "
    "states); Community applies until it sends one",
    "bad_signature": "nothing to do if no one forged it; check MESHOPTIXIQ_LICENSE_PUBLIC_KEY "
    "is the key of the license server the agent validates against",
    "other_installation": "nothing to do if the agent changed its license key (it is asked "
    "again); otherwise someone published a genuine answer of another key or installation",
    "unconfirmed": "nothing to do if the agent has just validated (it is asked again); "
    "otherwise someone published a genuine answer this installation's agent does not hold",
}
#: How soon after one the agent may be asked again about a foreign key or installation.
_CONFIRM_INTERVAL_S = 5.0


def community_state(
    status: str = "unverified", *, revision: int = 0, installation_id: str = "", message: str = ""
) -> LicenseStateData:
    """The Community plan (its own features, whatever anyone claimed), with ``status``."""
    return LicenseStateData.model_validate(
        {
            "plan": "community",
            "status": status if status in _COMMUNITY_STATUSES else "unverified",
            "features": features_for("community"),
            "revision": revision,
            "installation_id": installation_id[:64],
            "message": message,
        }
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
    """The license state of the installation, kept current from the agent's signed answers.

    ``public_key`` (PEM text or a path; else the settings' ``license_public_key``, else
    ``MESHOPTIXIQ_LICENSE_PUBLIC_KEY``, else the vendor's) verifies them; ``clock`` (seconds
    since the epoch; else the real one, shifted by ``MESHQ_LICENSE_CLOCK_OFFSET_S``) ages
    them; ``recheck_interval`` bounds how long the timer sleeps between two evaluations (it
    also wakes at each grace, restricted and expiry moment).
    """

    def __init__(
        self,
        settings: Any,
        *,
        http: httpx.AsyncClient | None = None,
        fetch_timeout: float = 5.0,
        credential: ServiceCredential | None = None,
        public_key: str | None = None,
        clock: Callable[[], float] | None = None,
        recheck_interval: float = 60.0,
    ) -> None:
        self._settings = settings
        self._http = http
        #: What ``GET /license`` carries (the agent answers services only); from the
        #: settings when not given.
        self._credential = credential
        self._timeout = fetch_timeout
        self._public_key = protocol.load_public_key(_public_pem(public_key, settings))
        self._clock = clock or _env_clock()
        self._recheck = max(0.01, recheck_interval)
        self.state: LicenseStateData = community_state()
        #: Refused states by reason, since start.
        self.refused: Counter[str] = Counter()
        self._callbacks: list[Callback] = []
        self._consumer: TopicReader[LicenseEvent] | None = None
        self._task: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._confirming: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        #: The verified statement in force and the revision that carried it.
        self._statement: SignedStatement | None = None
        self._revision = 0
        self._installation = ""
        #: Whether the agent answered ``GET /license`` yet, and the key and installation of
        #: the signed answer it held then (None: it held none).
        self._agent_reached = False
        self._agent_binding: tuple[str, str] | None = None
        self._last_confirm = -math.inf
        #: When the statement's meaning changes next by the clock alone (grace, restricted,
        #: expired).
        self._next_change = math.inf

    @property
    def plan(self) -> str:
        return self._current().plan

    @property
    def features(self) -> dict[str, bool | int]:
        return dict(self._current().features)

    @property
    def verified(self) -> bool:
        """Whether the state rests on a signed answer (or signed refusal) that verified."""
        return self._statement is not None

    def allows(self, feature: str) -> bool:
        try:
            return self.check(feature)
        except Exception:
            return False

    def check(self, feature: str) -> bool:
        """True, or ``FeatureNotAvailableError`` naming the feature and plan."""
        state = self._current()
        return check_feature(state.plan, feature, features=state.features)

    @property
    def known(self) -> bool:
        """Whether the agent has told the plan (``GET /license`` or an event) yet."""
        return self.state.revision > 0

    def on_change(self, callback: Callback) -> None:
        self._callbacks.append(callback)

    async def start(self) -> None:
        """Subscribe, read ``GET /license`` (the agent's answer sets the key and installation
        before any event is applied), then follow the topic from its start and the clock."""
        self._consumer = TopicReader(
            self._settings, topics.LICENSE_EVENTS, client_id="meshq-license-follower"
        )
        await self._consumer.start()
        await self.refresh()
        self._task = asyncio.create_task(self._consume(), name="license-follower")
        self._watcher = asyncio.create_task(self._watch(), name="license-follower-clock")

    async def stop(self) -> None:
        for task in (self._task, self._watcher, self._confirming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._consumer is not None:
            await self._consumer.stop()

    async def refresh(self) -> None:
        """Read ``GET /license`` from the agent; keep the current state when it is down."""
        url = self._settings.licensing_url.rstrip("/") + "/license"
        if self._credential is None:
            self._credential = service_credential(self._settings, caller="license-follower")
        headers = self._credential.headers()
        try:
            if self._http is not None:
                response = await self._http.get(url, timeout=self._timeout, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(url, headers=headers)
            response.raise_for_status()
            await self.offer(LicenseStateData.model_validate(response.json()), source="agent")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 401:  # a credential that is not the agent's
                log.error(
                    "license.agent_refused_credential",
                    status=401,
                    source=self._credential.source,
                    fix="give every service the same MESHQ_SERVICE_TOKEN",
                )
            else:
                log.warning("license.agent_unavailable", status=exc.response.status_code)
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

    async def offer(
        self, data: LicenseStateData, *, source: str = "event", offset: int | None = None
    ) -> bool:
        """Apply ``data`` (from ``source``: ``agent`` for ``GET /license``, ``event`` for the
        topic) if it proves what it claims and is newer; False (logged, counted) when refused."""
        now = self._clock()
        statement: SignedStatement | None = None
        failure: StatementError | None = None
        if data.answer is not None:
            try:
                statement = open_statement(self._public_key, data.answer.model_dump())
            except StatementError as exc:
                failure = exc
        if source == "agent":  # what the agent holds decides which key and installation count
            self._agent_reached = True
            self._agent_binding = statement.binding if statement is not None else None
        if failure is not None:
            return self._refuse(failure.reason, data, source, offset, detail=str(failure))
        if statement is None:
            return await self._offer_unsigned(data, source, offset)
        held = self._statement
        if source != "agent" and self._agent_reached and statement.binding != self._agent_binding:
            self._confirm_soon()
            if self._agent_binding is None:
                return self._refuse(
                    "unconfirmed",
                    data,
                    source,
                    offset,
                    detail="the agent held no signed answer when last asked (asking again)",
                )
            return self._refuse(
                "other_installation",
                data,
                source,
                offset,
                detail="signed for another key or installation than the agent holds",
            )
        if held is not None and statement.binding != held.binding:
            if source != "agent":  # the agent has not answered yet: keep the first, ask it
                self._confirm_soon()
                return self._refuse(
                    "other_installation",
                    data,
                    source,
                    offset,
                    detail="signed for another key or installation than the one applied",
                )
            log.warning(
                "license.binding_changed",
                detail="the agent holds another key or installation than the state applied "
                "(a new key, or a state taken from the topic before it answered); following it",
            )
        elif held is not None:
            if statement.issued < held.issued or (
                statement.issued == held.issued
                and statement.answer != held.answer
                and data.revision <= self._revision
            ):
                return self._refuse(
                    "older",
                    data,
                    source,
                    offset,
                    detail=f"signed at {_iso(statement.issued)}, the one applied at "
                    f"{_iso(held.issued)}",
                )
            if statement.answer == held.answer:  # the same proof again (a status change)
                if data.revision > self._revision:
                    self._revision = data.revision
                    await self._publish(self._compose(now), now)
                return True
        self._statement = statement
        self._revision = data.revision
        self._installation = data.installation_id
        log.info(
            "license.verified",
            source=source,
            plan=statement.licensed_plan,
            refused=statement.refused,
            issued_at=_iso(statement.issued),
            revision=data.revision,
        )
        await self._publish(self._compose(now), now)
        return True

    def _vouched(self) -> bool:
        """Whether the agent, when last asked, held the statement in force."""
        held = self._statement
        return held is not None and self._agent_binding == held.binding

    async def _offer_unsigned(
        self, data: LicenseStateData, source: str, offset: int | None
    ) -> bool:
        dropped = False
        if source == "agent" and self._statement is not None and not self._vouched():
            # taken from the topic before the agent answered, and the agent holds no proof
            log.warning(
                "license.unconfirmed_dropped",
                detail="the agent holds no signed answer: the one taken from the topic before "
                "it answered no longer applies",
            )
            self._statement, self._revision, dropped = None, 0, True
        claims = (
            data.plan != "community"
            or data.licensed_plan != "community"
            or data.status not in _COMMUNITY_STATUSES
        )
        if claims:
            self._refuse(
                "unsigned_plan",
                data,
                source,
                offset,
                detail="an unsigned state claims a plan: a license agent older than this "
                "service, or a forged event",
            )
            if self._statement is None and (dropped or self.state.revision == 0):
                # what an agent of the previous version meant: the Community plan, known
                await self._publish(
                    community_state(
                        "unverified",
                        revision=max(data.revision, 1),
                        installation_id=data.installation_id,
                        message="the license agent sent an unsigned state: upgrade it; "
                        "Community applies meanwhile",
                    ),
                    self._clock(),
                )
            return False
        if self._statement is not None:
            return self._refuse(
                "unsigned_after_signed",
                data,
                source,
                offset,
                detail="an unsigned Community state does not end a verified plan; its own "
                "clock, a newer signed answer or a signed refusal does",
            )
        if data.revision < self.state.revision and not dropped:
            return self._refuse("older", data, source, offset, detail="lower revision")
        await self._publish(
            community_state(
                data.status,
                revision=max(data.revision, 1),
                installation_id=data.installation_id,
                message=data.message[:500],
            ),
            self._clock(),
        )
        return True

    def _refuse(
        self,
        reason: str,
        data: LicenseStateData,
        source: str,
        offset: int | None,
        *,
        detail: str = "",
    ) -> bool:
        self.refused[reason] += 1
        emit = log.info if reason in ("older", "unsigned_after_signed") else log.warning
        emit(
            "license.event_refused",
            reason=reason,
            source=source,
            offset=offset,
            claimed_plan=data.plan,
            claimed_status=data.status,
            revision=data.revision,
            detail=detail[:200],
            fix=_FIX.get(reason, ""),
        )
        return False

    def _confirm_soon(self) -> None:
        """Ask the agent (at most every few seconds) which key and installation are its own."""
        if self._confirming is not None and not self._confirming.done():
            return
        if time.monotonic() - self._last_confirm < _CONFIRM_INTERVAL_S:
            return
        self._last_confirm = time.monotonic()
        with contextlib.suppress(RuntimeError):  # no running loop: the timer asks instead
            self._confirming = asyncio.get_running_loop().create_task(self.refresh())

    def _compose(self, now: float) -> LicenseStateData:
        """The state the verified statement means at ``now``."""
        if self._statement is None:
            return self.state
        status = self._statement.status(now)
        expires = self._statement.expires
        return LicenseStateData.model_validate(
            {
                "plan": status.plan,
                "status": status.status,
                "features": dict(status.features),
                "expires": datetime(expires.year, expires.month, expires.day, tzinfo=UTC)
                if expires
                else None,
                "grace_hours_left": status.grace_hours_left,
                "message": status.message[:500],
                "revision": max(self._revision, 1),
                "installation_id": self._installation[:64],
                "licensed_plan": self._statement.licensed_plan,
                "last_validated": status.last_validated,
                "devices_registered": status.devices_registered,
                "devices_allowed": status.devices_allowed,
            }
        )

    def _current(self) -> LicenseStateData:
        """The state for a gate decision: evaluated anew once the clock passed a transition
        the timer has not applied yet."""
        if self._statement is not None and self._clock() >= self._next_change:
            return self._compose(self._clock())
        return self.state

    async def _publish(self, new: LicenseStateData, now: float) -> None:
        old = self.state
        self.state = new
        later = self._statement.transitions() if self._statement is not None else ()
        self._next_change = min((t for t in later if t > now), default=math.inf)
        if _meaning(old) != _meaning(new):
            log.info(
                "license.followed",
                plan=new.plan,
                status=new.status,
                revision=new.revision,
                verified=self._statement is not None,
            )
            for callback in list(self._callbacks):
                result = callback(new)
                if asyncio.iscoroutine(result):
                    await result
        async with self._changed:
            self._changed.notify_all()

    async def _watch(self) -> None:
        """The follower's clock: re-evaluate at each transition (and every ``recheck``), ask
        the agent again while the key and installation in force come from an event only."""
        while True:
            wait = min(self._recheck, max(0.0, self._next_change - self._clock()))
            await asyncio.sleep(wait)
            try:
                if self._statement is not None and not self._agent_reached:
                    self._last_confirm = time.monotonic()
                    await self.refresh()
                if self._statement is not None:
                    now = self._clock()
                    await self._publish(self._compose(now), now)
            except Exception as exc:  # never let the clock stop
                log.warning("license.recheck_failed", error=type(exc).__name__)

    async def _consume(self) -> None:
        assert self._consumer is not None
        async for read in self._consumer.follow():
            if read.event is None:
                self.refused["invalid_event"] += 1
                log.warning("license.event_invalid", offset=read.offset)
                continue
            await self.offer(read.event.data, source="event", offset=read.offset)


def _meaning(state: LicenseStateData) -> dict[str, Any]:
    """What a change is worth a callback for (the hours of grace left tick on)."""
    return state.model_dump(exclude={"grace_hours_left"})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _public_pem(given: str | None, settings: Any) -> str:
    value = given or getattr(settings, "license_public_key", "") or ""
    try:
        pem: str = public_key_pem({PUBLIC_KEY_ENV: value} if value else None)
    except OSError as exc:
        raise ValueError(
            f"{PUBLIC_KEY_ENV}: the license public key cannot be read ({exc})"
        ) from None
    return pem


def _env_clock() -> Callable[[], float]:
    raw = os.environ.get(CLOCK_OFFSET_ENV, "").strip()
    try:
        offset = float(raw) if raw else 0.0
    except ValueError:
        log.warning("license.clock_offset_ignored", value=raw[:40])
        offset = 0.0
    if not offset:
        return time.time
    log.warning("license.clock_offset", offset_s=offset, note="tests only")
    return lambda: time.time() + offset
