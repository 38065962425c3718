"""What a service's LicenseFollower applies: only what a signed answer proves, by its own clock.

No broker here: states are offered as the topic or ``GET /license`` would deliver them (the
real-broker attacks are in tests/integration/licensing/test_license_attacks.py).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import structlog
from meshq_runtime.license import LicenseFollower
from meshq_runtime.service_auth import ServiceCredential, generate_token
from network_discovery.contracts.events import LicenseStateData
from network_discovery.licensing import protocol
from network_discovery.licensing.gates import FeatureNotAvailableError
from network_discovery.licensing.plans import features_for
from network_discovery.licensing.proof import StatementError, open_statement
from support.license import (
    TEST_FINGERPRINT,
    signed_answer,
    signing_private_key,
    signing_public_pem,
)

H = 3600.0
T0 = float(int(datetime.now(UTC).timestamp()))
ALL_ON = {
    k: (True if isinstance(v, bool) else 10**9) for k, v in features_for("enterprise").items()
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def at(hours: float) -> datetime:
    return datetime.fromtimestamp(T0 + hours * H, UTC)


def state(
    plan: str = "pro", *, revision: int = 1, answer: dict[str, str] | None = None, **over: Any
) -> LicenseStateData:
    body: dict[str, Any] = {
        "plan": plan,
        "status": "active",
        "features": features_for(plan),
        "revision": revision,
        "licensed_plan": plan,
        "answer": answer,
        **over,
    }
    return LicenseStateData.model_validate(body)


def signed(plan: str = "pro", hours: float = 0.0, revision: int = 1, **kw: Any) -> LicenseStateData:
    return state(plan, revision=revision, answer=signed_answer(plan, issued_at=at(hours), **kw))


def make(
    clock: Clock | None = None,
    agent: LicenseStateData | list[LicenseStateData] | None = None,
    **kw: Any,
) -> LicenseFollower:
    """A follower whose agent serves ``agent`` (a list: its last item, changeable)."""

    def answer(_: httpx.Request) -> httpx.Response:
        served = (agent[-1] if agent else None) if isinstance(agent, list) else agent
        if served is None:
            return httpx.Response(503)
        return httpx.Response(200, json=served.model_dump(mode="json"))

    return LicenseFollower(
        SimpleNamespace(licensing_url="http://agent"),
        http=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        credential=ServiceCredential(generate_token(), caller="tests"),
        public_key=signing_public_pem(),
        clock=clock or Clock(),
        **kw,
    )


async def test_a_signed_answer_applies_by_its_payload() -> None:
    follower = make()
    assert await follower.offer(signed("pro"))
    assert (follower.plan, follower.state.status, follower.verified) == ("pro", "active", True)
    assert follower.check("api_access")
    with pytest.raises(FeatureNotAvailableError):
        follower.check("oidc_sso")


async def test_forged_unsigned_enterprise_with_a_huge_revision_changes_nothing() -> None:
    follower = make()
    await follower.offer(signed("pro"))
    forged = state("enterprise", revision=2**31, features=ALL_ON)
    with structlog.testing.capture_logs() as logs:
        assert not await follower.offer(forged)
    assert follower.plan == "pro" and not follower.allows("oidc_sso")
    refused = [e for e in logs if e["event"] == "license.event_refused"]
    assert refused and refused[0]["reason"] == "unsigned_plan"
    assert "upgrade the license agent" in refused[0]["fix"]
    assert refused[0]["log_level"] == "warning"
    # the agent's next (signed, low revision) state still applies
    assert await follower.offer(signed("pro", hours=1, revision=3))
    assert follower.state.revision == 3


async def test_altered_payload_or_foreign_key_is_refused() -> None:
    follower = make()
    await follower.offer(signed("pro"))
    genuine = signed_answer("pro", issued_at=at(1))
    text = genuine["payload"].replace('"plan":"pro"', '"plan":"enterprise"')
    assert text != genuine["payload"]
    altered = state("enterprise", answer={**genuine, "payload": text})
    assert not await follower.offer(altered)
    other_private, _ = protocol.generate_key_pair(2048)
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(other_private.encode(), None)
    foreign = signed("enterprise", hours=2, private_key=key)
    assert not await follower.offer(foreign)
    assert follower.refused["bad_signature"] == 2 and follower.plan == "pro"


async def test_an_older_signed_answer_is_refused_whatever_its_revision() -> None:
    follower = make()
    old = signed("enterprise", hours=0, revision=1)  # a genuine answer of an earlier plan
    await follower.offer(signed("pro", hours=5, revision=2))
    with structlog.testing.capture_logs() as logs:
        assert not await follower.offer(old.model_copy(update={"revision": 10**6}))
    assert follower.plan == "pro" and follower.refused["older"] == 1
    assert any(e.get("reason") == "older" for e in logs)


async def test_unsigned_states_mean_community_and_never_lower_a_verified_plan() -> None:
    follower = make()
    # nothing verified: an unsigned Community state applies, with Community's own features
    forged_flags = state("community", status="community", features=ALL_ON, revision=4)
    assert await follower.offer(forged_flags)
    assert follower.known and follower.plan == "community"
    assert not follower.allows("api_access")
    assert follower.features == features_for("community")
    # verified Pro: a forged (or late) unsigned "community"/"restricted" state lowers nothing
    await follower.offer(signed("pro", revision=5))
    for status in ("community", "restricted", "invalid"):
        assert not await follower.offer(state("community", status=status, revision=99))
    assert follower.plan == "pro" and follower.allows("api_access")


async def test_an_agent_of_the_previous_version_means_community_with_a_warning() -> None:
    follower = make()
    with structlog.testing.capture_logs() as logs:
        assert not await follower.offer(state("pro", revision=3), source="agent")
    assert follower.plan == "community" and follower.known
    assert "upgrade" in follower.state.message
    assert any("upgrade the license agent" in str(e.get("fix")) for e in logs)


async def test_grace_restricted_and_expiry_follow_the_followers_clock() -> None:
    clock = Clock()
    follower = make(clock)
    expires = date.fromtimestamp(T0 + 10 * 24 * H)
    await follower.offer(signed("pro", expiration=expires))
    seen = {}
    for hours in (23, 25, 71, 73):
        clock.now = T0 + hours * H
        seen[hours] = (follower.plan, follower.allows("api_access"))
    assert seen == {
        23: ("pro", True),
        25: ("pro", True),
        71: ("pro", True),
        73: ("community", False),
    }
    # a newer signed answer (the agent validated again) restores at once; the expiry date holds
    assert await follower.offer(signed("pro", hours=73, revision=2, expiration=expires))
    assert follower.plan == "pro"
    clock.now = T0 + 12 * 24 * H
    assert follower.plan == "community"


async def test_the_timer_applies_grace_and_restricted_without_any_event() -> None:
    clock = Clock()
    follower = make(clock, recheck_interval=0.02)
    await follower.offer(signed("pro"), source="agent")
    changes: list[str] = []
    follower.on_change(lambda s: changes.append(s.status))
    import asyncio

    watcher = asyncio.create_task(follower._watch())
    try:
        clock.now = T0 + 25 * H
        grace = await follower.wait_for(lambda s: s.status == "grace", timeout=5)
        assert grace.plan == "pro" and 46 < (grace.grace_hours_left or 0) < 48
        clock.now = T0 + 73 * H
        restricted = await follower.wait_for(lambda s: s.status == "restricted", timeout=5)
        assert restricted.plan == "community"
    finally:
        watcher.cancel()
    assert changes == ["grace", "restricted"]


async def test_a_signed_refusal_of_the_same_key_ends_the_plan_another_ones_does_not() -> None:
    follower = make()
    await follower.offer(signed("enterprise", hours=0))
    stranger = signed("community", hours=1, key_id="e" * 64, refused="revoked")
    assert not await follower.offer(stranger)
    assert follower.plan == "enterprise"
    revoked = signed("enterprise", hours=2, refused="revoked")
    assert await follower.offer(revoked)
    assert (follower.plan, follower.state.status) == ("community", "invalid")


async def test_answers_of_another_installation_are_refused_unless_the_agent_vouches() -> None:
    ours = signed("pro", revision=1)
    follower = make(agent=ours)
    await follower.refresh()  # the agent's own answer sets key and installation
    assert follower.plan == "pro"
    theirs = signed("enterprise", hours=1, revision=50, fingerprint="a" * 64)
    assert not await follower.offer(theirs)
    assert follower.plan == "pro" and follower.refused["other_installation"] == 1
    # the agent itself moved to another key: what it serves wins
    moved = make(agent=theirs)
    await moved.offer(ours, source="agent")
    await moved.refresh()
    assert moved.plan == "enterprise"


async def test_a_community_agent_vouches_for_no_signed_answer_from_the_topic() -> None:
    """Someone's genuine Enterprise answer published on a Community installation's topic (one
    paid seat shared with others) is refused while the agent holds no signed answer; once
    the agent has a key of its own, its answer applies."""
    served = [state("community", status="community", answer=None)]
    follower = make(agent=served)
    await follower.refresh()
    bought_elsewhere = signed("enterprise", fingerprint="c" * 64, revision=9)
    with structlog.testing.capture_logs() as logs:
        assert not await follower.offer(bought_elsewhere)
    assert follower.plan == "community" and follower.refused["unconfirmed"] == 1
    assert any(e.get("reason") == "unconfirmed" for e in logs)
    served.append(signed("pro", hours=1, revision=2))  # the agent was given a key
    assert not await follower.offer(served[-1])  # its event comes first: it is asked…
    await follower.refresh()  # …and what it serves applies
    assert follower.plan == "pro" and follower.verified


async def test_a_state_taken_from_the_topic_ends_when_the_agent_holds_no_proof() -> None:
    served: list[LicenseStateData] = []
    follower = make(agent=served)  # the agent does not answer yet
    await follower.refresh()
    assert await follower.offer(signed("enterprise", fingerprint="d" * 64))
    assert follower.plan == "enterprise"  # provisional: nobody vouched for it yet
    served.append(state("community", status="community"))
    await follower.refresh()
    assert follower.plan == "community" and not follower.verified


def test_statements_are_checked_for_shape() -> None:
    key = protocol.load_public_key(signing_public_pem())
    good = signed_answer("pro")
    assert open_statement(key, good).fingerprint == TEST_FINGERPRINT
    cases = {
        "unsigned": {"payload": good["payload"]},
        "too_large": {"payload": "x" * 20_000, "signature": good["signature"]},
        "bad_signature": {**good, "signature": good["signature"][::-1]},
    }
    for reason, answer in cases.items():
        with pytest.raises(StatementError) as err:
            open_statement(key, answer)
        assert err.value.reason == reason
    payload = json.loads(good["payload"])
    assert payload["issued_at"].endswith("+00:00")
    broken: list[dict[str, Any]] = [
        {"plan": "platinum"},
        {"issued_at": "yesterday"},
        {"issued_at": "2030-01-01T00:00:00"},  # no time zone
        {"features": []},
        {"fingerprint": "not hex"},
        {"refused": "bored"},
    ]
    for change in broken:
        answer = protocol.sign_answer(signing_private_key(), {**payload, **change})
        with pytest.raises(StatementError) as err:
            open_statement(key, answer)
        assert err.value.reason == "malformed", change


def test_the_clock_offset_hook_and_a_bad_public_key(monkeypatch) -> None:
    monkeypatch.setenv("MESHQ_LICENSE_CLOCK_OFFSET_S", str(25 * H))
    follower = LicenseFollower(SimpleNamespace(), public_key=signing_public_pem())
    assert follower._clock() > datetime.now(UTC).timestamp() + 24 * H
    with pytest.raises(ValueError):
        LicenseFollower(SimpleNamespace(), public_key="/nonexistent/license.pem")
