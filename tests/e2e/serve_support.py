"""Run ``meshq serve`` (the supervisor) as a real process, and watch every process it starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from meshq_runtime.embedded import free_port
from support.procs import wait_for

__all__ = [
    "Recovery",
    "ServeRun",
    "alive",
    "clean_env",
    "kill_child",
    "log_events",
    "refused_at_start",
    "serving",
    "stop_with_sigint",
]

#: Variables that would make the stack use something other than its embedded parts.
_REPLACING = {
    "MESHQ_KAFKA_BOOTSTRAP",
    "MESHQ_POSTGRES_URL",
    "MESHQ_REDIS_URL",
    "MEMGRAPH_URI",
    "MESHQ_GRAPH_PATH",
    "MESHQ_DATA_DIR",
    "API_KEY",
    "MESHQ_SERVICE_TOKEN",
    "MESHOPTIXIQ_API_KEY",
    "MESHOPTIXIQ_API_URL",
    "MESHOPTIXIQ_DEMO_MODE",
}


_FLOW_PORTS = ("MESHQ_FLOWS_NETFLOW_PORT", "MESHQ_FLOWS_IPFIX_PORT", "MESHQ_FLOWS_SFLOW_PORT")


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _REPLACING and not (k.startswith("MESHQ_") and k.endswith("_PORT"))
    }
    # the flow collector's default UDP ports are the machine's own: stacks of other tests
    # (run at the same time) would race for them, so a stack listens only where its test asks
    env.update({name: "0" for name in _FLOW_PORTS}, MESHQ_LOG_FORMAT="json")
    env.update(extra)
    return env


def alive(pids: dict[int, float]) -> list[str]:
    """The processes among ``pids`` (pid -> create time) that still run; zombies and reused
    pids count as gone."""
    left = []
    for pid, created in pids.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(proc.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return left


@dataclass
class ServeRun:
    """One ``meshq serve`` (the CLI, as a user runs it) in a child process."""

    data_dir: Path
    out_dir: Path
    demo: bool = False
    gateway_port: int | None = None
    env: dict[str, str] = field(default_factory=clean_env)
    proc: subprocess.Popen[bytes] | None = None
    descendants: dict[int, float] = field(default_factory=dict)

    @property
    def endpoints_file(self) -> Path:
        return self.data_dir / "run" / "endpoints.json"

    @property
    def stdout_path(self) -> Path:
        return self.out_dir / "serve.out"

    @property
    def stderr_path(self) -> Path:
        return self.out_dir / "serve.err"

    def start(self) -> ServeRun:
        argv = [
            sys.executable,
            "-m",
            "network_discovery.cli",
            "serve",
            "--data-dir",
            str(self.data_dir),
        ]
        if self.demo:
            argv.append("--demo")
        if self.gateway_port is not None:
            argv += ["--gateway-port", str(self.gateway_port)]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(argv, env=self.env, stdout=out, stderr=err)
        return self

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def _check_running(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"meshq serve exited {self.proc.returncode}\n--- stderr ---\n"
                f"{self.stderr()[-4000:]}\n--- stdout ---\n{self.stdout()[-2000:]}"
            )

    def wait_up(self, timeout: float = 240.0) -> dict[str, Any]:
        """Wait for endpoints.json (written once every service is healthy)."""

        def up() -> dict[str, Any] | None:
            self._check_running()
            if not self.endpoints_file.exists():
                return None
            self.collect_descendants()
            return json.loads(self.endpoints_file.read_text())

        try:
            endpoints = wait_for(up, timeout=timeout, interval=0.25, what="meshq serve up")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n--- stderr ---\n{self.stderr()[-4000:]}") from None
        return endpoints

    def collect_descendants(self) -> dict[int, float]:
        assert self.proc is not None
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return self.descendants
        for kid in kids:
            try:
                self.descendants.setdefault(kid.pid, kid.create_time())
            except psutil.NoSuchProcess:
                pass
        return self.descendants

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill_everything(self) -> None:
        """Teardown of last resort: no test leaves a process behind, even a failing one."""
        if self.proc is not None and self.proc.poll() is None:
            self.collect_descendants()
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid, created in self.descendants.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created:
                    proc.kill()
            except psutil.NoSuchProcess:
                pass


@contextmanager
def serving(root: Path, env: dict[str, str]) -> Iterator[ServeRun]:
    """``meshq serve`` started with ``env`` under ``root`` (``data/``, ``out/``); every process
    it started is gone once the block ends."""
    run = ServeRun(data_dir=root / "data", out_dir=root / "out", gateway_port=free_port(), env=env)
    run.start()
    try:
        yield run
    finally:
        run.kill_everything()


def stop_with_sigint(run: ServeRun) -> None:
    """SIGINT stops the stack with status 0 and leaves none of its processes behind."""
    pids = run.collect_descendants()
    run.signal(signal.SIGINT)
    assert run.wait_exit(timeout=90) == 0, run.stderr()[-3000:]
    wait_for(lambda: not alive(pids), timeout=15, what="no process left")


def refused_at_start(data_dir: Path, env: dict[str, str]) -> str:
    """The stderr of a ``meshq serve`` that refuses to start: status 1, well within 30 s."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "serve", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert time.monotonic() - started < 30
    return done.stderr


def log_events(text: str, *names: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``text`` whose ``event`` is one of ``names``, in order."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") in names:
            found.append(record)
    return found


@dataclass
class Recovery:
    """One SIGKILL of a child of ``meshq serve`` and its way back."""

    child: str
    seconds: float  #: from the SIGKILL until the supervisor's /ready answered 200 again
    down: dict[str, Any]  #: the supervisor's 503 /ready body while it was down
    back: dict[str, Any]  #: the child's entry in /ready once it was back


def _ready(url: str) -> httpx.Response:
    return httpx.get(f"{url}/ready", timeout=5)


def kill_child(
    run: ServeRun,
    endpoints: dict[str, Any],
    child: str,
    *,
    timeout: float = 90.0,
    while_down: Callable[[], Any] | None = None,
) -> Recovery:
    """SIGKILL ``child`` (its pid from the supervisor's /ready), watch /ready say so, and wait
    until it is ready again; ``meshq serve`` itself must keep running throughout.
    ``while_down`` (raising until it holds) must hold at some point while it is down."""
    supervisor = endpoints["supervisor"]
    before = _ready(supervisor)
    assert before.status_code == 200, before.text
    entry = before.json()["children"][child]
    pid = entry["pid"]
    started = time.monotonic()
    os.kill(pid, signal.SIGKILL)

    def down() -> dict[str, Any] | None:
        run._check_running()
        r = _ready(supervisor)
        if r.status_code == 503 and child in r.json()["unavailable"]:
            return dict(r.json())
        return None

    seen = wait_for(down, timeout=10, interval=0.05, what=f"/ready to report {child} down")
    if while_down is not None:
        wait_for(lambda: while_down() or True, timeout=10, interval=0.2, what="while down")

    def back() -> dict[str, Any] | None:
        run._check_running()
        r = _ready(supervisor)
        return dict(r.json()["children"][child]) if r.status_code == 200 else None

    entry_back = wait_for(back, timeout=timeout, interval=0.1, what=f"{child} back")
    seconds = time.monotonic() - started
    assert entry_back["pid"] != pid and entry_back["restarts"] == entry["restarts"] + 1
    run.collect_descendants()  # the new process too: the SIGINT test wants none left
    return Recovery(child, seconds, seen, entry_back)
