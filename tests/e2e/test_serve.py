"""``meshq serve`` on the embedded default: all seven services up, endpoints.json written,
Ctrl-C (or the supervisor's death) leaves no process behind.

One stack is started for the module (slow on two cores), then once more on the same data
directory to check a restart and a SIGKILL of the supervisor.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from e2e.serve_support import ServeRun, alive
from meshq_runtime.embedded import free_port, port_is_free
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
    assert endpoints["kafka"].startswith("127.0.0.1:")
    assert endpoints["postgres"].startswith("postgresql://postgres@127.0.0.1:")
    assert endpoints["redis"].startswith("redis://127.0.0.1:")
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


def test_sigint_stops_everything(
    endpoints: dict[str, Any], serve_run: ServeRun, data_dir: Path, modes_before: dict[Path, int]
) -> None:
    pids = serve_run.collect_descendants()
    assert len(pids) >= 10  # seven services, Tansu, PostgreSQL (and its workers), Redis
    serve_run.signal(signal.SIGINT)
    assert serve_run.wait_exit(timeout=90) == 0, serve_run.stderr()[-3000:]
    wait_for(lambda: not alive(pids), timeout=15, what="no process left")
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


def test_a_dying_service_stops_the_stack(tmp_path: Path) -> None:
    run = ServeRun(data_dir=tmp_path / "data", out_dir=tmp_path, gateway_port=free_port())
    run.start()
    try:
        run.wait_up()
        pids = run.collect_descendants()
        victim = next(pid for pid in pids if "meshq_netbox_sync" in _cmdline(pid))
        psutil.Process(victim).kill()
        assert run.wait_exit(timeout=90) == 1
        wait_for(lambda: not alive(pids), timeout=15, what="no process left")
    finally:
        run.kill_everything()
    assert "service netbox_sync exited" in run.stderr()
    assert not run.endpoints_file.exists()
