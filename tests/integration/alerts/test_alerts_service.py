"""The alerts service on a real graph-engine and gateway: a link removed by a new snapshot
raises an alert (through meshq.topology.changed), the Alerts queries come through the
gateway's catalogue with the alert_rules gate, an acknowledgement records who, the stream
reads the changes, Alertmanager shows the alert, and MCP answers the guide's example."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from meshq_runtime.embedded import free_port
from network_discovery.demo import load_snapshot
from network_discovery.model.snapshot import Snapshot
from support import alertmanager_lab
from support.demo_stack import demo_stack
from support.pgdb import with_database
from support.procs import ServiceProc, internal_headers
from support.submit import submit

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        alertmanager_lab.binary() is None,
        reason="Debian's prometheus-alertmanager is not installed (.ci/run installs it)",
    ),
]

RULES = """
rules:
  - name: link-lost
    query: topology_edges
    key: [a_device, a_interface, b_device, b_interface]
    when: absent
    severity: high
    labels: {team: netops}
    summary: "link {a_device} {a_interface} <-> {b_device} {b_interface} is gone"
  - name: bgp-peer-down
    query: bgp_peers_down
    key: [device, remote_address]
    severity: critical
    summary: "BGP peer {remote_address} of {device} is {state}"
"""


KEY = ("a_device", "a_interface", "b_device", "b_interface")
LEAF_SPINE_1 = {"dc-leaf-01", "dc-spine-01"}
LEAF_SPINE_2 = {"dc-leaf-02", "dc-spine-02"}


def _key(edge: dict[str, Any]) -> dict[str, Any]:
    return {k: edge[k] for k in KEY}


@dataclass
class Running:
    gateway: str
    graph: str
    alerts: ServiceProc
    alertmanager: str
    key: str
    env: dict[str, str]


class Hooks:
    """A webhook receiver (the SOAR platform): every body it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                hooks.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def own_database(server_url: str) -> Iterator[str]:
    """A database of this module's own (alerts and SOAR outcomes only from its tests)."""
    name = f"meshq_alerts_e2e_{uuid.uuid4().hex[:8]}"  # generated here, never user input

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server_url, name)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    receiver = Hooks()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def running(stack, hooks: Hooks, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("alerts-e2e")
    (tmp / "rules.yaml").write_text(RULES)
    key = secrets.token_urlsafe(24)
    with (
        own_database(stack.postgres_url) as database,
        alertmanager_lab.serve(tmp, free_port()) as am,
    ):
        alerts_port = free_port()
        with demo_stack(
            stack,
            tmp,
            MESHOPTIXIQ_DEMO_MODE="true",
            API_KEY=key,
            MESHQ_ALERTS_URL=f"http://127.0.0.1:{alerts_port}",
            MESHQ_CATALOGUE_TTL="1",
        ) as demo:
            env = {
                **demo.env,
                "MESHQ_POSTGRES_URL": database,
                "MESHQ_GRAPH_ENGINE_URL": demo.graph.url,
                "MESHQ_ALERT_RULES_FILE": str(tmp / "rules.yaml"),
                "MESHQ_ALERTS_INTERVAL": "3600",
                "MESHQ_ALERTS_DEBOUNCE": "0.2",
                "MESHQ_ALERTMANAGER_URLS": am,
                "MESHQ_ALERTS_PUBLIC_URL": demo.gateway.url,
            }
            alerts = ServiceProc(
                module="meshq_alerts",
                port=alerts_port,
                env={**env, "MESHQ_ALERTS_PORT": str(alerts_port)},
                log_path=tmp / "meshq_alerts.log",
            ).start()
            soar_port = free_port()
            soar = ServiceProc(
                module="meshq_soar_dispatcher",
                port=soar_port,
                env={
                    **env,
                    "MESHQ_SOAR_DISPATCHER_PORT": str(soar_port),
                    "SOAR_WEBHOOK_URL": hooks.url,
                    "SOAR_ALERTS_MIN_SEVERITY": "high",
                    "SOAR_MAX_ATTEMPTS": "2",
                },
                log_path=tmp / "meshq_soar_dispatcher.log",
            ).start()
            try:
                alerts.wait_healthy()
                soar.wait_healthy()
                yield Running(demo.gateway.url, demo.graph.url, alerts, am, key, env)
            finally:
                soar.stop()
                alerts.stop()


def _gw(running: Running) -> httpx.Client:
    return httpx.Client(base_url=running.gateway, headers={"X-API-Key": running.key}, timeout=60)


def _query(running: Running, name: str, **params: Any) -> dict[str, Any]:
    with _gw(running) as client:
        response = client.post(f"/queries/{name}", json=params)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for(check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.3)


def _without_link(edge: dict[str, Any]) -> Snapshot:
    """The demo's LLDP/CDP of the link's two ends again, less the link between them."""
    demo = load_snapshot()
    ends = {edge["a_device"], edge["b_device"]}
    neighbors = tuple(
        n
        for n in demo.neighbors
        if n.device in ends
        and not (
            {n.device, (n.remote_system_name or "").split(".")[0]} == ends
            and n.interface in (edge["a_interface"], edge["b_interface"])
        )
    )
    scope = tuple(
        s.model_copy(update={"facts": tuple(f for f in s.facts if f.value in ("lldp", "cdp"))})
        for s in demo.scope
        if s.device in ends
    )
    empty = {
        name: ()
        for name, value in demo
        if isinstance(value, tuple) and name not in ("scope", "neighbors")
    }
    return demo.model_copy(
        update={
            **empty,
            "snapshot_id": f"lose-link-{uuid.uuid4().hex[:8]}",
            "scope": scope,
            "neighbors": neighbors,
        }
    )


def test_catalogue_lists_the_alerts_queries_with_their_gate(running: Running) -> None:
    with _gw(running) as client:
        listing = {q["name"]: q for q in client.get("/queries").json()}
    for name in (
        "meshq_alerts_list",
        "meshq_alerts_acknowledge",
        "meshq_alerts_rules_get",
        "meshq_alerts_stream",
    ):
        assert listing[name]["feature"] == "alert_rules"
        assert listing[name]["category"] == "Alerts"
    assert listing["meshq_alerts_acknowledge"]["writes"] is True
    rules = _query(running, "meshq_alerts_rules_get")["rows"]
    assert [r["name"] for r in rules] == ["link-lost", "bgp-peer-down"]


def test_a_lost_link_raises_an_alert_that_is_acknowledged_and_streamed(running: Running) -> None:
    with httpx.Client(
        base_url=running.alerts.url, headers=internal_headers(running.env), timeout=10
    ) as internal:
        _wait_for(lambda: internal.get("/internal/alerts/status").json().get("last_round"))
    edges = _query(running, "topology_edges")["rows"]
    edge = _key(next(e for e in edges if {e["a_device"], e["b_device"]} == LEAF_SPINE_1))
    status = asyncio.run(submit(running.graph, running.env, _without_link(edge)))
    assert status["status"] == "applied", status
    # (the gateway's answer cache moves to the new revision once it hears of it)
    _wait_for(lambda: edge not in [_key(e) for e in _query(running, "topology_edges")["rows"]])

    def fired() -> list[dict[str, Any]]:
        return _query(running, "meshq_alerts_list", rule="link-lost")["rows"]

    rows = _wait_for(fired)
    assert len(rows) == 1
    alert = rows[0]
    assert alert["rule"] == "link-lost" and alert["state"] == "firing"
    assert alert["key"] == {
        k: edge[k] for k in ("a_device", "a_interface", "b_device", "b_interface")
    }
    assert set(alert["devices"]) == {edge["a_device"], edge["b_device"]}

    # acknowledged through the gateway: the guide's answer, and who it was
    ack = _query(running, "meshq_alerts_acknowledge", alert_id=alert["alert_id"])
    assert ack["rows"] == [{"status": "acknowledged", "alert_id": alert["alert_id"]}]
    listed = _query(running, "meshq_alerts_list", state="acknowledged")["rows"]
    assert listed[0]["acknowledged_by"] and listed[0]["acknowledged_at"]
    with _gw(running) as client:
        missing = client.post(
            "/queries/meshq_alerts_acknowledge", json={"alert_id": "alert-999999"}
        )
        bad = client.post("/queries/meshq_alerts_acknowledge", json={"alert_id": "x; DROP"})
    assert missing.status_code == 404, missing.text
    assert bad.status_code == 422, bad.text

    changes = [
        c
        for c in _query(running, "meshq_alerts_stream")["rows"]
        if c["alert"]["rule"] == "link-lost"
    ]
    assert [c["change"] for c in changes] == ["firing", "acknowledged"]
    after = _query(running, "meshq_alerts_stream", cursor=changes[-1]["cursor"], wait_s=0.5)
    assert after["rows"] == []

    # Alertmanager has it, with our labels
    with httpx.Client(timeout=10) as am:
        shown = _wait_for(
            lambda: am.get(
                f"{running.alertmanager}/api/v2/alerts", params={"filter": 'alertname="link-lost"'}
            ).json()
        )
    assert shown[0]["labels"]["team"] == "netops"
    assert shown[0]["annotations"]["alert_id"] == alert["alert_id"]

    # the link comes back: the alert resolves
    back = load_snapshot().model_copy(update={"snapshot_id": f"back-{uuid.uuid4().hex[:8]}"})
    assert asyncio.run(submit(running.graph, running.env, back))["status"] == "applied"
    _wait_for(lambda: not _query(running, "meshq_alerts_list", rule="link-lost")["rows"])
    resolved = _query(running, "meshq_alerts_list", state="resolved", rule="link-lost")["rows"]
    assert [a["alert_id"] for a in resolved] == [alert["alert_id"]]


def test_mcp_acknowledges_as_the_guide_shows(running: Running) -> None:
    async def scenario() -> tuple[Any, Any, Any]:
        params = StdioServerParameters(
            command=__import__("sys").executable,
            args=["-m", "network_discovery.mcp.server"],
            env={"MESHOPTIXIQ_API_URL": running.gateway, "MESHOPTIXIQ_API_KEY": running.key},
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            resources = {str(r.uri) for r in (await s.list_resources()).resources}
            missing = await s.call_tool("meshq_alerts_acknowledge", {"alert_id": "alert-424242"})
            active = await s.read_resource("network://alerts/active")  # type: ignore[arg-type]
            return tools, resources, (missing, active)

    tools, resources, (missing, active) = asyncio.run(scenario())
    assert {"meshq_alerts_list", "meshq_alerts_acknowledge", "meshq_alerts_stream"} <= set(tools)
    ack_tool = tools["meshq_alerts_acknowledge"]
    assert set(ack_tool.inputSchema["properties"]) == {"alert_id"}
    assert "network://alerts/active" in resources
    assert missing.isError and "alert-424242" in missing.content[0].text
    body = json.loads(active.contents[0].text)
    assert body["query"] == "meshq_alerts_list"


def test_mcp_acknowledge_answers_the_guide_shape(running: Running, tmp_path: Path) -> None:
    # a firing alert to acknowledge: lose a link again
    edges = _query(running, "topology_edges")["rows"]
    edge = next(e for e in edges if e["a_device"].startswith("hq-b-acc"))
    assert (
        asyncio.run(submit(running.graph, running.env, _without_link(edge)))["status"] == "applied"
    )
    alert = _wait_for(
        lambda: _query(running, "meshq_alerts_list", state="firing", rule="link-lost")["rows"]
    )[0]

    async def ack() -> Any:
        params = StdioServerParameters(
            command=__import__("sys").executable,
            args=["-m", "network_discovery.mcp.server"],
            env={"MESHOPTIXIQ_API_URL": running.gateway, "MESHOPTIXIQ_API_KEY": running.key},
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            return await s.call_tool("meshq_alerts_acknowledge", {"alert_id": alert["alert_id"]})

    result = asyncio.run(ack())
    assert not result.isError, result.content
    assert result.structuredContent == {"status": "acknowledged", "alert_id": alert["alert_id"]}


def test_rest_streams_the_changes_as_server_sent_events(running: Running) -> None:
    changes = _query(running, "meshq_alerts_stream")["rows"]
    assert changes, "the earlier tests left changes"
    seen: list[tuple[str, str, dict[str, Any]]] = []
    with (
        _gw(running) as client,
        client.stream("GET", "/alerts/stream", headers={"Last-Event-ID": "0"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, str] = {}
        for line in response.iter_lines():
            if line.startswith(("id: ", "event: ", "data: ")):
                field, _, value = line.partition(": ")
                event[field] = value
            elif not line and event:
                seen.append((event["id"], event["event"], json.loads(event["data"])))
                event = {}
                if len(seen) == len(changes):
                    break
    assert [(c["cursor"], c["change"]) for c in changes] == [(i, e) for i, e, _ in seen]
    assert "link-lost" in {data["alert"]["rule"] for _, _, data in seen}
    with _gw(running) as client:
        bad = client.get("/alerts/stream", params={"cursor": "x'1"})
    assert bad.status_code == 400


def test_a_bgp_session_down_in_a_recollected_summary_raises_and_resolves(
    running: Running,
) -> None:
    demo = load_snapshot()
    peer = next(p for p in demo.bgp_peers if p.device == "dc-leaf-01")
    device_peers = tuple(p for p in demo.bgp_peers if p.device == peer.device)
    down = tuple(
        p.model_copy(
            update={
                "state": type(p.state)("idle"),
                "prefixes_received": None,
                "uptime_seconds": None,
            }
        )
        if p is peer
        else p
        for p in device_peers
    )
    scope = tuple(
        s.model_copy(update={"facts": tuple(f for f in s.facts if f.value == "bgp")})
        for s in demo.scope
        if s.device == peer.device
    )
    empty = {n: () for n, v in demo if isinstance(v, tuple) and n not in ("scope", "bgp_peers")}

    def recollected(peers: tuple[Any, ...], tag: str) -> Snapshot:
        return demo.model_copy(
            update={
                **empty,
                "snapshot_id": f"{tag}-{uuid.uuid4().hex[:8]}",
                "scope": scope,
                "bgp_peers": peers,
            }
        )

    assert (
        asyncio.run(submit(running.graph, running.env, recollected(down, "bgp-down")))["status"]
        == "applied"
    )

    def down_here() -> list[dict[str, Any]]:
        found = _query(running, "meshq_alerts_list", rule="bgp-peer-down", device=peer.device)
        return found["rows"]

    assert down_here() == []  # the demo's own down sessions are on other devices
    rows = _wait_for(down_here)
    assert [(a["key"]["device"], a["key"]["remote_address"]) for a in rows] == [
        (peer.device, peer.remote_address)
    ]
    assert rows[0]["severity"] == "critical" and "idle" in rows[0]["summary"]
    assert (
        asyncio.run(submit(running.graph, running.env, recollected(device_peers, "bgp-up")))[
            "status"
        ]
        == "applied"
    )
    _wait_for(lambda: not down_here())


def test_a_high_alert_reaches_the_soar_webhook_with_its_blast_radius(
    running: Running, hooks: Hooks
) -> None:
    """(after the earlier tests: link-lost alerts are high and fired; the demo's own BGP
    sessions down fired as critical at start)"""

    def link_hooks() -> list[dict[str, Any]]:
        return [b for b in hooks.bodies if b["rule_name"] == "link-lost"]

    sent = _wait_for(link_hooks)
    body = sent[0]
    assert body["severity"] == "high" and body["query"] == "topology_edges"
    assert body["matched_rows"] == 1 and body["sample_data"][0]["a_device"]
    alert = body["alert"]
    assert alert["change"] == "firing" and alert["alert_id"].startswith("alert-")
    # the blast radius of each device the alert names, from graph-engine
    blasts = {b["device"]: b for b in body["blast_radius"]}
    assert set(blasts) == set(alert["devices"])
    spine = next(b for d, b in blasts.items() if d.startswith("dc-spine"))
    assert spine["known"] and spine["severity"] in ("low", "medium", "high", "critical")
    assert isinstance(spine["affected"], list) and spine["depth"] == 3
    # each alert once: no alert id was sent twice
    ids = [b["alert"]["alert_id"] for b in hooks.bodies]
    assert len(ids) == len(set(ids))
    # acknowledgements and resolutions are not sent
    assert {b["alert"]["change"] for b in hooks.bodies} == {"firing"}
