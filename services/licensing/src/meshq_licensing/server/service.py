"""License server logic: issue, validate (HMAC, skew, nonce, binding), renew, revoke, purge."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from meshq_runtime.http import ProblemError
from network_discovery.licensing import protocol
from network_discovery.licensing.plans import PLAN_NAMES, features_for
from network_discovery.licensing.sealed import SealError, seal, unseal

from meshq_licensing.server.repository import ServerRepository

__all__ = ["LicenseServer", "SignedRequest"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SignedRequest:
    key_id: str
    timestamp: str
    nonce: str
    signature: str
    body: bytes


def _problem(status: int, title: str, detail: str, reason: str, **ext: Any) -> ProblemError:
    return ProblemError(status, title, detail, reason=reason, **ext)


class LicenseServer:
    def __init__(
        self,
        repo: ServerRepository,
        *,
        signing_key: rsa.RSAPrivateKey,
        master_key: bytes,
        revoked_retention_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo, self._signing_key, self._master = repo, signing_key, master_key
        self._retention = revoked_retention_s
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # --- admin ---------------------------------------------------------------------------

    async def issue(self, plan: str, expiration_date: date, customer: str = "") -> dict[str, Any]:
        if plan not in PLAN_NAMES:
            raise ProblemError(422, "Invalid plan", f"plan must be one of {', '.join(PLAN_NAMES)}")
        key = protocol.new_license_key(plan)
        kid = protocol.key_id(key)
        secret = base64.b64encode(protocol.derive_secret(key)).decode()
        sealed = seal(self._master, kid.encode(), {"secret": secret})
        limit = int(features_for(plan)["max_managed_devices"])
        row = await self._repo.insert_key(kid, plan, customer, sealed, expiration_date, limit)
        log.info("license.issued", key_id=kid[:12], plan=plan, expiration_date=str(expiration_date))
        return {"key": key, **self._describe(row)}

    async def renew(self, key_id: str, expiration_date: date) -> dict[str, Any]:
        row = await self._repo.renew(key_id, expiration_date)
        if row is None:
            raise ProblemError(404, "License not found", "no license with this key id")
        log.info("license.renewed", key_id=key_id[:12], expiration_date=str(expiration_date))
        return self._describe(row)

    async def revoke(self, key_id: str) -> dict[str, Any]:
        row = await self._repo.revoke(key_id, self.now())
        if row is None:
            raise ProblemError(404, "License not found", "no license with this key id")
        log.info("license.revoked", key_id=key_id[:12])
        return self._describe(row)

    async def devices(self, key_id: str) -> dict[str, Any]:
        row = await self._live(key_id)
        devices = await self._repo.devices(row["id"])
        return {
            **self._describe(row),
            "devices": [
                {
                    "fingerprint": d["fingerprint"],
                    "hostname": d["hostname"],
                    "registered_at": d["registered_at"].isoformat(),
                    "last_seen": d["last_seen"].isoformat(),
                }
                for d in devices
            ],
        }

    async def deregister(self, key_id: str, fingerprint: str) -> None:
        row = await self._live(key_id)
        if not await self._repo.deregister(row["id"], fingerprint):
            raise ProblemError(404, "Device not found", "no such device on this license")
        log.info("license.device_deregistered", key_id=key_id[:12], device=fingerprint[:12])

    async def purge(self) -> int:
        before = self.now() - timedelta(seconds=self._retention)
        purged = await self._repo.purge_revoked(before)
        await self._repo.forget_nonces(self.now() - timedelta(seconds=4 * protocol.MAX_SKEW_S))
        if purged:
            log.info("license.purged", count=purged)
        return purged

    async def _live(self, key_id: str) -> Any:
        await self.purge()
        row = await self._repo.get_key(key_id)
        if row is None:
            raise ProblemError(404, "License not found", "no license with this key id")
        return row

    def _describe(self, row: Any) -> dict[str, Any]:
        return {
            "key_id": row["key_id"],
            "plan": row["plan"],
            "customer": row["customer"],
            "expiration_date": row["expiration_date"].isoformat(),
            "max_devices": row["max_devices"],
            "revoked": row["revoked_at"] is not None,
        }

    # --- validate --------------------------------------------------------------------------

    async def validate(self, req: SignedRequest, path: str) -> dict[str, str]:
        now = self.now()
        row = await self._live(req.key_id)
        secret = self._secret(row)
        if not protocol.verify_request(
            secret, req.signature, "POST", path, req.timestamp, req.nonce, req.body
        ):
            raise _problem(
                401, "Bad signature", "request signature does not match", "bad_signature"
            )
        try:
            skew = abs(now.timestamp() - int(req.timestamp))
        except ValueError:
            raise _problem(
                401, "Bad timestamp", "timestamp is not an integer", "bad_signature"
            ) from None
        if skew > protocol.MAX_SKEW_S:
            raise _problem(
                401, "Clock skew", "request time is more than 5 minutes from UTC", "clock_skew"
            )
        if not await self._repo.remember_nonce(req.key_id, req.nonce, now):
            raise _problem(401, "Replayed request", "this nonce was already used", "replay")
        body = _body(req.body)
        fp = str(body.get("fingerprint", ""))
        if row["revoked_at"] is not None:
            raise self._refusal(req, fp, now, 403, "License revoked", "invalid", "revoked")
        if row["expiration_date"] < now.date():
            raise self._refusal(
                req, fp, now, 402, "License expired", "the expiration date has passed", "expired"
            )
        if len(fp) != 64:
            raise ProblemError(400, "Invalid request", "fingerprint is required")
        bound, count = await self._repo.bind_device(
            row["id"], row["max_devices"], fp, str(body.get("hostname", ""))[:255], now
        )
        if not bound:
            log.info("license.device_limit", key_id=req.key_id[:12], registered=count)
            raise self._refusal(
                req,
                fp,
                now,
                409,
                "Device limit exceeded",
                "every installation seat is taken: deregister a device or upgrade the plan",
                "device_limit",
                devices_registered=count,
                devices_allowed=row["max_devices"],
            )
        payload = {
            "key_id": req.key_id,
            "nonce": req.nonce,
            "fingerprint": fp,
            "plan": row["plan"],
            "features": features_for(row["plan"]),
            "expiration_date": row["expiration_date"].isoformat(),
            "devices_registered": count,
            "devices_allowed": row["max_devices"],
            "issued_at": now.isoformat(),
        }
        log.info("license.validated", key_id=req.key_id[:12], plan=row["plan"], devices=count)
        return protocol.sign_answer(self._signing_key, payload)

    def _refusal(
        self,
        req: SignedRequest,
        fp: str,
        now: datetime,
        status: int,
        title: str,
        detail: str,
        reason: str,
        **ext: Any,
    ) -> ProblemError:
        """A refusal of a correctly signed request, with a signed statement of it (``answer``)
        that the installation's services can check like an answer: it names the key id, the
        fingerprint, the request's nonce and the time, so it proves nothing about any other
        installation, key or moment. Only key holders reach this point (HMAC, fresh nonce)."""
        if len(fp) == 64:
            statement = {
                "key_id": req.key_id,
                "nonce": req.nonce,
                "fingerprint": fp,
                "refused": reason,
                "issued_at": now.isoformat(),
                **ext,
            }
            ext = {**ext, "answer": protocol.sign_answer(self._signing_key, statement)}
        return _problem(status, title, detail, reason, **ext)

    def _secret(self, row: Any) -> bytes:
        try:
            data = unseal(self._master, row["key_id"].encode(), bytes(row["secret_sealed"]))
            return base64.b64decode(data["secret"])
        except (SealError, KeyError, ValueError) as exc:
            log.error("license.secret_unreadable", key_id=row["key_id"][:12])
            raise ProblemError(500, "Server key store error") from exc


def _body(raw: bytes) -> dict[str, Any]:
    import json

    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise ProblemError(400, "Invalid request", "body is not JSON") from None
    if not isinstance(data, dict):
        raise ProblemError(400, "Invalid request", "body is not an object")
    return data
