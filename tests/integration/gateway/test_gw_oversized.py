"""One caller's oversized request never takes the API down for the others (through the real
gateway and broker): a body over the limit is refused with 413 before anything else, a large
parameter under it is audited as its size and hash, and every later caller is served."""

from __future__ import annotations

import httpx
import pytest
from gateway_support import ADMIN_KEY
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from support.kafka import collect

pytestmark = pytest.mark.integration


async def test_an_oversized_request_is_refused_and_the_others_are_served(
    gateway_env, spawn
) -> None:
    gw = spawn("meshq_query_gateway", gateway_env).wait_healthy()
    admin = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        huge = await client.post(
            "/queries/all_devices",
            headers={**admin, "X-Correlation-ID": "o-huge"},
            json={"site": "a" * 1_200_000},
        )
        assert huge.status_code == 413
        assert huge.headers["content-type"].startswith("application/problem+json")
        # under the body limit, but far more than an audit event carries
        big = await client.post(
            "/queries/all_devices",
            headers={**admin, "X-Correlation-ID": "o-big"},
            json={"site": "b" * 900_000},
        )
        assert big.status_code in (200, 422)
        for n in range(20):  # everyone after is served, none refused for the audit
            after = await client.post(
                "/queries/all_devices",
                headers={**admin, "X-Correlation-ID": f"o-after-{n}"},
                json={"role": "core"},
            )
            assert after.status_code == 200, after.text
    prefix = gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    records = await collect(
        gateway_env["MESHQ_KAFKA_BOOTSTRAP"], prefix + topics.AUDIT_EVENTS.name, count=21
    )
    adapter = ADAPTERS[topics.AUDIT_EVENTS.name]
    events = {e.correlation_id: e for e in (adapter.validate_json(r.value) for r in records)}
    assert {f"o-after-{n}" for n in range(20)} <= set(events)
    params = events["o-big"].data.params
    assert len(str(params)) < 2_000  # its size and hash, not the 900 kB
    assert "900000 chars, sha256" in str(params) or "_omitted" in params
    assert max(len(r.value) for r in records) < 64_000
