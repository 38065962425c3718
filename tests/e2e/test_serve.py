"""``meshq serve`` on the embedded default: all eight of its services up, endpoints.json written,
a child killed with SIGKILL comes back while the rest keeps running, Ctrl-C stops everything
in dependency order, and neither Ctrl-C nor the supervisor's death leaves a process behind.

One stack is started for the module (slow on two cores): the broker, a service, PostgreSQL,
Redis and another service are killed on it in turn, then it is stopped with SIGINT; then one
more stack on the same data directory checks a restart and a SIGKILL of the supervisor.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
import pytest
import redis
from e2e.serve_support import Recovery, ServeRun, alive, kill_child, log_events
from meshq_runtime.embedded import free_port, port_is_free
from network_discovery.demo import load_snapshot
from support.procs import wait_for

pytestmark = pytest.mark.e2e

SERVICES = (
    "gateway",
    "graph_engine",
    "licensing",
    "audit",
    "soar_dispatcher",
    "netbox_sync",
    "mcp",
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve") / "data"


def _parent_modes(data_dir: Path) -> dict[Path, int]:
    watched = [*data_dir.parents, Path("/var/lib"), Path.home()]
    return {p: stat.S_IMODE(p.stat().st_mode) for p in watched if p.exists()}


@pytest.fixture(scope="module")
def modes_before(data_dir: Path) -> dict[Path, int]:
    return _parent_modes(data_dir)


@pytest.fixture(scope="module")
def serve_run(data_dir: Path, modes_before: dict[Path, int]) -> Iterator[ServeRun]:
    run = ServeRun(
        data_dir=data_dir, out_dir=data_dir.parent / "first", demo=True, gateway_port=free_port()
    )
    run.start()
    try:
        yield run
    finally:
        run.kill_everything()


@pytest.fixture(scope="module")
def endpoints(serve_run: ServeRun) -> dict[str, Any]:
    return serve_run.wait_up()


def _cmdline(pid: int) -> str:
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_service_answers_health_and_ready(endpoints: dict[str, Any]) -> None:
    with httpx.Client(timeout=5) as client:
        for key in SERVICES:
            assert client.get(f"{endpoints[key]}/health").status_code == 200, key

        def ready() -> dict[str, int]:
            codes = {k: client.get(f"{endpoints[k]}/ready").status_code for k in SERVICES}
            return codes if set(codes.values()) == {200} else {}

        assert wait_for(ready, timeout=60, what="every service ready")


def test_endpoints_file_names_every_part(
    endpoints: dict[str, Any], data_dir: Path, serve_run: ServeRun
) -> None:
    assert serve_run.proc is not None
    for key in SERVICES:
        assert endpoints[key].startswith("http://127.0.0.1:"), key
    assert endpoints["gateway"] == f"http://127.0.0.1:{serve_run.gateway_port}"
    assert endpoints["mcp_endpoint"] == f"{endpoints['mcp']}/mcp"
    assert endpoints["supervisor"].startswith("http://127.0.0.1:")
    assert endpoints["kafka"].startswith("127.0.0.1:")
    pg_password = (data_dir / "run" / "postgres_password").read_text().strip()
    redis_password = (data_dir / "run" / "redis_password").read_text().strip()
    assert endpoints["postgres"].startswith(f"postgresql://postgres:{pg_password}@127.0.0.1:")
    assert endpoints["redis"].startswith(f"redis://:{redis_password}@127.0.0.1:")
    assert endpoints["pid"] == serve_run.proc.pid
    assert endpoints["data_dir"] == str(data_dir)
    assert endpoints["api_key"] == (data_dir / "run" / "api_key").read_text().strip()
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "run" / "endpoints.json") == 0o600
    assert _mode(data_dir / "run" / "api_key") == 0o600
    # the admin key opens the gateway
    r = httpx.get(f"{endpoints['gateway']}/health", headers={"X-API-Key": endpoints["api_key"]})
    assert r.status_code == 200


def test_summary_and_demo_are_announced(endpoints: dict[str, Any], serve_run: ServeRun) -> None:
    wait_for(lambda: "Press Ctrl-C to stop" in serve_run.stdout(), timeout=120, what="the summary")
    out = serve_run.stdout()
    for key in SERVICES:
        assert endpoints[key] in out
    assert f"{endpoints['gateway'].replace('127.0.0.1', 'localhost')}/schema" in out
    assert "Demo network loaded (snapshot demo-campus-dc-v1)." in out
    assert "Press Ctrl-C to stop" in out
    # the demo went through the real ingest path: the gateway answers questions about it
    devices = httpx.post(
        f"{endpoints['gateway']}/queries/all_devices",
        json={},
        headers={"X-API-Key": endpoints["api_key"]},
        timeout=30,
    )
    assert devices.status_code == 200, devices.text
    assert devices.json()["row_count"] >= 30
    assert endpoints["api_key"] not in out + serve_run.stderr()  # never printed or logged


def test_internal_surfaces_need_the_service_credential(
    endpoints: dict[str, Any], data_dir: Path, serve_run: ServeRun
) -> None:
    """Every internal API refuses a caller without the generated credential (401 problem+json)
    and serves one with it; the embedded PostgreSQL and Redis want their passwords; no secret
    reaches the output or a log."""
    run = data_dir / "run"
    secrets = {
        name: (run / name).read_text().strip()
        for name in ("service_token", "postgres_password", "redis_password")
    }
    for name in secrets:
        assert _mode(run / name) == 0o600, name
    token = secrets["service_token"]
    assert len(token) >= 32
    internal = {
        ("GET", "graph_engine", "/internal/queries"),
        ("POST", "graph_engine", "/internal/queries/update_device_metadata"),
        ("GET", "audit", "/audit/export"),
        ("GET", "audit", "/audit/verify"),
        ("GET", "licensing", "/license"),
        ("POST", "soar_dispatcher", "/soar/replay"),
        ("GET", "netbox_sync", "/sync/status"),
    }
    auth = {"X-MeshQ-Service-Token": token, "X-MeshQ-Caller": "cli"}
    with httpx.Client(timeout=30) as client:
        for method, key, path in sorted(internal):
            url = f"{endpoints[key]}{path}"
            body = {"device": "hq-core-01", "role": "x"} if method == "POST" else None
            refused = client.request(method, url, json=body)
            assert refused.status_code == 401, (key, path, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert client.get(f"{endpoints['graph_engine']}/internal/queries", headers=auth).is_success
        assert client.get(f"{endpoints['licensing']}/license", headers=auth).is_success
        assert client.get(f"{endpoints['netbox_sync']}/sync/status", headers=auth).is_success
    # the embedded PostgreSQL and Redis: nothing without the password
    pg = urlsplit(endpoints["postgres"])
    with pytest.raises(Exception, match="password"):
        asyncio.run(_pg_connect(f"postgresql://postgres@127.0.0.1:{pg.port}/meshq"))
    assert asyncio.run(_pg_connect(endpoints["postgres"])) == 1
    rd = urlsplit(endpoints["redis"])
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=rd.port, socket_timeout=5).ping()
    assert redis.Redis.from_url(endpoints["redis"], socket_timeout=5).ping()
    # no secret in what the supervisor printed, in any log, or on a command line
    logs = "".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*.log"))
    shown = serve_run.stdout() + serve_run.stderr() + logs
    cmdlines = " ".join(_cmdline(pid) for pid in serve_run.collect_descendants())
    for name, value in secrets.items():
        assert value not in shown, f"{name} printed or logged"
        assert value not in cmdlines, f"{name} on a command line"


async def _pg_connect(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


def test_second_stack_on_same_data_dir_is_refused(
    endpoints: dict[str, Any], data_dir: Path
) -> None:
    second = ServeRun(
        data_dir=data_dir, out_dir=data_dir.parent / "second", gateway_port=free_port()
    )
    second.start()
    try:
        assert second.wait_exit(timeout=60) == 1
    finally:
        second.kill_everything()
    err = second.stderr().strip().splitlines()
    assert len(err) == 1, err
    assert "already running" in err[0] and str(endpoints["pid"]) in err[0]


#: The children killed in turn, each with the seconds it may take to be ready again: the
#: broker and the stores come back in about a second; a service restarts its Python process
#: and joins its consumer groups again, where the broker first waits out the session of the
#: member that was killed (10 s), once per group.
KILLED: dict[str, float] = {
    "kafka": 15,
    "audit": 60,
    "postgres": 15,
    "redis": 15,
    "graph_engine": 60,
}
#: What each killed child's pid runs, so that the test kills the right process.
_COMMANDS = {
    "kafka": "tansu",
    "postgres": "postgres",
    "redis": "redis-server",
    "audit": "meshq_audit",
    "graph_engine": "meshq_graph_engine",
}
RECOVERIES: dict[str, float] = {}


def _gateway_names(endpoints: dict[str, Any], child: str) -> Callable[[], Any]:
    """While ``child`` is down: the gateway's /ready is 503 and names it, from the stack."""

    def check() -> None:
        r = httpx.get(f"{endpoints['gateway']}/ready", timeout=10)
        assert r.status_code == 503, r.text
        body = r.json()
        assert child in body["unavailable"], body
        assert body["details"]["stack"][child]["state"] != "up", body

    return check


