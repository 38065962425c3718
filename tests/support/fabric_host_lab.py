"""GPU/InfiniBand hosts served over SSH on loopback (asyncssh's server), for discovery's fabric
collector: each host answers exec requests with canned outputs (the real captures of
``tests/fixtures/real``), a command it does not have as a shell does (``command not found``,
exit status 127), and a failing command with its exit status and standard error.

Run in a thread of the test's process (``serve``), one server per host on its own port;
every command a host receives is kept in ``FabricHostLab.received``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

__all__ = ["PASSWORD", "REAL", "USERNAME", "FabricHost", "FabricHostLab", "serve"]

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
USERNAME = "gpuadmin"
PASSWORD = "fabric-lab-2718"


@dataclass
class FabricHost:
    name: str
    #: command -> what it prints
    outputs: dict[str, str] = field(default_factory=dict)
    #: command -> (exit status, standard error)
    failing: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass
class FabricHostLab:
    ports: dict[str, int]
    received: dict[str, list[str]]


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USERNAME and password == PASSWORD


def _handler(host: FabricHost, received: list[str]):  # type: ignore[no-untyped-def]
    def handle(process: asyncssh.SSHServerProcess[str]) -> None:
        command = (process.command or "").strip()
        received.append(command)
        if command == "hostname":
            process.stdout.write(host.name + "\n")
            process.exit(0)
        elif command in host.outputs:
            process.stdout.write(host.outputs[command])
            process.exit(0)
        elif command in host.failing:
            status, stderr = host.failing[command]
            process.stderr.write(stderr)
            process.exit(status)
        else:
            tool = command.split()[0] if command else ""
            process.stderr.write(f"bash: line 1: {tool}: command not found\n")
            process.exit(127)

    return handle


@contextmanager
def serve(hosts: list[FabricHost]) -> Iterator[FabricHostLab]:
    """Serve ``hosts`` on 127.0.0.1 until the block ends."""
    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    lab = FabricHostLab(ports={}, received={h.name: [] for h in hosts})
    servers: list[asyncssh.SSHAcceptor] = []

    async def start() -> None:
        for host in hosts:
            server = await asyncssh.create_server(
                _Server,
                "127.0.0.1",
                0,
                server_host_keys=[key],
                process_factory=_handler(host, lab.received[host.name]),
            )
            servers.append(server)
            lab.ports[host.name] = server.sockets[0].getsockname()[1]

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield lab
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
