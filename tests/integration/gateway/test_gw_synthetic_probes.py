"""Probes defined, changed, run and deleted through a real gateway in front of a real prober
(its own PostgreSQL database) and graph-engine: the license gate, RBAC per resource, the
prober's refusals passed on, the runner taking each change without a restart, and every call
audited under its resource."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from support.kafka import collect
from support.pgdb import fresh_database

pytestmark = pytest.mark.integration

ADMIN = {"X-API-Key": ADMIN_KEY}
POLICY = """
roles:
  probe-viewers: {resources: ["meshq_synthetic_*"], verbs: [list, execute]}
  probe-operators:
    resources: ["meshq_synthetic_*", "synthetic_probes.*"]
    verbs: [list, execute]
groups:
  Viewers: [probe-viewers]
  Operators: [probe-operators]
"""
FILE_PROBES = """
probes:
  - {name: from-file, kind: tcp, host: 127.0.0.1, port: 9, interval_s: 600, timeout_s: 1}
"""


@pytest.fixture
async def prober_database(stack) -> AsyncIterator[str]:
    async with fresh_database(stack.postgres_url, "meshq_gwprobe") as url:
        yield url


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port that accepts (the kernel completes the handshake from the backlog)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield sock
    sock.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


async def test_probes_through_the_gateway(
    gateway_env,
    service_env,
    graph_engine,
    keys_file,
    spawn,
    prober_database: str,
    listener: socket.socket,
    tmp_path: Path,
) -> None:
    probes_file = tmp_path / "probes.yaml"
    probes_file.write_text(FILE_PROBES)
    prober = spawn(
        "meshq_prober",
        {
            **service_env,
            "MESHQ_POSTGRES_URL": prober_database,
            "MESHQ_GRAPH_ENGINE_URL": graph_engine.url,
            "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
            "MESHQ_PROBES_FILE": str(probes_file),
            "MESHQ_PROBER_MIN_INTERVAL": "1",
            "MESHOPTIXIQ_DEMO_MODE": "false",
        },
    ).wait_healthy()
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    viewer = {"X-API-Key": make_key(keys_file, "viewer", "Viewers")}
    operator = {"X-API-Key": make_key(keys_file, "operator", "Operators")}
    gateway = spawn(
        "meshq_query_gateway",
        {**gateway_env, "MESHQ_PROBER_URL": prober.url, "RBAC_POLICY_FILE": str(policy)},
    ).wait_healthy()
    port = int(listener.getsockname()[1])
    spec = {
        "name": "db",
        "kind": "tcp",
        "host": "127.0.0.1",
        "port": port,
        "interval_s": 1,
        "timeout_s": 1,
    }

    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        # Community: the plan has no synthetic_monitoring, whoever asks
        refused = await client.post("/synthetic/probes", json=spec, headers=ADMIN)
        assert refused.status_code == 403, refused.text
        assert problem(refused)["feature"] == "synthetic_monitoring"

        await publish_license(service_env, "enterprise")

        async def licensed() -> bool:
            answer = await client.post("/queries/meshq_synthetic_probes", json={}, headers=operator)
            return answer.status_code == 200

        await until(licensed, "the gateway and the prober follow the Enterprise plan")

        # RBAC: reading the probes does not grant changing or running them
        denied = await client.post("/synthetic/probes", json=spec, headers=viewer)
        assert denied.status_code == 403
        assert (problem(denied)["verb"], problem(denied)["resource"]) == (
            "execute",
            "synthetic_probes.manage",
        )

        created = await client.post(
            "/synthetic/probes", json=spec, headers={**operator, "X-Correlation-ID": "p-create"}
        )
        assert created.status_code == 201, created.text
        # the definition with its defaults
        assert created.json() == {**spec, "interval_s": 1.0, "timeout_s": 1.0} | {
            "source": None,
            "labels": {},
        }
        # the prober's own refusals, as they are
        taken = await client.post("/synthetic/probes", json=spec, headers=operator)
        assert taken.status_code == 409 and problem(taken)["field"] == "name"
        bad = await client.post(
            "/synthetic/probes", json={**spec, "name": "fast", "interval_s": 0.2}, headers=operator
        )
        assert bad.status_code == 422
        assert "interval_s: at least 1" in problem(bad)["detail"]
        unknown_kind = await client.post(
            "/synthetic/probes", json={"name": "x", "kind": "smtp"}, headers=operator
        )
        assert unknown_kind.status_code == 422
        huge = await client.post(
            "/synthetic/probes",
            json={**spec, "name": "huge", "labels": {"a": "x" * 70_000}},
            headers=operator,
        )
        assert huge.status_code == 413
        not_object = await client.post("/synthetic/probes", json=[spec], headers=operator)
        assert not_object.status_code == 400
        bad_name = await client.get("/synthetic/probes/..%2Fetc", headers=operator)
        assert bad_name.status_code in (404, 422)

        # the runner takes the new probe without a restart: it runs, and succeeds
        async def state(wanted: str) -> dict[str, Any] | None:
            answer = await client.get("/synthetic/probes/db", headers=viewer)
            assert answer.status_code == 200, answer.text
            row: dict[str, Any] = answer.json()
            return row if row["state"] == wanted else None

        up = await until(lambda: state("up"), "the new probe runs and succeeds")
        assert up["origin"] == "api" and up["target"] == f"127.0.0.1:{port}"

        # a changed definition: the probe now fails, with the path graph-engine gives
        dead = closed_port()
        changed = await client.put(
            "/synthetic/probes/db",
            json={
                "kind": "tcp",
                "host": "127.0.0.1",
                "port": dead,
                "interval_s": 1,
                "timeout_s": 1,
            },
            headers=operator,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["port"] == dead
        down = await until(lambda: state("down"), "the changed probe runs on its new port")
        assert down["definition"]["port"] == dead
        assert down["path"]["status"] in ("known", "unknown")
        assert down["path_verdict"] is not None
        renamed = await client.put(
            "/synthetic/probes/db", json={**spec, "name": "other"}, headers=operator
        )
        assert renamed.status_code == 422 and problem(renamed)["field"] == "name"
        missing = await client.put(
            "/synthetic/probes/nope", json=spec | {"name": "nope"}, headers=operator
        )
        assert missing.status_code == 404

        # the file's probe is the file's
        for answer in (
            await client.put(
                "/synthetic/probes/from-file", json=spec | {"name": "from-file"}, headers=operator
            ),
            await client.delete("/synthetic/probes/from-file", headers=operator),
        ):
            assert answer.status_code == 409, answer.text
            assert "MESHQ_PROBES_FILE" in problem(answer)["detail"]

        # running now: its own resource
        assert (await client.post("/synthetic/probes/db/run", headers=viewer)).status_code == 403
        ran = await client.post("/synthetic/probes/db/run", headers=operator)
        assert ran.status_code == 200, ran.text
        assert ran.json()["success"] is False and ran.json()["error"]

        deleted = await client.delete(
            "/synthetic/probes/db", headers={**operator, "X-Correlation-ID": "p-delete"}
        )
        assert deleted.status_code == 204
        assert (await client.delete("/synthetic/probes/db", headers=operator)).status_code == 404
        assert (await client.get("/synthetic/probes/db", headers=operator)).status_code == 404
        listed = await client.post("/queries/meshq_synthetic_probes", json={}, headers=viewer)
        assert [r["name"] for r in listed.json()["rows"]] == ["from-file"]

    # every call is audited under its resource, the denied ones too
    prefix = gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    adapter = ADAPTERS[topics.AUDIT_EVENTS.name]

    def ours(record: Any) -> bool:
        return b"/synthetic/probes" in record.value

    records = await collect(
        gateway_env["MESHQ_KAFKA_BOOTSTRAP"],
        prefix + topics.AUDIT_EVENTS.name,
        count=20,
        timeout=60,
        match=ours,
    )
    events = [adapter.validate_json(r.value).data for r in records]
    calls = {(e.method, e.path, e.principal, e.status, e.query) for e in events}
    assert ("POST", "/synthetic/probes", "viewer", 403, "synthetic_probes.manage") in calls
    assert ("POST", "/synthetic/probes", "operator", 201, "synthetic_probes.manage") in calls
    assert ("PUT", "/synthetic/probes/db", "operator", 200, "synthetic_probes.manage") in calls
    assert ("POST", "/synthetic/probes/db/run", "viewer", 403, "synthetic_probes.run") in calls
    assert ("DELETE", "/synthetic/probes/db", "operator", 204, "synthetic_probes.manage") in calls
    create = next(e for e in events if e.status == 201)
    assert create.params["port"] == port and create.params["name"] == "db"
    assert create.sample_rows[0]["kind"] == "tcp"