@pytest.mark.parametrize("child", list(KILLED))
def test_a_killed_child_comes_back_and_the_stack_works_again(
    child: str, endpoints: dict[str, Any], serve_run: ServeRun
) -> None:
    supervisor = httpx.get(f"{endpoints['supervisor']}/ready", timeout=5).json()
    assert _COMMANDS[child] in _cmdline(supervisor["children"][child]["pid"])
    slow = KILLED[child] > 20  # down long enough to ask the gateway meanwhile
    rec: Recovery = kill_child(
        serve_run,
        endpoints,
        child,
        timeout=KILLED[child],
        while_down=_gateway_names(endpoints, child) if slow else None,
    )
    RECOVERIES[child] = round(rec.seconds, 2)
    print(f"recovery of {child} after SIGKILL: {rec.seconds:.2f}s")
    down = rec.down
    assert down["detail"].startswith(f"{child} is down since ")
    assert down["children"][child]["last_exit"] == "killed by SIGKILL"
    assert rec.back["state"] == "up" and rec.back["last_exit"] == "killed by SIGKILL"
    assert rec.seconds <= KILLED[child]
    assert f"meshq serve: {child} killed by SIGKILL; restarting in" in serve_run.stderr()

    # the stack works again: a query through the gateway (to graph-engine), and a snapshot
    # submitted through the gateway is queued on the broker and applied by graph-engine
    def answered() -> bool:
        r = httpx.post(
            f"{endpoints['gateway']}/queries/all_devices",
            json={},
            headers={"X-API-Key": endpoints["api_key"]},
            timeout=30,
        )
        return r.status_code == 200 and r.json()["row_count"] >= 30

    wait_for(answered, timeout=60, interval=0.5, what=f"a query after the kill of {child}")
    snapshot = load_snapshot().model_copy(update={"snapshot_id": f"after-kill-of-{child}"})
    admin = {"X-API-Key": endpoints["api_key"]}
    sent = httpx.post(
        f"{endpoints['gateway']}/snapshots",
        content=gzip.compress(snapshot.model_dump_json().encode()),
        headers={**admin, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        timeout=90,
    )
    assert sent.status_code == 202, sent.text[:500]
    status = httpx.get(
        f"{endpoints['gateway']}{sent.headers['location']}",
        params={"wait": 60},
        headers=admin,
        timeout=90,
    ).json()
    assert status["status"] == "applied", status
    listed = httpx.get(
        f"{endpoints['gateway']}/snapshots", headers={"X-API-Key": endpoints["api_key"]}, timeout=30
    )
    assert listed.status_code == 200 and snapshot.snapshot_id in listed.text, listed.text[:500]
    (serve_run.out_dir / "recoveries.json").write_text(json.dumps(RECOVERIES, indent=2))


def test_sigint_stops_everything(
    endpoints: dict[str, Any], serve_run: ServeRun, data_dir: Path, modes_before: dict[Path, int]
) -> None:
    pids = serve_run.collect_descendants()
    assert len(pids) >= 10  # eight services, Tansu, PostgreSQL (and its workers), Redis
    assert serve_run.proc is not None and serve_run.proc.poll() is None, "survived the kills"
    started = time.monotonic()
    serve_run.signal(signal.SIGINT)
    assert serve_run.wait_exit(timeout=90) == 0, serve_run.stderr()[-3000:]
    took = time.monotonic() - started
    wait_for(lambda: not alive(pids), timeout=15, what="no process left")
    # in dependency order, each stage once the one before it is over, the broker last
    events = log_events(
        serve_run.stderr(), "serve.stop_stage", "serve.stage_stopped", "serve.all_stopped"
    )
    assert [(e["event"], e.get("stage")) for e in events] == [
        (f"serve.{what}", stage)
        for stage in ("entry", "processor", "store", "broker")
        for what in ("stop_stage", "stage_stopped")
    ] + [("serve.all_stopped", None)]
    children = {e["stage"]: set(e["children"]) for e in events if e["event"] == "serve.stop_stage"}
    # the flow collector runs unless its default UDP ports were taken (then it is left out)
    flows = {"flow_collector"} if "flow_collector" in endpoints else set()
    assert children == {
        "entry": {"gateway", "mcp", *flows},
        "processor": {
            "licensing",
            "graph_engine",
            "audit",
            "soar_dispatcher",
            "netbox_sync",
            "alerts",
            "prober",
        },
        "store": {"postgres", "redis"},
        "broker": {"kafka"},
    }
    # the gateway had finished its shutdown (its last audit events sent) before any
    # processor was asked to stop
    gateway_done = log_events(
        (data_dir / "logs" / "gateway.log").read_text(), "Application shutdown complete."
    )[-1]["timestamp"]
    processors_asked = next(e["timestamp"] for e in events if e.get("stage") == "processor")
    assert gateway_done <= processors_asked
    assert events[-1]["elapsed_s"] <= 30  # MESHQ_SERVE_STOP_TIMEOUT's default
    assert took < 30 + 15, f"stopping took {took:.1f}s"
    assert not (data_dir / "run" / "endpoints.json").exists()
    assert _mode(data_dir) == 0o700
    assert _parent_modes(data_dir) == modes_before  # nothing outside the data dir chmod-ed
    assert port_is_free(serve_run.gateway_port or 0)


def test_restart_reuses_the_data_and_dies_with_its_supervisor(
    data_dir: Path, endpoints: dict[str, Any], serve_run: ServeRun
) -> None:
    assert serve_run.proc is not None and serve_run.proc.poll() is not None, "runs after SIGINT"
    again = ServeRun(data_dir=data_dir, out_dir=data_dir.parent / "again", gateway_port=free_port())
    again.start()
    try:
        second = again.wait_up()
        assert second["api_key"] == endpoints["api_key"]
        assert second.get("postgres_data") == endpoints.get("postgres_data")
        assert "demo network" not in again.stdout().lower()
        pids = again.collect_descendants()
        again.signal(signal.SIGKILL)  # no chance to clean up: the kernel must take the children
        again.wait_exit(timeout=10)
        wait_for(lambda: not alive(pids), timeout=30, what="children gone with their supervisor")
    finally:
        again.kill_everything()


def test_busy_default_gateway_port_is_one_line_error(tmp_path: Path) -> None:
    holder = None
    if port_is_free(8000):
        holder = socket.socket()
        holder.bind(("127.0.0.1", 8000))
        holder.listen()
    try:
        run = ServeRun(data_dir=tmp_path / "data", out_dir=tmp_path)
        run.start()
        assert run.wait_exit(timeout=60) == 1
    finally:
        if holder is not None:
            holder.close()
    err = run.stderr().strip().splitlines()
    assert len(err) == 1 and "MESHQ_GATEWAY_PORT" in err[0], err
    assert not os.listdir(tmp_path / "data" / "logs")  # nothing was started
