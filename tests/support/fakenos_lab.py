"""Serve a lab of SSH devices with FakeNOS, for the discovery tests and the benchmark.

Run as ``python fakenos_lab.py SPEC.json``: the spec lists hosts (name, address, port,
platform, username, password and ``outputs``: command -> text) and ``silent`` addresses
(a TCP listener that accepts and never speaks SSH). Prints ``ready`` once every server
listens, and stops when its standard input closes.

A host may also say how it behaves:

- ``prompt`` / ``enable_prompt``: prompt templates (``{base_prompt}`` is the host name), e.g.
  ``netops@{base_prompt}> `` for Junos;
- ``banner``: text printed after login, before the first prompt; ``banner_pause`` seconds
  between the banner's last line and its line break (a device that writes its MOTD slowly);
- ``paging``: ``"off"`` (default), ``"on"`` (outputs longer than a page stop at
  ``--More--`` until the platform's paging command, ``terminal length 0`` or
  ``set cli screen-length 0``, is given), or ``"always"`` (that command is ignored);
- ``enable_secret``: ``enable`` asks for this password before the privileged prompt, and
  ``privileged``: commands answered only at that prompt;
- ``hang``: commands that are never answered (the session stays open, silent);
- ``barrier``: ``show version`` waits until the spec's ``barrier`` count of sessions (across
  the lab) are waiting there too, so the collector must hold that many sessions at once;
  if they never come, the sessions stay silent;
- ``record``: append every command the host receives to ``sessions/<name>.log`` beside the
  spec file.

The lab writes ``stats.json`` beside the spec when it stops: the most sessions open at once
(from a shell's start until its client goes).

FakeNOS's own SSH plumbing (``fakenos.plugins.servers.ssh_server_paramiko``) reads what the
client types one byte at a time with a 10 ms sleep after each byte, and passes lines between
threads through lists polled every 10 ms; a 25-character command then costs a quarter of a
second before the device even sees it, which is what a benchmark of the collector measured.
The lab replaces those three pieces (``TapIO``, ``channel_to_shell_tap`` and
``shell_to_channel_tap``) in this process with blocking queues and chunked reads: the same
bytes in the same order (echo, then the shell's answer), without the sleeps. Its sockets
also send at once (``TCP_NODELAY``): with Nagle's algorithm the answer, sent right after the
echo, waited for the client's delayed acknowledgement, 40 ms per command.
"""

from __future__ import annotations

import collections
import functools
import io
import json
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import fakenos
import paramiko
import yaml
from fakenos import FakeNOS
from fakenos.plugins.servers import ssh_server_paramiko
from fakenos.plugins.shell.cmd_shell import CMDShell

_SESSION = ("terminal ", "set cli ", "screen-", "no page", "disable")
_PAGING_OFF = {"juniper_junos": "set cli screen-length 0"}
_PAGE_LINES = 24
_MORE = {"juniper_junos": "---(more)---"}
_SHUTDOWN = threading.Event()
_STATS_LOCK = threading.Lock()
_STATS = {"open": 0, "peak_open": 0}
_BARRIER: threading.Barrier | None = None


class _Lines(io.StringIO):
    """What one side of a session writes, for the other to read line by line (FakeNOS's
    ``TapIO`` contract: ``readline`` blocks, and returns None once the session is over)."""

    def __init__(self, run_srv: threading.Event, initial_value: str = "", newline: str = "\n"):
        super().__init__(initial_value, newline)
        self.run_srv = run_srv
        self._lines: collections.deque[str] = collections.deque()
        self._ready = threading.Condition()
        #: The shell waits for one key (a pager): the next byte typed is passed on alone.
        self.key_wanted = False
        #: The shell reads a password: the next line typed is not echoed.
        self.hidden = False

    def readline(self, size: int | None = -1) -> Any:
        with self._ready:
            while self.run_srv.is_set():
                if self._lines:
                    return self._lines.popleft()
                self._ready.wait(0.5)  # wakes to notice the session ending
        return None

    def drain(self) -> list[str] | None:
        """Every line written so far (blocking until there is one); None once it is over."""
        with self._ready:
            while self.run_srv.is_set():
                if self._lines:
                    lines = list(self._lines)
                    self._lines.clear()
                    return lines
                self._ready.wait(0.5)
        return None

    def write(self, value: str) -> int:
        with self._ready:
            self._lines.append(value)
            self._ready.notify()
        return len(value)

    def flush(self) -> None:
        pass


