"""Serve a lab of SSH devices with FakeNOS, for the discovery tests and the benchmark.

Run as ``python fakenos_lab.py SPEC.json``: the spec lists hosts (name, address, port,
platform, username, password and ``outputs``: command -> text) and ``silent`` addresses
(a TCP listener that accepts and never speaks SSH). Prints ``ready`` once every server
listens, and stops when its standard input closes.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from pathlib import Path

import fakenos
import yaml
from fakenos import FakeNOS

_PROMPTS = ["{base_prompt}>", "{base_prompt}#"]
_SESSION = ("enable", "terminal ", "set cli ", "screen-", "no page", "disable")


def _nos(host: dict) -> dict:
    """The platform's own session commands (paging, width, enable) plus the host's outputs;
    nothing else of the platform's canned outputs, so every answer is the host's."""
    base = Path(fakenos.__file__).parent / "plugins" / "nos" / "platforms_yaml"
    platform = yaml.safe_load((base / f"{host['platform']}.yaml").read_text(encoding="utf-8"))
    commands = {
        name: body for name, body in platform["commands"].items() if name.startswith(_SESSION)
    }
    commands.setdefault("terminal width 511", {"output": "", "help": "", "prompt": _PROMPTS})
    commands.setdefault("terminal length 0", {"output": "", "help": "", "prompt": _PROMPTS})
    for command, text in host["outputs"].items():
        commands[command] = {"output": text.rstrip("\n"), "help": "", "prompt": _PROMPTS}
    return {
        "name": f"lab-{host['name']}",
        "initial_prompt": platform.get("initial_prompt", "{base_prompt}>"),
        "enable_prompt": platform.get("enable_prompt", "{base_prompt}#"),
        "commands": commands,
    }


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
    logging.basicConfig(level=logging.CRITICAL)
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    nets = []
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
        net = FakeNOS(inventory=inventory, plugins=[_nos(host)])
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
    for net in nets:
        net.stop()


if __name__ == "__main__":
    main()
