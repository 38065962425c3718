"""``POST /snapshots`` through the real gateway and graph engine: a snapshot streamed in (gzip,
chunked transfer) is stored, queued as a small reference on the broker, applied, and followed
with ``GET /snapshots/{id}?wait=``; what is refused (not a snapshot, too large, a gzip bomb,
an unknown encoding, no credential) is refused at once and nothing of it is kept; an accepted
snapshot whose reference never reached the broker is applied after a restart; the submission
is audited under the caller's name."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from gateway_support import ADMIN_KEY, problem
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from network_discovery.demo import load_snapshot
from support.kafka import collect

pytestmark = pytest.mark.integration

ADMIN = {"X-API-Key": ADMIN_KEY}


def _gzip_pieces(data: bytes, piece: int = 64 * 1024) -> Iterator[bytes]:
    """The body compressed in pieces, as a generator: httpx sends it chunked."""
    compressor = gzip.compress(data)
    for i in range(0, len(compressor), piece):
        yield compressor[i : i + piece]


def test_a_snapshot_streamed_in_is_applied_and_followed(gateway_env, spawn) -> None:
    gw = spawn("meshq_query_gateway", gateway_env).wait_healthy()
    snapshot = load_snapshot()
    raw = snapshot.model_dump_json().encode()
    with httpx.Client(base_url=gw.url, timeout=60) as client:
        answer = client.post(
            "/snapshots",
            content=_gzip_pieces(raw),
            headers={
                **ADMIN,
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "X-Correlation-ID": "submit-1",
            },
        )
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["snapshot_id"] == snapshot.snapshot_id
        assert body["status"] == "accepted"
        assert answer.headers["location"] == body["location"]
        assert body["location"] == f"/snapshots/{snapshot.snapshot_id}"

        status = client.get(body["location"], params={"wait": 30}, headers=ADMIN).json()
        assert status["status"] == "applied", status
        assert status["submitted_by"] == "admin"
        assert status["bytes"] == len(raw)
        assert status["result"]["added"]["devices"] >= len(snapshot.devices)
        assert status["result"]["empty"] is False

        devices = client.post("/queries/all_devices", json={}, headers=ADMIN).json()
        assert devices["row_count"] >= len(snapshot.devices) > 0

        # the same snapshot again, plain JSON in one piece: applied again, changing nothing
        again = client.post(
            "/snapshots", content=raw, headers={**ADMIN, "Content-Type": "application/json"}
        )
        assert again.status_code == 202, again.text
        status = client.get(again.json()["location"], params={"wait": 30}, headers=ADMIN).json()
        assert status["status"] == "applied"
        assert status["result"]["empty"] is True

        listed = client.get("/snapshots", headers=ADMIN).json()
        assert snapshot.snapshot_id in {r["snapshot_id"] for r in listed}

    # the submission is audited under the caller's name, with what it sent
    prefix = gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    adapter = ADAPTERS[topics.AUDIT_EVENTS.name]
    records = [
        adapter.validate_json(r.value)
        for r in _collect(gateway_env, prefix + topics.AUDIT_EVENTS.name, 3)
    ]
    submitted = [e for e in records if e.correlation_id == "submit-1"]
    assert submitted, [e.data.path for e in records]
    event = submitted[0].data
    assert (event.method, event.path, event.status) == ("POST", "/snapshots", 202)
    assert event.query == "snapshots.submit"
    assert event.params["snapshot_id"] == snapshot.snapshot_id


def _collect(env: dict[str, str], topic: str, count: int) -> list[Any]:
    return asyncio.run(collect(env["MESHQ_KAFKA_BOOTSTRAP"], topic, count=count))


def test_what_is_refused_is_refused_at_once_and_not_kept(service_env, spawn) -> None:
    good = load_snapshot().model_dump_json().encode()
    limit = len(good) + 50_000
    env = {
        **service_env,
        "MESHQ_SNAPSHOT_MAX_BYTES": str(limit),  # the gateway's and graph-engine's bound
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHOPTIXIQ_DEMO_MODE": "false",
    }
    graph = spawn("meshq_graph_engine", env).wait_healthy()
    env = {**env, "API_KEY": ADMIN_KEY, "MESHQ_GRAPH_ENGINE_URL": graph.url}
    gw = spawn("meshq_query_gateway", env).wait_healthy()
    json_headers = {**ADMIN, "Content-Type": "application/json"}
    with httpx.Client(base_url=gw.url, timeout=60) as client:
        # not a snapshot: 422 with the fields at fault
        bad = {
            "snapshot_id": "bad-1",
            "source": "cli",
            "collected_at": "yesterday",
            "scope": [],
        }
        refused = client.post("/snapshots", content=json.dumps(bad), headers=json_headers)
        assert refused.status_code == 422, refused.text
        fields = {e["field"] for e in problem(refused)["errors"]}
        assert "collected_at" in fields
        assert client.get("/snapshots/bad-1", headers=ADMIN).status_code == 404

        # not JSON at all
        assert (
            client.post("/snapshots", content=b"{not json", headers=json_headers).status_code == 422
        )
        # an empty body
        assert client.post("/snapshots", content=b"", headers=json_headers).status_code == 400

        # too large as sent: the gateway stops it while it streams
        big = (b" " * (limit + 10_000)) + b"{}"
        assert (
            client.post("/snapshots", content=iter([big]), headers=json_headers).status_code == 413
        )

        # a gzip bomb: small as sent, past the limit once inflated; graph-engine stops it
        bomb = gzip.compress(b" " * (limit * 20))
        assert len(bomb) < limit
        answer = client.post(
            "/snapshots", content=bomb, headers={**json_headers, "Content-Encoding": "gzip"}
        )
        assert answer.status_code == 413, answer.text
        assert "MESHQ_SNAPSHOT_MAX_BYTES" in problem(answer)["detail"]

        # a corrupt gzip body, an encoding nobody reads, a media type that is not JSON
        corrupt = client.post(
            "/snapshots",
            content=b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20,
            headers={**json_headers, "Content-Encoding": "gzip"},
        )
        assert corrupt.status_code == 400, corrupt.text
        assert (
            client.post(
                "/snapshots", content=b"{}", headers={**json_headers, "Content-Encoding": "br"}
            ).status_code
            == 415
        )
        assert (
            client.post(
                "/snapshots", content=b"x", headers={**ADMIN, "Content-Type": "text/csv"}
            ).status_code
            == 415
        )

        # no credential: refused before anything is read
        assert client.post("/snapshots", content=b"{}").status_code == 401
        assert client.get("/snapshots/anything").status_code == 401
        unknown = client.get("/snapshots/never-submitted", headers=ADMIN)
        assert unknown.status_code == 404
        assert client.get("/snapshots/x", params={"wait": 61}, headers=ADMIN).status_code == 400

        # and after all that, a good snapshot goes through
        answer = client.post(
            "/snapshots",
            content=gzip.compress(good),
            headers={**json_headers, "Content-Encoding": "gzip"},
        )
        assert answer.status_code == 202, answer.text
        final = client.get(answer.json()["location"], params={"wait": 30}, headers=ADMIN).json()
        assert final["status"] == "applied"


def test_an_accepted_snapshot_whose_reference_was_lost_is_applied_after_a_restart(
    service_env, spawn, tmp_path
) -> None:
    """Accepted (stored, its record written) but its reference never reached the broker:
    the engine publishes it again when it starts, and applies it."""
    from meshq_graph_engine.intake import SnapshotIntake

    snapshot = load_snapshot().model_copy(update={"snapshot_id": "lost-ref-1"})
    raw = snapshot.model_dump_json().encode()
    intake = SnapshotIntake(tmp_path / "data" / "graph-engine")

    async def body() -> AsyncIterator[bytes]:
        yield raw

    accepted = asyncio.run(intake.receive(body(), encoding=None, submitted_by="ci-bot"))
    assert accepted.record["status"] == "accepted"

    env = {**service_env, "MESHQ_LICENSING_URL": "http://127.0.0.1:9"}
    spawn("meshq_graph_engine", env).wait_healthy()
    deadline = time.monotonic() + 60
    record = intake.status("lost-ref-1")
    while time.monotonic() < deadline:
        record = intake.status("lost-ref-1")
        if record and record["status"] != "accepted":
            break
        time.sleep(0.5)
    assert record is not None and record["status"] == "applied", record
    assert record["submitted_by"] == "ci-bot"
    assert record["finished_at"] >= datetime.now(UTC).date().isoformat()
    assert not list((tmp_path / "data" / "graph-engine" / "incoming").glob("*.json"))


def test_metadata_patches_are_commands_that_announce_their_change(service_env, spawn) -> None:
    env = {
        **service_env,
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHOPTIXIQ_DEMO_MODE": "true",  # patches need the netbox_sync flag
    }
    graph = spawn("meshq_graph_engine", env).wait_healthy()
    gw = spawn(
        "meshq_query_gateway", {**env, "API_KEY": ADMIN_KEY, "MESHQ_GRAPH_ENGINE_URL": graph.url}
    ).wait_healthy()
    snapshot = load_snapshot()
    device = snapshot.devices[0].hostname
    with httpx.Client(base_url=gw.url, timeout=60) as client:
        sent = client.post(
            "/snapshots", content=snapshot.model_dump_json(), headers={**ADMIN}
        ).json()
        assert (
            client.get(sent["location"], params={"wait": 30}, headers=ADMIN).json()["status"]
            == "applied"
        )
        answer = client.post(
            "/snapshots/patches",
            json={
                "patches": [
                    {"hostname": device, "source": "user", "site": "lab-7", "actor": "ana"},
                    {"hostname": "not-yet-seen", "source": "netbox", "rack": "R1"},
                ]
            },
            headers={**ADMIN, "X-Correlation-ID": "patch-1"},
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["accepted"] == 2
        bad = client.post(
            "/snapshots/patches",
            json={"patches": [{"hostname": device, "source": "user"}]},
            headers=ADMIN,
        )
        assert bad.status_code == 422, bad.text
        deadline = time.monotonic() + 30
        site = None
        while time.monotonic() < deadline:
            rows = client.post("/queries/all_devices", json={}, headers=ADMIN).json()["rows"]
            site = next(r.get("site") for r in rows if r["hostname"] == device)
            if site == "lab-7":
                break
            time.sleep(0.3)
        assert site == "lab-7"

        # the metadata query is a command on the same path: queued on the ingest topic,
        # applied in turn, announced, and only then answered
        updated = client.post(
            "/queries/update_device_metadata",
            json={"device": device, "role": "core", "tags": ["via-query"]},
            headers=ADMIN,
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["rows"][0]["tags"] == ["via-query"]

    prefix = env["MESHQ_KAFKA_TOPIC_PREFIX"]
    ingest = [json.loads(r.value) for r in _collect(env, prefix + topics.INGEST_SNAPSHOTS.name, 4)]
    commands = [e for e in ingest if e["type"] == "ingest.patch"]
    assert any(e["data"].get("tags") == ["via-query"] for e in commands), commands
    adapter = ADAPTERS[topics.TOPOLOGY_CHANGED.name]
    events = [
        adapter.validate_json(r.value)
        for r in _collect(env, prefix + topics.TOPOLOGY_CHANGED.name, 4)
    ]
    patches = [e.data for e in events if getattr(e.data, "kind", "") == "patch"]
    assert {tuple(p.scope_devices) for p in patches} == {(device,), ("not-yet-seen",)}
    changed = next(p for p in patches if p.scope_devices == [device])
    assert changed.updated == {"devices": 1} and not changed.empty
    assert changed.snapshot_id.startswith("patch:")
