"""A real three-master Redis Cluster on loopback, from the machine's redis-server.

    with RedisClusterProcesses(tmp_path) as cluster:
        cluster.url          # redis+cluster://:<password>@127.0.0.1:<port of the first node>/0

Each node is an ``EmbeddedRedis`` run from the machine's ``redis-server`` with
``--cluster-enabled yes`` on a free port (its cluster bus on port + 10000 must be free too),
all with the cluster's one password (``requirepass``, as every embedded Redis has);
``redis-cli --cluster create`` assigns the 16384 slots across the three, and the context waits
until every node reports ``cluster_state:ok``. Leaving the context stops the nodes it started.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from meshq_runtime.embedded import EmbeddedRedis, free_port

__all__ = ["ClusterNode", "RedisClusterProcesses", "cluster_tools_available"]


def cluster_tools_available() -> bool:
    return bool(shutil.which("redis-server") and shutil.which("redis-cli"))


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _node_port() -> int:
    for _ in range(50):
        port = free_port()
        if port + 10000 <= 65535 and _port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class ClusterNode(EmbeddedRedis):
    """One cluster-enabled node, without persistence."""

    name = "redis-cluster-node"

    def _prepare(self) -> None:
        super()._prepare()
        self._binary = Path(shutil.which("redis-server") or "redis-server")

    def _command(self) -> list[str]:
        command = super()._command()
        command[command.index("--appendonly") + 1] = "no"
        return [
            *command,
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(self.data_dir / "nodes.conf"),
            "--cluster-node-timeout", "5000",
        ]  # fmt: skip


class RedisClusterProcesses:
    def __init__(self, workdir: Path, masters: int = 3, *, timeout: float = 30.0) -> None:
        self.workdir = workdir
        self.masters = masters
        self.timeout = timeout
        self.password = secrets.token_urlsafe(24)
        self.nodes: list[ClusterNode] = []

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        return f"redis+cluster://:{self.password}@127.0.0.1:{self.ports[0]}/0"

    @property
    def _auth(self) -> list[str]:
        return ["-a", self.password, "--no-auth-warning"]

    def cli(self, port: int, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *self._auth, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout

    def start(self) -> None:
        for _ in range(self.masters):
            port = _node_port()
            node = ClusterNode(
                data_dir=self.workdir / f"node-{port}", port=port, password=self.password
            )
            self.nodes.append(node)
            node.start()
        subprocess.run(
            ["redis-cli", *self._auth, "--cluster", "create",
             *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            timeout=60,
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + self.timeout
        for port in self.ports:
            while "cluster_state:ok" not in self.cli(port, "CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Redis Cluster: node {port} never reported state ok")
                time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes.clear()

    def __enter__(self) -> RedisClusterProcesses:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
