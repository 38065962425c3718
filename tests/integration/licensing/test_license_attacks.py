"""Issue 19, "nothing trusted without proof": the attacks on the license that services follow,
against the real license server, the real agent, the real broker topic and PostgreSQL.

A service's LicenseFollower (in this process, as in test_license_agent.py) applies only what a
license server's signed answer proves, by its own clock; see docs/licensing.md.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from meshq_runtime.license import LicenseFollower
from meshq_runtime.settings import KafkaSettings, LicenseClientSettings
from network_discovery.contracts.events import LicenseStateData
from network_discovery.licensing import client, protocol
from network_discovery.licensing.plans import features_for
from support.license import publish_state
from support.procs import internal_headers, wait_for

pytestmark = pytest.mark.integration

ALL_ON = {
    k: (True if isinstance(v, bool) else 10**6) for k, v in features_for("enterprise").items()
}


class FollowerSettings(KafkaSettings, LicenseClientSettings):
    pass


def agent_env(service_env, server, key: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **service_env,
        "MESHQ_POSTGRES_URL": database_url,
        "MESHOPTIXIQ_LICENSE_KEY": key,
        "MESHOPTIXIQ_LICENSE_URL": server.url,
        "MESHOPTIXIQ_LICENSE_PUBLIC_KEY": server.public_pem,
        "MESHQ_LICENSE_CHECK_INTERVAL_S": "0.5",
        "MESHQ_LICENSE_RETRY_INTERVAL_S": "1",
        **extra,
    }


def license_of(agent) -> dict:
    r = httpx.get(f"{agent.url}/license", headers=internal_headers(agent.env), timeout=5)
    r.raise_for_status()
    return r.json()


def follower_for(service_env, agent, server) -> LicenseFollower:
    settings = FollowerSettings(
        **{k: v for k, v in service_env.items() if k.startswith("MESHQ_KAFKA_")},
        MESHQ_LICENSING_URL=agent.url,
        MESHQ_SERVICE_TOKEN=service_env["MESHQ_SERVICE_TOKEN"],
    )
    return LicenseFollower(settings, public_key=server.public_pem, recheck_interval=0.5)


def forged(plan: str = "enterprise", **over) -> LicenseStateData:
    body = {
        "plan": plan,
        "status": "active",
        "features": ALL_ON if plan == "enterprise" else features_for(plan),
        "revision": 2_000_000_000,
        "licensed_plan": plan,
        **over,
    }
    return LicenseStateData.model_validate(body)


async def until(check, what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def test_forged_events_on_the_topic_change_nothing_and_the_agent_still_applies(
    spawn, service_env, license_server, new_database
) -> None:
    issued = license_server.issue("pro")
    env = agent_env(service_env, license_server, issued["key"], new_database())
    agent = spawn("meshq_licensing", env, name="agent").wait_healthy()
    wait_for(lambda: license_of(agent)["status"] == "active", timeout=30, what="active")
    served = license_of(agent)
    genuine = served["answer"]
    enterprise_text = genuine["payload"].replace('"plan":"pro"', '"plan":"enterprise"')

    async def pod() -> None:
        follower = follower_for(service_env, agent, license_server)
        await follower.start()
        try:
            await follower.wait_for(lambda s: s.plan == "pro", timeout=30)
            before = follower.state.last_validated
            # the attack as found: enterprise, a huge revision; then variations on it
            await publish_state(service_env, forged())
            await publish_state(
                service_env,
                forged(answer={"payload": enterprise_text, "signature": genuine["signature"]}),
            )
            await publish_state(service_env, forged("community", status="restricted"))
            await until(
                lambda: sum(follower.refused.values()) >= 3, "the forged events to be refused"
            )
            assert follower.refused["unsigned_plan"] == 1
            assert follower.refused["bad_signature"] == 1
            assert follower.refused["unsigned_after_signed"] == 1
            assert follower.plan == "pro" and follower.state.status == "active"
            assert follower.check("api_access") and not follower.allows("oidc_sso")
            assert follower.features["max_network_devices"] == 750

            # the real agent's next event still applies (a new validation at its restart)
            agent.stop()
            again = spawn("meshq_licensing", env, name="agent-again")
            await asyncio.to_thread(again.wait_healthy)
            state = await follower.wait_for(
                lambda s: s.last_validated is not None and s.last_validated > before, timeout=30
            )
            assert state.plan == "pro" and state.revision < 2_000_000_000

            # revoked: the server signs its refusal, the agent forwards it, the pod follows
            r = license_server.admin("POST", f"/v1/admin/licenses/{issued['key_id']}/revoke")
            assert r.status_code == 200
            again.stop()
            revoked = spawn("meshq_licensing", env, name="agent-revoked")
            await asyncio.to_thread(revoked.wait_healthy)
            state = await follower.wait_for(lambda s: s.status == "invalid", timeout=30)
            assert state.plan == "community" and not follower.allows("api_access")
            served_now = await asyncio.to_thread(license_of, revoked)
            assert '"refused":"revoked"' in served_now["answer"]["payload"]

            # replaying the older, genuine Pro state (higher revision) is refused
            replay = LicenseStateData.model_validate({**served, "revision": 1_999_999_999})
            await publish_state(service_env, replay)
            await until(lambda: follower.refused["older"] >= 1, "the replay to be refused")
            assert follower.plan == "community" and follower.state.status == "invalid"
        finally:
            await follower.stop()

    asyncio.run(pod())


def test_an_edited_published_row_opens_nothing_for_a_follower_started_afterwards(
    spawn, service_env, license_server, new_database
) -> None:
    issued = license_server.issue("pro")
    database = new_database()
    # a long check interval: the agent does not rewrite its row before the follower starts
    env = agent_env(
        service_env, license_server, issued["key"], database, MESHQ_LICENSE_CHECK_INTERVAL_S="600"
    )
    agent = spawn("meshq_licensing", env, name="agent").wait_healthy()
    wait_for(lambda: license_of(agent)["status"] == "active", timeout=30, what="active")
    genuine = license_of(agent)["answer"]

    async def edit() -> None:
        conn = await asyncpg.connect(database)
        try:
            text = genuine["payload"].replace('"plan":"pro"', '"plan":"enterprise"')
            published = forged(answer={"payload": text, "signature": genuine["signature"]})
            await conn.execute(
                "UPDATE license_agent SET published = $1, revision = 2000000000",
                json.dumps(published.model_dump(mode="json")),
            )
        finally:
            await conn.close()

    asyncio.run(edit())
    served = license_of(agent)  # derived from the sealed state, not the edited row
    assert (served["plan"], served["features"]["oidc_sso"]) == ("pro", False)

    async def pod() -> None:
        follower = follower_for(service_env, agent, license_server)
        await follower.start()
        try:
            await follower.wait_for(lambda s: s.plan == "pro", timeout=30)
            assert follower.verified and follower.check("api_access")
            assert not follower.allows("oidc_sso") and not follower.allows("soar_webhooks")
        finally:
            await follower.stop()

    asyncio.run(pod())


def test_answers_for_another_installation_or_key_are_refused(
    spawn, service_env, license_server, new_database
) -> None:
    ours = license_server.issue("pro")
    env = agent_env(service_env, license_server, ours["key"], new_database())
    agent = spawn("meshq_licensing", env, name="agent").wait_healthy()
    wait_for(lambda: license_of(agent)["status"] == "active", timeout=30, what="active")
    our_fp = json.loads(license_of(agent)["answer"]["payload"])["fingerprint"]
    public_key = protocol.load_public_key(license_server.public_pem)
    theirs = license_server.issue("enterprise")["key"]

    def genuine_enterprise(fingerprint: str) -> dict:
        """A genuine enterprise answer, for another installation or for ours (the attacker's
        own key, naming our fingerprint: it is client-supplied and seen on the topic)."""
        result = client.validate(
            theirs, url=license_server.url, public_key=public_key, fingerprint=fingerprint, facts={}
        )
        return result["answer"]

    foreign = [genuine_enterprise("b" * 64), genuine_enterprise(our_fp)]

    async def pod() -> None:
        follower = follower_for(service_env, agent, license_server)
        await follower.start()
        try:
            await follower.wait_for(lambda s: s.plan == "pro", timeout=30)
            for answer in foreign:
                await publish_state(service_env, forged(answer=answer, revision=7))
            await until(
                lambda: follower.refused["other_installation"] >= 2, "foreign answers refused"
            )
            await asyncio.sleep(1.0)  # the agent is asked again: it still holds our key
            assert follower.plan == "pro" and not follower.allows("oidc_sso")
            assert follower.state.last_validated is not None
            assert follower.state.last_validated < datetime.now(UTC)
        finally:
            await follower.stop()

    asyncio.run(pod())
