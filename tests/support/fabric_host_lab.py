"""GPU/InfiniBand hosts served over SSH on loopback (asyncssh's server), for discovery's fabric
collector: each host answers exec requests with canned outputs (the real captures of
``tests/fixtures/real``), a command it does not have as a shell does (``command not found``,
exit status 127), and a failing command with its exit status and standard error.

A host may also run what it is not given (``run``: the command's words, and whether it came
through sudo, to its exit status, stdout and stderr; the real infiniband-diags against
ibsim, say), and may stand for a login user allowed ``sudo -n`` (``sudo``): then a ``sudo
-n`` command runs as the command itself, as root; otherwise sudo answers as it does when it
wants a password.

Run in a thread of the test's process (``serve``), one server per host on its own port;
every command a host receives is kept in ``FabricHostLab.received``.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
from collections.abc import Callable, Iterator
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
    #: what runs a command given neither above: (its words, through sudo) -> (exit status,
    #: stdout, stderr)
    run: Callable[[list[str], bool], tuple[int, str, str]] | None = None
    #: whether ``sudo -n`` may run commands (None: no sudo on the host)
    sudo: bool | None = None


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
        root = command.startswith("sudo -n ")
        if root:
            if host.sudo is None:
                process.stderr.write("bash: line 1: sudo: command not found\n")
                process.exit(127)
                return
            if not host.sudo:
                process.stderr.write("sudo: a password is required\n")
                process.exit(1)
                return
            command = command.removeprefix("sudo -n ")
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
        elif host.run is not None:
            status, out, err = host.run(shlex.split(command), root)
            process.stdout.write(out)
            process.stderr.write(err)
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