def _channel_to_shell(
    channel_stdio: Any, shell_stdin: _Lines, replied: threading.Event, run_srv: threading.Event
) -> None:
    """What the client types: echoed, and passed to the shell a line at a time; each line only
    once the shell has answered the one before (FakeNOS's order), read in chunks."""
    with _STATS_LOCK:  # a session is open from its shell's start until the client leaves
        _STATS["open"] += 1
        _STATS["peak_open"] = max(_STATS["peak_open"], _STATS["open"])
    try:
        _type_into_shell(channel_stdio.channel, shell_stdin, replied, run_srv)
    finally:
        with _STATS_LOCK:
            _STATS["open"] -= 1


def _type_into_shell(
    channel: paramiko.Channel,
    shell_stdin: _Lines,
    replied: threading.Event,
    run_srv: threading.Event,
) -> None:
    line = bytearray()
    while run_srv.is_set():
        try:
            data = channel.recv(4096)
        except (OSError, EOFError):
            break
        if not data:
            break
        echo = bytearray()
        for value in data:
            byte = bytes((value,))
            if echo and not replied.is_set():
                channel.sendall(bytes(echo))
                echo.clear()
            replied.wait(10)
            if not channel.active:
                return
            if shell_stdin.key_wanted:
                shell_stdin.key_wanted = False
                replied.clear()
                shell_stdin.write(byte.decode("latin-1"))
            elif byte in (b"\r", b"\n"):
                echo += b"\r\n"
                channel.sendall(bytes(echo))
                echo.clear()
                line += byte
                shell_stdin.hidden = False
                replied.clear()
                shell_stdin.write(line.decode("utf-8", errors="replace"))
                line.clear()
            elif byte not in (b"\x00", b""):
                if not shell_stdin.hidden:
                    echo += byte
                line += byte
        if echo:
            try:
                channel.sendall(bytes(echo))
            except (OSError, EOFError):
                break


def _shell_to_channel(
    channel_stdio: Any, shell_stdout: _Lines, replied: threading.Event, run_srv: threading.Event
) -> None:
    """What the shell writes, sent as it comes: everything written so far in one send."""
    channel: paramiko.Channel = channel_stdio.channel
    while run_srv.is_set():
        lines = shell_stdout.drain()
        if lines is None or channel.closed:
            break
        text = "".join(lines)
        if "\r\n" not in text and "\n" in text:
            text = text.replace("\n", "\r\n")
        try:
            channel.sendall(text.encode("utf-8"))
        except (OSError, EOFError):
            break
        replied.set()


_serve_connection = ssh_server_paramiko.ParamikoSshServer.connection_function


def _connection_function(self: Any, client: socket.socket, is_running: threading.Event) -> None:
    """FakeNOS's, on a socket that sends at once (no Nagle): the echo and the answer are
    separate sends, and the second would otherwise wait for the client's delayed ACK."""
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _serve_connection(self, client, is_running)


ssh_server_paramiko.TapIO = _Lines  # type: ignore[misc,assignment]
ssh_server_paramiko.channel_to_shell_tap = _channel_to_shell
ssh_server_paramiko.shell_to_channel_tap = _shell_to_channel
ssh_server_paramiko.ParamikoSshServer.connection_function = _connection_function  # type: ignore[method-assign]


