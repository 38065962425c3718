"""The license agent's state change as it travels on the license topic: what a service's
``LicenseFollower`` reads, published here without running the agent and its license server.

Services follow only states that carry a license server's signed answer, checked with
``MESHOPTIXIQ_LICENSE_PUBLIC_KEY``: the tests' processes get :func:`signing_public_pem` there (see
``service_env``), and :func:`publish_license` signs with its private half, as a license server
of that key pair would.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from network_discovery.contracts import topics
from network_discovery.contracts.events import LicenseState, LicenseStateData
from network_discovery.licensing import protocol
from network_discovery.licensing.plans import features_for

__all__ = [
    "TEST_FINGERPRINT",
    "TEST_KEY_ID",
    "publish_license",
    "publish_state",
    "signed_answer",
    "signing_key_pair",
    "signing_private_key",
    "signing_public_pem",
]

#: The key and installation the tests' signed answers are about (one installation per test
#: process: its followers bind to them).
TEST_KEY_ID = hashlib.sha256(b"meshq-tests:key").hexdigest()
TEST_FINGERPRINT = hashlib.sha256(b"meshq-tests:installation").hexdigest()
_last_issued: list[datetime] = []


@functools.cache
def signing_key_pair() -> tuple[str, str]:
    """The tests' license-signing key pair (private PEM, public PEM), one per test process."""
    return protocol.generate_key_pair(2048)


def signing_public_pem() -> str:
    return signing_key_pair()[1]


@functools.cache
def signing_private_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(signing_key_pair()[0].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _issued_now() -> datetime:
    """Now, strictly after the previous answer signed here (followers refuse an older one)."""
    now = datetime.now(UTC)
    if _last_issued and now <= _last_issued[-1]:
        now = _last_issued[-1] + timedelta(microseconds=1)
    _last_issued[:] = [now]
    return now


def signed_answer(
    plan: str,
    *,
    features: dict[str, bool | int] | None = None,
    issued_at: datetime | None = None,
    expiration: date | None = None,
    key_id: str = TEST_KEY_ID,
    fingerprint: str = TEST_FINGERPRINT,
    private_key: rsa.RSAPrivateKey | None = None,
    **extra: Any,
) -> dict[str, str]:
    """A validate answer as the license server signs it (``extra`` adds or overrides fields,
    e.g. ``refused="revoked"`` for a signed refusal)."""
    payload: dict[str, Any] = {
        "key_id": key_id,
        "nonce": secrets.token_hex(16),
        "fingerprint": fingerprint,
        "plan": plan,
        "features": features if features is not None else features_for(plan),
        "expiration_date": (expiration or date.today() + timedelta(days=365)).isoformat(),
        "devices_registered": 1,
        "devices_allowed": int(features_for(plan)["max_managed_devices"]),
        "issued_at": (issued_at or _issued_now()).isoformat(),
        **extra,
    }
    return protocol.sign_answer(private_key or signing_private_key(), payload)


async def publish_state(env: dict[str, str], data: LicenseStateData) -> None:
    """Publish ``data`` on the license topic of the processes started with ``env``."""
    event = LicenseState(source="licensing", subject="installation", data=data)
    producer = AIOKafkaProducer(bootstrap_servers=env["MESHQ_KAFKA_BOOTSTRAP"])
    await producer.start()
    try:
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.LICENSE_EVENTS.name
        await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"license")
    finally:
        await producer.stop()


async def publish_license(
    env: dict[str, str], plan: str, revision: int = 1, **features: bool
) -> None:
    """Publish the plan's state as the agent does, with a signed answer issued now;
    ``features`` overrides single flags (a key issued with a custom feature set)."""
    flags = {**features_for(plan), **features}
    data = LicenseStateData.model_validate(
        {
            "plan": plan,
            "status": "active",
            "features": flags,
            "revision": revision,
            "licensed_plan": plan,
            "answer": signed_answer(plan, features=flags),
        }
    )
    await publish_state(env, data)
