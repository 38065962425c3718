"""The license agent: validates the installation's key, keeps grace across restarts, publishes.

Every replica runs :meth:`LicenseAgent.tick` periodically; a PostgreSQL advisory lock lets one
at a time validate, save the sealed state and, when the plan, the status or the signed answer
changed, enqueue a ``license.state`` event in the outbox (same transaction). All replicas share
the installation id and host facts recorded by the first one, hence one fingerprint and one
seat.

Every state the agent publishes or answers carries the license server's signed answer (or
signed refusal) it rests on, verbatim: the services verify it with the vendor public key and
derive what they apply from it and their own clock, so nothing the agent adds is trusted. Each
new answer (every 24 h) is published, so the services' clocks see it is fresh. ``GET /license``
is derived from the sealed state (AES-GCM under the key), never read back from the
``published`` column, which serves only to notice a change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from meshq_runtime.outbox import OutboxRelay, enqueue
from network_discovery.contracts.events import (
    LicenseState,
    LicenseStateData,
    SignedLicenseAnswer,
)
from network_discovery.licensing import client, protocol
from network_discovery.licensing.errors import (
    AnswerTamperedError,
    ClockSkewError,
    DeviceLimitExceededError,
    LicenseError,
    LicenseExpiredError,
    LicenseNotFoundError,
    LicenseServerUnreachableError,
)
from network_discovery.licensing.fingerprint import fingerprint
from network_discovery.licensing.sealed import SealError, seal, unseal
from network_discovery.licensing.state import (
    LicenseStatus,
    error_status,
    evaluate,
    is_due,
    plain_status,
)

from meshq_licensing.agent.repository import AgentRepository

__all__ = ["LicenseAgent"]

log = structlog.get_logger(__name__)

SERVICE = "licensing"
_SOFT = (LicenseServerUnreachableError, ClockSkewError, AnswerTamperedError)
_HARD = {
    LicenseNotFoundError: "not_found",
    LicenseExpiredError: "expired",
    DeviceLimitExceededError: "device_limit",
}


class LicenseAgent:
    def __init__(
        self,
        pool: asyncpg.Pool,
        repo: AgentRepository,
        relay: OutboxRelay | None,
        *,
        key: str,
        url: str,
        public_key: rsa.RSAPublicKey,
        installation_id: str,
        facts: dict[str, str],
        retry_interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool, self._repo, self._relay = pool, repo, relay
        self._key, self._url, self._public_key = key, url, public_key
        self.installation_id, self.facts = installation_id, facts
        self.fingerprint = fingerprint(facts, installation_id)
        self._retry = retry_interval_s
        self._clock = clock
        self._material = key.encode() + b"\0" + installation_id.encode()
        self._binding = b"meshq-license-agent:v1:" + installation_id.encode()

    async def current(self) -> dict[str, Any] | None:
        """What ``GET /license`` answers: the state of the sealed record now, with its signed
        answer; None until the first evaluation. The ``published`` column is not read: a row
        edited in PostgreSQL changes nothing that is served."""
        row = await self._repo.snapshot()
        if row is None:
            return None
        record = self._open(row["sealed_state"])
        verified = self._verified(record) if self._key else None
        status = self._settled(record, verified, self._clock())
        data = self._data(status, row["revision"], _statement(record, verified is not None))
        return data.model_dump(mode="json")

    async def tick(self, *, force: bool = False) -> bool:
        """Validate when due, re-evaluate grace, publish a change; False when another replica
        holds the lock."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self._repo.try_lock(conn):
                return False
            row = await self._repo.load(conn)
            record = self._open(row["sealed_state"])
            record, status, statement = await self._advance(record, force=force)
            data = self._data(status, row["revision"], statement)
            previous = row["published"]
            changed = previous is None or _signature(previous) != _signature(data)
            revision = row["revision"] + 1 if changed else row["revision"]
            published = data.model_copy(update={"revision": revision}).model_dump(mode="json")
            if not changed and previous is not None:
                published = {**published, "grace_hours_left": data.grace_hours_left}
            await self._repo.save(
                conn, seal(self._material, self._binding, record), revision, published
            )
            if changed:
                event = LicenseState(
                    source=SERVICE,
                    subject=self.installation_id,
                    data=LicenseStateData.model_validate(published),
                )
                await enqueue(conn, SERVICE, event)
                log.info(
                    "license.state_changed",
                    plan=status.plan,
                    status=status.status,
                    revision=revision,
                )
        if changed and self._relay is not None:
            self._relay.notify()
        return True

    def _open(self, sealed: bytes | None) -> dict[str, Any]:
        if not sealed:
            return {}
        try:
            return unseal(self._material, self._binding, sealed)
        except SealError:
            log.warning("license.agent_state_discarded", reason="does not open")
            return {}

    def _verified(self, record: dict[str, Any]) -> tuple[dict[str, Any], float] | None:
        if not record.get("answer"):
            return None
        try:
            payload = protocol.open_answer(self._public_key, record["answer"])
            if (
                payload.get("key_id") != protocol.key_id(self._key)
                or payload.get("fingerprint") != self.fingerprint
            ):
                raise AnswerTamperedError("stored answer is for another key or installation")
            return payload, float(record["last_success"])
        except (LicenseError, KeyError, TypeError, ValueError):
            log.warning("license.agent_state_discarded", reason="not a genuine answer")
            return None

    async def _advance(
        self, record: dict[str, Any], *, force: bool
    ) -> tuple[dict[str, Any], LicenseStatus, dict[str, str] | None]:
        """The new record, its status and the signed statement it rests on."""
        if not self._key:
            return {}, plain_status("community", "community", self.fingerprint), None
        now = self._clock()
        verified = self._verified(record)
        last_attempt = float(record.get("last_attempt") or 0.0)
        due = verified is None or is_due(verified[1], now)
        if force or (due and now - last_attempt >= self._retry):
            try:
                result = await asyncio.to_thread(
                    client.validate,
                    self._key,
                    url=self._url,
                    public_key=self._public_key,
                    fingerprint=self.fingerprint,
                    facts=self.facts,
                    now=now,
                )
            except _SOFT as exc:
                log.warning("license.validation_failed", error=type(exc).__name__)
                record = {**record, "last_attempt": now}
                statement = _statement(record, verified is not None)
                if verified is None:
                    return record, error_status("unverified", exc, self.fingerprint), statement
                return record, evaluate(*verified, now, message=str(exc)), statement
            except LicenseError as exc:
                log.warning(
                    "license.rejected", error=type(exc).__name__, signed=exc.answer is not None
                )
                status = error_status(_HARD.get(type(exc), "invalid"), exc, self.fingerprint)
                record = {"last_attempt": now, "hard": status.status, "message": str(exc)}
                if exc.answer is not None:  # the server's signed refusal: services can check it
                    record["refusal"] = exc.answer
                return record, status, _statement(record, False)
            record = {"answer": result["answer"], "last_success": now, "last_attempt": now}
            return record, evaluate(result["payload"], now, now), _statement(record, True)
        return (
            record,
            self._settled(record, verified, now),
            _statement(record, verified is not None),
        )

    def _settled(
        self,
        record: dict[str, Any],
        verified: tuple[dict[str, Any], float] | None,
        now: float,
    ) -> LicenseStatus:
        """The status of the stored record at ``now``, without contacting the server."""
        if not self._key:
            return plain_status("community", "community", self.fingerprint)
        if verified is not None:
            return evaluate(*verified, now)
        if record.get("hard"):
            return plain_status(
                "community", record["hard"], self.fingerprint, str(record.get("message", ""))
            )
        return plain_status("community", "unverified", self.fingerprint)

    def _data(
        self, status: LicenseStatus, revision: int, answer: dict[str, str] | None
    ) -> LicenseStateData:
        expires = (
            datetime(status.expires.year, status.expires.month, status.expires.day, tzinfo=UTC)
            if status.expires
            else None
        )
        return LicenseStateData(
            plan=status.plan,
            status=status.status,
            features=dict(status.features),
            expires=expires,
            grace_hours_left=status.grace_hours_left,
            message=status.message[:500],
            revision=revision,
            installation_id=self.installation_id,
            licensed_plan=status.licensed_plan,
            last_validated=status.last_validated,
            devices_registered=status.devices_registered,
            devices_allowed=status.devices_allowed,
            answer=SignedLicenseAnswer.model_validate(answer) if answer else None,
        )


def _statement(record: dict[str, Any], verified: bool) -> dict[str, str] | None:
    """The signed statement a state rests on: the (verified) answer, else a signed refusal."""
    if verified:
        answer: dict[str, str] = record["answer"]
        return {"payload": answer["payload"], "signature": answer["signature"]}
    refusal = record.get("refusal")
    if record.get("hard") and isinstance(refusal, dict):
        return {"payload": str(refusal["payload"]), "signature": str(refusal["signature"])}
    return None


def _signature(data: Any) -> tuple[Any, ...]:
    """What counts as a change worth an event: plan, status, licensed plan, limits, expiry, and
    the signed answer (each new one is published, so the services see it is fresh)."""
    d = data if isinstance(data, dict) else data.model_dump(mode="json")
    answer = d.get("answer") or {}
    return (
        d["plan"],
        d["status"],
        d.get("licensed_plan"),
        d.get("expires"),
        d.get("devices_allowed"),
        d.get("devices_registered"),
        tuple(sorted(d["features"].items())),
        answer.get("signature"),
    )