class _LabShell(CMDShell):  # type: ignore[misc]
    """FakeNOS's shell, with the behaviours a host of the spec asks for."""

    def __init__(
        self, *args: Any, host: dict[str, Any], enable_prompt: str, log_dir: Path, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.host = host
        self.platform = host["platform"]
        self.paging = host.get("paging", "off") != "off"
        self.log = log_dir / f"{host['name']}.log" if host.get("record") else None
        self.user_prompt = self.prompt
        self.enable_prompt = enable_prompt.format(base_prompt=self.base_prompt)
        banner = host.get("banner")
        if banner is not None:
            self.intro = None
            self._banner = str(banner)
        else:
            self._banner = ""

    def preloop(self) -> None:
        if self._banner:
            for text in self._banner.splitlines(keepends=True):
                self.stdout.write(text)
            if pause := self.host.get("banner_pause"):
                _SHUTDOWN.wait(float(pause))  # a slow MOTD: its last line waits a while
            self.stdout.write("\n")

    def default(self, line: str) -> bool:
        command = line.strip()
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as out:
                out.write(command + "\n")
        if command in self.host.get("hang", ()):
            _SHUTDOWN.wait()
            return True
        if command == "show version" and self.host.get("barrier"):
            assert _BARRIER is not None
            try:
                _BARRIER.wait(timeout=60)
            except threading.BrokenBarrierError:
                _SHUTDOWN.wait()
                return True
        if command == "enable":
            return self._enable()
        if command in self.host.get("privileged", ()) and self.prompt != self.enable_prompt:
            self.writeline("% Invalid input detected at '^' marker.")
            return False
        if command == _PAGING_OFF.get(self.platform, "terminal length 0"):
            if self.host.get("paging") == "on":
                self.paging = False
        if not self.paging:
            return bool(super().default(line))
        printed: list[str] = []
        writeline = self.writeline
        self.writeline = printed.append  # type: ignore[method-assign]
        try:
            stop = bool(super().default(line))
        finally:
            self.writeline = writeline  # type: ignore[method-assign]
        self._paged("\n".join(printed).splitlines())
        return stop

    def _paged(self, lines: list[str]) -> None:
        """Print ``lines`` a page at a time; the pager waits for one key between pages."""
        marker = _MORE.get(self.platform, " --More-- ")
        erase = "\x08" * len(marker) + " " * len(marker) + "\x08" * len(marker)
        for start in range(0, len(lines), _PAGE_LINES):
            if start:
                self.stdin.key_wanted = True
                self.stdout.write(marker)
                if self.stdin.readline() is None:
                    return
                self.stdout.write(erase)
            for text in lines[start : start + _PAGE_LINES]:
                self.stdout.write(text + self.newline)

    def _enable(self) -> bool:
        secret = self.host.get("enable_secret")
        if secret is None:
            self.prompt = self.enable_prompt
            return False
        self.stdin.hidden = True
        self.stdout.write("Password: ")
        given = self.stdin.readline()
        if given is None:
            return True
        if given.rstrip("\r\n") == secret:
            self.prompt = self.enable_prompt
        else:
            self.writeline("% Access denied")
        return False


def _nos(host: dict) -> tuple[dict, str]:
    """The platform's own session commands (paging, width) plus the host's outputs; nothing
    else of the platform's canned outputs, so every answer is the host's."""
    base = Path(fakenos.__file__).parent / "plugins" / "nos" / "platforms_yaml"
    platform = yaml.safe_load((base / f"{host['platform']}.yaml").read_text(encoding="utf-8"))
    user = host.get("prompt", platform.get("initial_prompt", "{base_prompt}>"))
    enable = host.get("enable_prompt", platform.get("enable_prompt", "{base_prompt}#"))
    prompts = [user, enable]
    commands = {
        name: {**body, "prompt": prompts}
        for name, body in platform["commands"].items()
        if name.startswith(_SESSION)
    }
    commands.setdefault("terminal width 511", {"output": "", "help": "", "prompt": prompts})
    commands.setdefault("terminal length 0", {"output": "", "help": "", "prompt": prompts})
    for command, text in host["outputs"].items():
        commands[command] = {"output": text.rstrip("\n"), "help": "", "prompt": prompts}
    return {
        "name": f"lab-{host['name']}",
        "initial_prompt": user,
        "commands": commands,
    }, enable


def _silent(server: socket.socket, stop: threading.Event) -> None:
    server.settimeout(0.2)
    held = []
    while not stop.is_set():
        try:
            conn, _ = server.accept()
            held.append(conn)  # accepted, never answered
        except TimeoutError:
            continue
    for conn in held:
        conn.close()
    server.close()


def main() -> None:
    global _BARRIER
    logging.basicConfig(level=logging.CRITICAL)
    spec_file = Path(sys.argv[1])
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    log_dir = spec_file.parent / "sessions"
    log_dir.mkdir(exist_ok=True)
    if spec.get("barrier"):
        _BARRIER = threading.Barrier(int(spec["barrier"]))
    nets = []  # kept alive until the lab stops
    for host in spec["hosts"]:
        inventory = {
            "hosts": {
                host["name"]: {
                    "username": host["username"],
                    "password": host["password"],
                    "port": host["port"],
                    "platform": host["platform"],
                    "nos": {"plugin": f"lab-{host['name']}"},
                    "server": {
                        "plugin": "ParamikoSshServer",
                        "configuration": {"address": host["address"], "timeout": 1},
                    },
                }
            }
        }
        nos, enable_prompt = _nos(host)
        net = FakeNOS(inventory=inventory, plugins=[nos])
        net.shell_plugins["CMDShell"] = functools.partial(
            _LabShell, host=host, enable_prompt=enable_prompt, log_dir=log_dir
        )
        net.start()
        nets.append(net)
    stop = threading.Event()
    servers = [socket.create_server((s["address"], s["port"])) for s in spec.get("silent", [])]
    threads = [
        threading.Thread(target=_silent, args=(server, stop), daemon=True) for server in servers
    ]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    sys.stdin.read()
    stop.set()
    _SHUTDOWN.set()
    if _BARRIER is not None:
        _BARRIER.abort()
    with _STATS_LOCK:
        stats = {"peak_open": _STATS["peak_open"]}
    (spec_file.parent / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    # FakeNOS stops its servers one by one, each waiting up to a second for its listener;
    # the lab is over, and its sockets close with the process
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
