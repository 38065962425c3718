"""Signed license statements as the services check them: the license server's signed answer
(or signed refusal) that the installation's agent forwards, opened with the vendor public key
alone.

The agent holds the installation's key; the other services never do. What they apply comes
only from a statement that verifies (:func:`open_statement`, built on
:func:`protocol.open_answer <network_discovery.licensing.protocol.open_answer>`) and from their
own clock (:meth:`SignedStatement.status`): plan, features, limits and expiry from the signed
payload; active, grace or restricted from its ``issued_at`` with the 24 h / 72 h rules of
:func:`network_discovery.licensing.state.evaluate`, the ones the agent and the CLI use.

A signed refusal (``"refused": "revoked" | "expired" | "device_limit"``) is the server's answer
to a correctly signed validate request for a key it will not serve; it carries the same key id,
fingerprint, nonce and ``issued_at`` as an answer, and means Community.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from network_discovery.licensing import protocol
from network_discovery.licensing.errors import LicenseInvalidError
from network_discovery.licensing.plans import PLAN_NAMES, features_for
from network_discovery.licensing.state import GRACE_S, VALIDITY_S, LicenseStatus, evaluate

__all__ = [
    "MAX_PAYLOAD_CHARS",
    "MAX_SIGNATURE_CHARS",
    "REFUSALS",
    "SignedStatement",
    "StatementError",
    "open_statement",
]

#: Bounds on what a follower is willing to verify at all (a genuine payload is ~600 characters,
#: a 4096-bit signature 684).
MAX_PAYLOAD_CHARS = 16_384
MAX_SIGNATURE_CHARS = 2_048

#: A signed refusal's reason → the status the services show (Community features).
REFUSALS: dict[str, str] = {
    "revoked": "invalid",
    "expired": "expired",
    "device_limit": "device_limit",
}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class StatementError(LicenseInvalidError):
    """A license statement that is not to be trusted; ``reason`` is a short code for logs."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class SignedStatement:
    """A verified statement of the license server about one key and one installation."""

    #: The signed object as received (``{"payload": text, "signature": base64}``).
    answer: dict[str, str]
    payload: dict[str, Any]
    #: ``issued_at`` (the server's clock), seconds since the epoch.
    issued: float
    key_id: str
    fingerprint: str
    #: ``None`` for an answer; the reason (a key of :data:`REFUSALS`) for a refusal.
    refused: str | None = None

    @property
    def binding(self) -> tuple[str, str]:
        """The key (by its lookup hash) and the installation (fingerprint) it is about."""
        return self.key_id, self.fingerprint

    @property
    def licensed_plan(self) -> str:
        return "community" if self.refused else str(self.payload["plan"])

    @property
    def expires(self) -> date | None:
        value = self.payload.get("expiration_date")
        return date.fromisoformat(value) if isinstance(value, str) else None

    def status(self, now: float) -> LicenseStatus:
        """What the statement means at ``now``, by the same rules as the agent's."""
        if self.refused is not None:
            return LicenseStatus(
                plan="community",
                status=REFUSALS[self.refused],
                features=features_for("community"),
                fingerprint=self.fingerprint,
                devices_registered=_int_or_none(self.payload.get("devices_registered")),
                devices_allowed=_int_or_none(self.payload.get("devices_allowed")),
                last_validated=datetime.fromtimestamp(self.issued, UTC),
                message=f"the license server refused the key ({self.refused})",
            )
        return evaluate(self.payload, self.issued, now)

    def transitions(self) -> tuple[float, ...]:
        """The moments at which :meth:`status` changes by the clock alone: grace, restricted,
        expired (the first second of the day after the expiration date, UTC)."""
        if self.refused is not None:
            return ()
        times = [self.issued + VALIDITY_S, self.issued + GRACE_S]
        expires = self.expires
        if expires is not None:
            after = datetime.combine(expires + timedelta(days=1), time.min, tzinfo=UTC)
            times.append(after.timestamp())
        return tuple(sorted(times))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise StatementError("malformed", f"signed payload has no {name}")
    return value


def open_statement(public_key: rsa.RSAPublicKey, answer: Any) -> SignedStatement:
    """The verified statement, or :class:`StatementError` (``reason`` says why: ``unsigned``,
    ``too_large``, ``bad_signature`` or ``malformed``)."""
    if not isinstance(answer, dict):
        raise StatementError("unsigned", "license statement is not a signed object")
    text, signature = answer.get("payload"), answer.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise StatementError("unsigned", "license statement is unsigned")
    if len(text) > MAX_PAYLOAD_CHARS or len(signature) > MAX_SIGNATURE_CHARS:
        raise StatementError("too_large", "license statement is larger than any genuine one")
    try:
        payload = protocol.open_answer(public_key, {"payload": text, "signature": signature})
    except LicenseInvalidError as exc:
        raise StatementError("bad_signature", str(exc)) from None
    except ValueError:  # signed, but not JSON: never produced by the server
        raise StatementError("malformed", "signed payload is not JSON") from None
    key_id, fingerprint = _text(payload, "key_id"), _text(payload, "fingerprint")
    if not _HEX64.match(key_id) or not _HEX64.match(fingerprint):
        raise StatementError("malformed", "signed payload names no key id or fingerprint")
    try:
        issued_at = datetime.fromisoformat(_text(payload, "issued_at"))
    except ValueError:
        raise StatementError("malformed", "signed issued_at is not a timestamp") from None
    if issued_at.tzinfo is None:
        raise StatementError("malformed", "signed issued_at has no time zone")
    refused = payload.get("refused")
    if refused is not None:
        if refused not in REFUSALS:
            raise StatementError("malformed", "signed refusal names an unknown reason")
    else:
        _check_answer(payload)
    return SignedStatement(
        answer={"payload": text, "signature": signature},
        payload=payload,
        issued=issued_at.timestamp(),
        key_id=key_id,
        fingerprint=fingerprint,
        refused=refused,
    )


def _check_answer(payload: dict[str, Any]) -> None:
    if payload.get("plan") not in PLAN_NAMES:
        raise StatementError("malformed", "signed answer names no known plan")
    try:
        date.fromisoformat(_text(payload, "expiration_date"))
    except ValueError:
        raise StatementError("malformed", "signed expiration_date is not a date") from None
    features = payload.get("features")
    if not isinstance(features, dict) or not all(
        isinstance(k, str) and isinstance(v, bool | int) for k, v in features.items()
    ):
        raise StatementError("malformed", "signed answer has no feature table")
