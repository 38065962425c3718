"""``meshq serve``'s supervision without processes: restarts with backoff, what ``/ready``
shows (the supervisor's own and the gateway's ``stack`` probe), and the staged shutdown.

The children are fakes on a fake clock; ``tests/e2e/test_serve.py`` kills the real ones.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from meshq_runtime.embedded.services import ENTRY, PROCESSOR
from meshq_runtime.embedded.status import StatusServer, not_ready_detail
from meshq_runtime.embedded.supervisor import (
    BROKER,
    STORE,
    Backoff,
    Supervisor,
    Unit,
    describe_exit,
)
from meshq_runtime.http import NotReady, ServiceState, build_app
from meshq_runtime.service import stack_probe


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeChild:
    """A child process as the supervisor sees it."""

    name: str
    journal: list[tuple[str, str]]
    log_path: Path = Path("/dev/null")
    alive: bool = True
    code: int | None = None
    spawns: int = 0
    ignores_term: bool = False
    respawn_error: Exception | None = None
    up: bool = True

    @property
    def running(self) -> bool:
        return self.alive

    @property
    def pid(self) -> int | None:
        return 100 + self.spawns if self.alive else None

    def poll(self) -> int | None:
        return None if self.alive else self.code

    def die(self, code: int = -9) -> None:
        self.alive, self.code = False, code

    def respawn(self) -> None:
        self.journal.append((self.name, "respawn"))
        if self.respawn_error is not None:
            raise self.respawn_error
        self.spawns += 1
        self.alive, self.code = True, None

    def terminate(self) -> None:
        self.journal.append((self.name, "term"))
        if not self.ignores_term:
            self.die(0)

    def kill(self) -> None:
        if self.alive:
            self.journal.append((self.name, "kill"))
            self.die(-9)


@dataclass
class Rig:
    clock: Clock = field(default_factory=Clock)
    journal: list[tuple[str, str]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    backoff: Backoff = field(default_factory=Backoff)
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(
            self.backoff,
            notify=self.said.append,
            clock=self.clock,
            wall=lambda: 1_700_000_000.0 + self.clock.now,
            sleep=self.clock.sleep,
        )

    def add(self, name: str, stage: str = PROCESSOR, *, up: bool = True, **kw: Any) -> FakeChild:
        child = FakeChild(name, self.journal, **kw)
        self.supervisor.add(Unit(name, stage, child, lambda: child.up), up=up)
        return child

    def run(self, seconds: float, step: float = 0.25) -> None:
        end = self.clock.now + seconds
        while self.clock.now < end:
            self.supervisor.tick()
            self.clock.sleep(step)


def test_delays_double_from_half_a_second_to_thirty() -> None:
    assert [Backoff().delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_describe_exit() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(None) == "gone"


def test_a_child_that_exits_is_restarted_and_the_others_keep_running() -> None:
    rig = Rig()
    audit = rig.add("audit")
    other = rig.add("gateway", ENTRY)
    audit.die(-9)
    rig.supervisor.tick()
    snap = rig.supervisor.snapshot()
    assert snap["status"] == "degraded" and snap["unavailable"] == ["audit"]
    child = snap["children"]["audit"]
    assert child["state"] == "backoff" and child["last_exit"] == "killed by SIGKILL"
    assert child["restarts"] == 0 and child["down_since"] and child["restart_in_s"] == 0.5
    assert rig.said == ["audit killed by SIGKILL; restarting in 0.5s (attempt 1)"]

    rig.clock.sleep(0.4)
    rig.supervisor.tick()
    assert audit.spawns == 0  # still waiting
    rig.clock.sleep(0.2)
    audit.up = False
    rig.supervisor.tick()
    assert audit.spawns == 1 and rig.supervisor.unit("audit").state == "starting"
    assert rig.supervisor.snapshot()["status"] == "degraded"
    audit.up = True
    rig.clock.sleep(1.0)
    rig.supervisor.tick()
    snap = rig.supervisor.snapshot()
    assert snap["status"] == "ready" and snap["unavailable"] == []
    child = snap["children"]["audit"]
    assert child["state"] == "up" and child["restarts"] == 1 and "down_since" not in child
    assert child["last_recovery_s"] == pytest.approx(1.6)
    assert rig.said[-1] == "audit is back after 1.6s (restart 1)"
    assert other.spawns == 0 and other.alive
    assert ("gateway", "respawn") not in rig.journal


def test_a_crash_loop_backs_off_is_reported_and_is_still_retried() -> None:
    rig = Rig()
    child = rig.add("graph_engine")
    delays = []
    for _ in range(7):
        child.die(1)
        rig.supervisor.tick()
        unit = rig.supervisor.unit("graph_engine")
        delays.append(unit.restart_at - rig.clock.now)
        rig.clock.sleep(unit.restart_at - rig.clock.now)
        rig.supervisor.tick()  # restarted, and dies again right away
    assert delays == [0.5, 1, 2, 4, 8, 16, 30]
    assert child.spawns == 7
    assert any("keeps crashing (5 failures in a row, last: exit code 1)" in s for s in rig.said)
    child.die(1)
    rig.supervisor.tick()
    snap = rig.supervisor.snapshot()["children"]["graph_engine"]
    assert snap["crash_looping"] is True and snap["restarts"] == 7
    assert "crash-looping" in not_ready_detail(rig.supervisor.snapshot())


def test_a_child_that_stayed_up_starts_again_from_the_shortest_delay() -> None:
    rig = Rig()
    child = rig.add("soar_dispatcher")
    for _ in range(3):
        child.die(1)
        rig.supervisor.tick()
        rig.clock.sleep(rig.supervisor.unit("soar_dispatcher").restart_at - rig.clock.now)
        rig.supervisor.tick()  # respawned
        rig.supervisor.tick()  # up
    assert rig.supervisor.unit("soar_dispatcher").failures == 3
    rig.clock.sleep(rig.backoff.stable_after + 1)
    child.die(1)
    rig.supervisor.tick()
    unit = rig.supervisor.unit("soar_dispatcher")
    assert unit.failures == 1 and unit.restart_at - rig.clock.now == 0.5


def test_a_restart_that_never_answers_is_killed_and_counted() -> None:
    rig = Rig(backoff=Backoff(start_timeout=5.0))
    child = rig.add("netbox_sync")
    child.die(-9)
    child.up = False
    rig.run(1.0)  # restarted, never answers
    assert child.spawns == 1
    rig.run(6.0)
    unit = rig.supervisor.unit("netbox_sync")
    assert ("netbox_sync", "kill") in rig.journal
    assert unit.failures == 2 and unit.last_exit == "no answer within 5s"


def test_a_restart_that_cannot_spawn_is_retried() -> None:
    rig = Rig()
    child = rig.add("redis", STORE, respawn_error=OSError("no binary"))
    child.die(-9)
    rig.run(1.0)
    unit = rig.supervisor.unit("redis")
    assert unit.state == "backoff" and unit.failures == 2
    assert unit.last_exit == "could not start: OSError: no binary"
    child.respawn_error = None
    rig.run(2.0)
    assert unit.state == "up" and child.spawns == 1


def test_after_up_runs_after_a_restart_only_and_until_it_succeeds() -> None:
    rig = Rig()
    calls: list[int] = []

    def recreate_topics() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("broker not settled")

    rig.add("kafka", BROKER)
    rig.supervisor.unit("kafka").after_up = recreate_topics
    rig.run(1.0)
    assert calls == []  # never on the first start
    kafka = rig.supervisor.unit("kafka").process
    assert isinstance(kafka, FakeChild)
    kafka.die(-9)
    rig.run(1.5)
    assert len(calls) == 2 and rig.supervisor.unit("kafka").state == "up"


def test_snapshot_during_the_first_start_says_starting() -> None:
    rig = Rig()
    rig.add("gateway", ENTRY, up=False)
    assert rig.supervisor.snapshot()["status"] == "starting"
    rig.supervisor.mark_up("gateway")
    assert rig.supervisor.snapshot()["status"] == "ready"


def _stack(rig: Rig, **kw: Any) -> dict[str, FakeChild]:
    layout = {
        "kafka": BROKER,
        "postgres": STORE,
        "redis": STORE,
        "licensing": PROCESSOR,
        "graph_engine": PROCESSOR,
        "gateway": ENTRY,
        "audit": PROCESSOR,
        "mcp": ENTRY,
    }
    return {name: rig.add(name, stage, **kw.get(name, {})) for name, stage in layout.items()}


def test_shutdown_goes_stage_by_stage_with_the_broker_last() -> None:
    rig = Rig()
    children = _stack(rig)
    drained: list[float] = []

    def drain(budget: float) -> None:
        rig.journal.append(("drain", f"{budget:.1f}"))
        drained.append(budget)

    rig.supervisor.shutdown(30.0, drain=drain)
    terms = [name for name, what in rig.journal if what == "term"]
    order = [name for name, _ in rig.journal]
    assert order.index("drain") > max(order.index("gateway"), order.index("mcp"))
    assert order.index("drain") < min(order.index(n) for n in ("licensing", "audit"))
    assert terms[:2] == ["gateway", "mcp"]
    assert set(terms[2:5]) == {"licensing", "graph_engine", "audit"}
    assert set(terms[5:7]) == {"postgres", "redis"} and terms[-1] == "kafka"
    assert drained == [pytest.approx(30 * 0.4 * 0.4)]
    assert not any(c.alive for c in children.values())
    assert all(u.state == "stopped" for u in rig.supervisor.units)
    assert rig.supervisor.snapshot()["status"] == "stopping"


def test_a_child_that_ignores_sigterm_is_killed_at_its_stage_deadline() -> None:
    rig = Rig()
    _stack(rig, audit={"ignores_term": True})
    started = rig.clock.now
    rig.supervisor.shutdown(30.0)
    assert ("audit", "kill") in rig.journal
    order = [name for name, what in rig.journal if what in ("term", "kill")]
    assert order.index("audit") < order.index("postgres")  # killed before the stores stop
    assert rig.clock.now - started <= 30.0 + 2.5  # the stages' shares, plus the reap grace


def test_a_child_down_at_shutdown_is_not_signalled_and_nothing_restarts() -> None:
    rig = Rig()
    children = _stack(rig)
    children["audit"].die(-9)
    rig.supervisor.tick()
    rig.supervisor.shutdown(5.0)
    rig.clock.sleep(60)
    rig.supervisor.tick()
    assert ("audit", "term") not in rig.journal and ("audit", "respawn") not in rig.journal


def test_status_server_answers_ready_then_names_what_is_down() -> None:
    rig = Rig()
    audit = rig.add("audit")
    server = StatusServer(rig.supervisor.snapshot).start()
    try:
        with httpx.Client(timeout=5) as client:
            assert client.get(f"{server.url}/health").json()["status"] == "ok"
            ready = client.get(f"{server.url}/ready")
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
            audit.die(-9)
            rig.supervisor.tick()
            down = client.get(f"{server.url}/ready")
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            body = down.json()
            assert body["status"] == 503 and body["state"] == "degraded"
            assert body["unavailable"] == ["audit"]
            assert body["detail"].startswith("audit is down since ")
            assert "(killed by SIGKILL), restart 1 in 0.5s, 0 restarts so far" in body["detail"]
            assert body["children"]["audit"]["restarts"] == 0
            assert client.get(f"{server.url}/nope").status_code == 404
    finally:
        server.stop()


async def _gateway_ready(snapshot: dict[str, Any]) -> httpx.Response:
    """The gateway's ``stack`` probe against a supervisor answering ``snapshot``."""
    server = StatusServer(lambda: snapshot).start()
    try:
        async with httpx.AsyncClient() as plain:
            state = ServiceState(service="query-gateway", probes=[stack_probe(server.url, plain)])
            with TestClient(build_app(service="query-gateway", state=state)) as client:
                return await asyncio.to_thread(client.get, "/ready")
    finally:
        server.stop()


async def test_the_gateway_ready_includes_the_stack() -> None:
    rig = Rig()
    rig.add("gateway", ENTRY)
    redis = rig.add("redis", STORE)
    ok = await _gateway_ready(rig.supervisor.snapshot())
    assert ok.status_code == 200 and ok.json()["checks"] == {"stack": "up"}
    redis.die(-9)
    rig.supervisor.tick()
    down = await _gateway_ready(rig.supervisor.snapshot())
    assert down.status_code == 503
    body = down.json()
    assert body["unavailable"] == ["redis"] and body["checks"] == {"stack": "down"}
    assert body["detail"].startswith("redis is down since ")
    assert body["details"]["stack"]["redis"]["last_exit"] == "killed by SIGKILL"
    json.dumps(body)  # plain JSON all the way


def test_not_ready_keeps_the_probe_name_when_it_names_nothing() -> None:
    async def refuses() -> None:
        raise NotReady("the thing said no")

    state = ServiceState(service="svc", probes=[("thing", refuses)])
    with TestClient(build_app(service="svc", state=state)) as client:
        body = client.get("/ready").json()
    assert body["unavailable"] == ["thing"] and body["detail"] == "the thing said no"
    assert "details" not in body
