"""POST /graph/chaos-simulate through a real gateway and graph engine on the demo network:
the whatif_simulation gate, answers and problems, and the per-identity limit of 5 a minute
(kept in the real Redis)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from support.demo_stack import load_demo
from support.kafka import collect

pytestmark = pytest.mark.integration

CHAOS = "/graph/chaos-simulate"
WHATIF = "/graph/whatif"


async def until_plan(client: httpx.AsyncClient, plan: str) -> None:
    deadline = time.monotonic() + 20
    while (await client.get("/license", headers={"X-API-Key": ADMIN_KEY})).json()["plan"] != plan:
        assert time.monotonic() < deadline, f"the gateway never saw the {plan} plan"
        await asyncio.sleep(0.1)


async def test_gate_answers_problems_whatif_and_the_sixth_call_in_a_minute(
    gateway_env, keys_file, spawn
) -> None:
    await load_demo(gateway_env)
    tag = uuid.uuid4().hex[:8]
    gated = make_key(keys_file, f"gated-{tag}", "Network-Ops")
    ci = make_key(keys_file, f"ci-{tag}", "Network-Ops")
    other = make_key(keys_file, f"other-{tag}", "Network-Ops")
    gw = spawn("meshq_query_gateway", gateway_env).wait_healthy()
    body = {"scenario_type": "device_failure", "target": "hq-dist-01", "depth": 4}
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        refused = await client.post(CHAOS, headers={"X-API-Key": gated}, json=body)
        assert refused.status_code == 403
        assert problem(refused)["feature"] == "whatif_simulation"
        change = {"changes": [{"action": "remove_device", "device": "hq-dist-01"}]}
        refused = await client.post(WHATIF, headers={"X-API-Key": gated}, json=change)
        assert refused.status_code == 403
        assert problem(refused)["feature"] == "whatif_simulation"

        await publish_license(gateway_env, "pro")
        await until_plan(client, "pro")
        headers = {"X-API-Key": ci}

        # what-if: a copy of the graph changes, the live graph does not
        whatif = await client.post(WHATIF, headers={"X-API-Key": other}, json=change)
        assert whatif.status_code == 200, whatif.text
        diff = whatif.json()
        assert diff["removed_devices"] == ["hq-dist-01"] and diff["changes_applied"] == 1
        assert {"hq-a-acc-01", "hq-dist-02"} <= {r["device"] for r in diff["lost_redundancy"]}
        assert any(c["device"] == "hq-a-acc-01" for c in diff["changed_paths"])
        unknown = await client.post(
            WHATIF,
            headers={"X-API-Key": other},
            json={"changes": [{"action": "remove_device", "device": "ghost"}]},
        )
        assert unknown.status_code == 404
        assert problem(unknown)["field"] == "changes.0.device"
        bad = await client.post(
            WHATIF, headers={"X-API-Key": other}, json={"changes": [{"action": "explode"}]}
        )
        assert bad.status_code == 422 and problem(bad)["errors"][0]["field"].startswith("changes.0")
        again = await client.post(WHATIF, headers={"X-API-Key": other}, json=change)
        assert again.json() == diff  # nothing was applied to the live graph

        ok = await client.post(CHAOS, headers=headers, json=body)
        assert ok.status_code == 200, ok.text
        answer = ok.json()
        assert answer["scenario_type"] == "device_failure" and answer["depth"] == 4
        assert answer["affected_devices"][0] == "hq-dist-01"
        assert answer["severity"] in ("low", "medium", "high", "critical")
        assert 0.0 <= answer["blast_radius_pct"] <= 100.0 and 0 <= answer["impact_score"] <= 100
        assert isinstance(answer["degraded_devices"], list)
        assert isinstance(answer["affected_endpoints"], int)
        assert isinstance(answer["lost_paths"], list)

        unknown = await client.post(
            CHAOS, headers=headers, json={**body, "target": "no-such-switch"}
        )
        assert unknown.status_code == 404
        assert problem(unknown)["field"] == "target" and "no-such-switch" in unknown.text

        ambiguous = await client.post(
            CHAOS, headers=headers, json={"scenario_type": "link_failure", "target": "Gi1/0/1"}
        )
        assert ambiguous.status_code == 422, ambiguous.text
        assert (
            problem(ambiguous)["field"] == "target"
            and ":GigabitEthernet1/0/1" in (problem(ambiguous)["detail"])
        )

        too_deep = await client.post(CHAOS, headers=headers, json={**body, "depth": 7})
        assert too_deep.status_code == 422
        assert problem(too_deep)["errors"][0]["field"] == "depth"

        segment = await client.post(
            CHAOS,
            headers=headers,
            json={"scenario_type": "segment_failure", "target": "vlan 110"},
        )
        assert segment.status_code == 200, segment.text
        assert segment.json()["failed"]["kind"] == "vlan"

        sixth = await client.post(CHAOS, headers=headers, json=body)
        assert sixth.status_code == 429
        assert problem(sixth)["route"] == "POST /graph/chaos-simulate"
        assert 1 <= int(sixth.headers["Retry-After"]) <= 60

        # the limit is per identity: another caller is not held back
        elsewhere = await client.post(CHAOS, headers={"X-API-Key": other}, json=body)
        assert elsewhere.status_code == 200

    # every call is audited like a query, refused ones included
    records = await collect(
        gateway_env["MESHQ_KAFKA_BOOTSTRAP"],
        gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_EVENTS.name,
        count=8,
        match=lambda r: b'"/graph/chaos-simulate"' in r.value,
    )
    adapter = ADAPTERS[topics.AUDIT_EVENTS.name]
    events = {e.id: e.data for e in (adapter.validate_json(r.value) for r in records)}
    assert sorted(e.status for e in events.values()) == [200, 200, 200, 403, 404, 422, 422, 429]
    first = next(e for e in events.values() if e.status == 200 and e.params.get("depth") == 4)
    assert first.query == "blast_radius_chaos_simulate" and first.params["target"] == "hq-dist-01"
    assert first.row_count == len(answer["affected_devices"])
    assert first.sample_rows[0]["severity"] == answer["severity"]
