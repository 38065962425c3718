"""The installation's license agent: one seat across replicas, grace across restarts, events
that a gateway pod follows to close its Pro gates."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from meshq_runtime.license import LicenseFollower
from meshq_runtime.settings import KafkaSettings, LicenseClientSettings
from network_discovery.licensing.gates import FeatureNotAvailableError
from support.procs import internal_headers, wait_for

pytestmark = pytest.mark.integration

H = 3600


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


def test_three_replicas_of_one_installation_use_one_seat(
    spawn, service_env, license_server, new_database
) -> None:
    issued = license_server.issue("pro")
    env = agent_env(service_env, license_server, issued["key"], new_database())
    agents = [spawn("meshq_licensing", env, name=f"agent-{i}") for i in range(3)]
    for agent in agents:
        agent.wait_healthy()
    for agent in agents:
        state = wait_for(
            lambda a=agent: license_of(a)["status"] == "active" and license_of(a),
            timeout=30,
            what="active license",
        )
        assert state["plan"] == "pro" and state["devices_registered"] == 1
    devices = license_server.admin("GET", f"/v1/admin/licenses/{issued['key_id']}/devices")
    assert len(devices.json()["devices"]) == 1
    ids = {license_of(a)["installation_id"] for a in agents}
    assert len(ids) == 1


def test_restart_during_outage_keeps_grace_and_gateway_follows_restricted(
    spawn, service_env, license_server, new_database
) -> None:
    """The agent keeps grace across a restart; a gateway pod moves through grace and
    restricted on its own clock (no event needed), and back when the agent validates again."""
    issued = license_server.issue("pro")
    env = agent_env(service_env, license_server, issued["key"], new_database())
    agent = spawn("meshq_licensing", env, name="agent").wait_healthy()
    wait_for(lambda: license_of(agent)["status"] == "active", timeout=30, what="active")

    settings = FollowerSettings(
        **{k: v for k, v in service_env.items() if k.startswith("MESHQ_KAFKA_")},
        MESHQ_LICENSING_URL=agent.url,
        MESHQ_SERVICE_TOKEN=service_env["MESHQ_SERVICE_TOKEN"],
    )
    offset = [0.0]

    async def gateway_pod() -> None:
        follower = LicenseFollower(
            settings,
            public_key=license_server.public_pem,
            clock=lambda: time.time() + offset[0],
            recheck_interval=0.2,
        )
        await follower.start()
        try:
            await follower.wait_for(lambda s: s.status == "active", timeout=30)
            assert follower.verified and follower.check("api_access")
            agent.stop()
            license_server.proc.stop()
            # restarted during the outage, 25 h after the last success: the agent keeps grace
            grace = spawn(
                "meshq_licensing",
                {**env, "MESHQ_LICENSE_CLOCK_OFFSET_S": str(25 * H)},
                name="agent-grace",
            )
            await asyncio.to_thread(grace.wait_healthy)
            served = await asyncio.to_thread(license_of, grace)
            assert (served["status"], served["plan"]) == ("grace", "pro") and served["answer"]
            # …while the pod follows its own clock: still active until that says 24 h passed
            assert follower.state.status == "active"
            grace.stop()
            offset[0] = 25 * H  # no agent at all now: the pod's clock alone moves it
            state = await follower.wait_for(lambda s: s.status == "grace", timeout=30)
            assert state.plan == "pro" and 46 < (state.grace_hours_left or 0) < 48
            assert follower.check("firewall_queries")
            offset[0] = 73 * H
            state = await follower.wait_for(lambda s: s.status == "restricted", timeout=30)
            assert state.plan == "community"
            with pytest.raises(FeatureNotAvailableError):
                follower.check("api_access")
            assert not follower.allows("whatif_simulation")
            # the server is back at the moved time: the agent's next answer restores the pod
            license_server.restart(MESHQ_LICENSE_CLOCK_OFFSET_S=str(73 * H))
            late = spawn(
                "meshq_licensing",
                {**env, "MESHQ_LICENSE_CLOCK_OFFSET_S": str(73 * H)},
                name="agent-late",
            )
            await asyncio.to_thread(late.wait_healthy)
            state = await follower.wait_for(lambda s: s.status == "active", timeout=30)
            assert state.plan == "pro" and follower.check("api_access")
        finally:
            await follower.stop()

    asyncio.run(gateway_pod())


def test_no_key_agent_is_community(spawn, service_env, new_database) -> None:
    env = {**service_env, "MESHQ_POSTGRES_URL": new_database(), "MESHOPTIXIQ_LICENSE_KEY": ""}
    agent = spawn("meshq_licensing", env, name="agent").wait_healthy()
    state = wait_for(lambda: license_of(agent), timeout=30, what="license")
    assert (state["plan"], state["status"]) == ("community", "community")
    assert state["features"]["max_network_devices"] == 50
