"""The services as supervised child processes (``python -m <module>``).

Each service belongs to a shutdown stage (:data:`ENTRY` or :data:`PROCESSOR`): ``meshq serve``
stops the entry points first, so that what they still send reaches processors that run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from meshq_runtime.embedded.ports import LOOPBACK
from meshq_runtime.embedded.process import child_setup, tail

__all__ = [
    "ENTRY",
    "FLOW_COLLECTOR",
    "METRICS_COLLECTOR",
    "PROCESSOR",
    "SERVICES",
    "ServiceChild",
    "ServiceSpec",
    "StartupError",
    "wait_healthy",
]

log = structlog.get_logger(__name__)


#: Shutdown stage of the services that take requests from outside (stopped first).
ENTRY = "entry"
#: Shutdown stage of the services that consume events (stopped once their inputs drained).
PROCESSOR = "processor"


@dataclass(frozen=True)
class ServiceSpec:
    key: str  #: its key in endpoints.json
    module: str  #: run as ``python -m module``
    port_env: str  #: the variable the service reads its port from
    stage: str = PROCESSOR  #: :data:`ENTRY` or :data:`PROCESSOR`
    #: Whether it serves ``GET /health``; a child that does not counts as up while it runs.
    http: bool = True


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("licensing", "meshq_licensing", "MESHQ_LICENSING_PORT"),
    ServiceSpec("graph_engine", "meshq_graph_engine", "MESHQ_GRAPH_ENGINE_PORT"),
    ServiceSpec("gateway", "meshq_query_gateway", "MESHQ_GATEWAY_PORT", ENTRY),
    ServiceSpec("audit", "meshq_audit", "MESHQ_AUDIT_PORT"),
    ServiceSpec("soar_dispatcher", "meshq_soar_dispatcher", "MESHQ_SOAR_DISPATCHER_PORT"),
    ServiceSpec("netbox_sync", "meshq_netbox_sync", "MESHQ_NETBOX_SYNC_PORT"),
    ServiceSpec("alerts", "meshq_alerts", "MESHQ_ALERTS_PORT"),
    ServiceSpec("prober", "meshq_prober", "MESHQ_PROBER_PORT"),
    ServiceSpec("mcp", "meshq_mcp_bridge", "MESHQ_MCP_PORT", ENTRY),
)

#: The flow collector (NetFlow, IPFIX and sFlow over UDP; ``meshq_runtime._serve_wiring``
#: gives it its UDP ports). It takes datagrams from outside: stopped first, so that the
#: batches it holds reach the broker while graph-engine still consumes them.
FLOW_COLLECTOR = ServiceSpec(
    "flow_collector", "meshq_flow_collector", "MESHQ_FLOW_COLLECTOR_PORT", ENTRY
)

#: The interface counter collector (``meshq metrics run``): run when ``MESHQ_METRICS_INVENTORY``
#: is set. It serves no HTTP (the port is unused) and has nothing to drain: stopped first.
METRICS_COLLECTOR = ServiceSpec(
    "metrics_collector",
    "network_discovery.metrics",
    "MESHQ_METRICS_COLLECTOR_PORT",
    ENTRY,
    http=False,
)


class StartupError(RuntimeError):
    """A service did not come up; the message names it and shows the tail of its log."""


@dataclass
class ServiceChild:
    spec: ServiceSpec
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _env: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def name(self) -> str:
        return self.spec.key

    @property
    def stage(self) -> str:
        return self.spec.stage

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running and self.proc is not None else None

    def start(self, env: dict[str, str]) -> None:
        self._env = env
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.spec.module],
                env={**env, self.spec.port_env: str(self.port)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=child_setup(signal.SIGTERM),
            )
        log.info("service.spawned", service=self.name, pid=self.proc.pid, port=self.port)

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def respawn(self) -> None:
        """Start again, same port and environment, after it exited (a supervisor's restart);
        whatever it forked and left behind is killed first."""
        if self.running:
            return
        self.signal(signal.SIGKILL)
        self.start(self._env)

    def answers(self, client: httpx.Client) -> bool:
        """Whether it runs and its ``GET /health`` answers 200 (one short try)."""
        if not self.running:
            return False
        if not self.spec.http:
            return True
        try:
            return client.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def terminate(self) -> None:
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        """Signal the child's whole process group (it and whatever it forked)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)


def wait_healthy(
    children: Sequence[ServiceChild],
    *,
    timeout: float = 60.0,
    interrupted: Callable[[], bool] = lambda: False,
) -> bool:
    """Poll ``GET /health`` on every child until all answer 200.

    Returns False when ``interrupted()`` turns true; raises :class:`StartupError` naming the
    first service that exited or did not answer in time, with the tail of its log.
    """
    pending = {c.name: c for c in children}
    deadline = time.monotonic() + timeout
    delay = 0.1
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if interrupted():
                return False
            for name, child in list(pending.items()):
                code = child.poll()
                if code is not None:
                    raise StartupError(
                        f"service {name} exited with code {code} while starting "
                        f"(log {child.log_path}):\n{child.tail()}"
                    )
                if not child.spec.http:
                    log.info("service.running", service=name, pid=child.pid)
                    del pending[name]
                    continue
                try:
                    if client.get(f"{child.url}/health").status_code == 200:
                        log.info("service.healthy", service=name, url=child.url)
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if not pending:
                break
            if time.monotonic() > deadline:
                name, child = next(iter(pending.items()))
                raise StartupError(
                    f"service {name} did not answer GET /health within {timeout:.0f}s "
                    f"(log {child.log_path}):\n{child.tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
    return True
