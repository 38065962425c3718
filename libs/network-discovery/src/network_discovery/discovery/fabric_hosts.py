"""Collecting a GPU/InfiniBand host's fabric tools over SSH, and reading what they print.

A target marked ``fabric`` in the inventory is a Linux host, not a network device's command
line: each tool runs in its own SSH exec channel (no shell prompt to recognise), its
standard output read up to a bound and its exit status kept. What is run:

- every fabric host (``fabric: host``, or ``true``): ``ibstat``, ``perfquery -x`` (its own
  port's 64-bit counters), ``nvidia-smi -q -x``, ``nvidia-smi topo -m``,
  ``dcgmi discovery -l``;
- a host marked ``fabric: sweep`` also runs the fabric-wide ``ibnetdiscover`` and
  ``iblinkinfo`` (one host of the fabric is enough; each sweep reads every switch), then,
  for every switch ``ibnetdiscover`` printed with a LID (at most :data:`MAX_SWITCHES`),
  ``perfquery -l <LID> 255`` (the counters of each of its ports) and ``ibroute <LID>`` (its
  unicast forwarding table, which the paths of NCCL flows follow).

The tools that talk to the fabric's management interface (``/dev/infiniband/umad*``) run
through ``sudo -n`` when the inventory says ``fabric: {sudo: true}`` (the login user must be
allowed them without a password); the others (``ibstat``, ``nvidia-smi``, ``dcgmi``) never
do. A tool the host does not have (exit status 127, the shell's "command not found", or
sudo's) is listed in the result's ``unavailable`` and the rest go on; a tool that fails
otherwise is named in the detail with its exit status, and its output is not read. When it
failed because the login user may not open the management device, or sudo asked for a
password, the detail says so and names the fix. An output over its bound (the readers' own
input limits) is not collected at all: a cut output would give a part of the fabric as if
it were all of it.
The outputs are read by the same readers as ``meshq ingest`` (InfiniBand and GPU outputs
of a host's folder), owned by the host's name; no device record is made for the host (its
Ethernet side is collected as a device of its own, or not at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import asyncssh
import structlog

from network_discovery.discovery._secrets import CredentialError
from network_discovery.discovery.inventory import Target
from network_discovery.discovery.result import DeviceResult, DeviceStatus
from network_discovery.model import normalise_hostname
from network_discovery.parsers import CommandOutput
from network_discovery.parsers._fabric_files import read_fabric
from network_discovery.parsers._gpu_files import read_gpus
from network_discovery.parsers.gpu import MAX_INPUT_CHARS
from network_discovery.parsers.infiniband import MAX_INPUT_BYTES, parse_ibnetdiscover
from network_discovery.parsers.report import ParseReport

__all__ = [
    "FABRIC_TOOLS",
    "HOST_TOOLS",
    "MAX_SWITCHES",
    "SWEEP_TOOLS",
    "FabricTool",
    "collect_fabric_host",
    "output_files",
    "parse_fabric_host",
    "switch_tools",
    "tools_for",
]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class FabricTool:
    """One command, the file name its output is read (and saved) as, and its bound;
    ``management``: it opens the fabric's management device (run through sudo when asked)."""

    command: str
    file: str
    max_bytes: int
    management: bool = False


_GPU_BYTES = MAX_INPUT_CHARS
HOST_TOOLS = (
    FabricTool("ibstat", "ibstat.txt", MAX_INPUT_BYTES),
    FabricTool("perfquery -x", "perfquery.txt", MAX_INPUT_BYTES, management=True),
    FabricTool("nvidia-smi -q -x", "nvidia-smi -q -x.xml", _GPU_BYTES),
    FabricTool("nvidia-smi topo -m", "nvidia-smi topo -m.txt", _GPU_BYTES),
    FabricTool("dcgmi discovery -l", "dcgmi discovery -l.txt", _GPU_BYTES),
)
SWEEP_TOOLS = (
    FabricTool("ibnetdiscover", "ibnetdiscover.txt", MAX_INPUT_BYTES, management=True),
    FabricTool("iblinkinfo", "iblinkinfo.txt", MAX_INPUT_BYTES, management=True),
)
FABRIC_TOOLS = (*SWEEP_TOOLS, *HOST_TOOLS)
#: Switches whose port counters and forwarding table a sweep reads, at most (two commands
#: each); the rest are named in the detail, their counters and routes unknown.
MAX_SWITCHES = 1024
#: Per-switch commands run at once (an SSH server allows 10 sessions by default).
_PARALLEL = 4
#: Per-switch failures named in the detail, at most (the rest are counted).
_SWITCH_FAILURES = 3
#: The shell's exit status for a command it cannot find.
_NOT_FOUND = 127
_SUDO_NOT_FOUND = re.compile(r"^sudo: [^:\n]+: command not found", re.M)
_SUDO_PASSWORD = re.compile(r"sudo: (?:a )?password is required|sudo: a terminal is required")
_UMAD = re.compile(
    r"can't open UMAD port|Failed to open '[^']*' port|umad_open_port|"
    r"/dev/infiniband/umad\d*: Permission denied",
    re.I,
)
_UMAD_FIX = (
    "the login user cannot open the fabric's management device (/dev/infiniband/umad*): "
    "give it read/write access there (a udev rule or group), log in as root, or set "
    "'fabric: {sudo: true}' in the inventory with passwordless sudo for the InfiniBand tools"
)
_SUDO_FIX = (
    "sudo asked for a password: allow the InfiniBand tools without one (NOPASSWD in "
    "sudoers) or set 'fabric: {sudo: false}' and give the login user access to "
    "/dev/infiniband/umad*"
)
#: Standard error kept per command (for the detail's first line), at most.
_STDERR_BYTES = 4096
_CHUNK = 1 << 16
_HOSTNAME_BYTES = 512


def tools_for(target: Target) -> tuple[FabricTool, ...]:
    """The tools run on ``target``: a sweep host's fabric-wide ones first."""
    return FABRIC_TOOLS if target.fabric == "sweep" else HOST_TOOLS


def switch_tools(ibnetdiscover: str) -> tuple[tuple[FabricTool, ...], int]:
    """The per-switch commands for the switches an ``ibnetdiscover`` output names with a
    LID (by LID, at most :data:`MAX_SWITCHES`), and how many switches were left out."""
    lids = sorted({n.lid for n in parse_ibnetdiscover(ibnetdiscover).nodes if n.lid and not n.host})
    tools = tuple(
        tool
        for lid in lids[:MAX_SWITCHES]
        for tool in (
            FabricTool(
                f"perfquery -l {lid} 255", f"perfquery_-l_{lid}_255.txt", MAX_INPUT_BYTES, True
            ),
            FabricTool(f"ibroute {lid}", f"ibroute_{lid}.txt", MAX_INPUT_BYTES, True),
        )
    )
    return tools, max(0, len(lids) - MAX_SWITCHES)


_SWITCH_COMMAND = re.compile(r"^(perfquery -l|ibroute) (\d{1,5})(?: 255)?$")


def output_files(outputs: Mapping[str, str]) -> dict[str, str]:
    """The file each collected output is read (and saved) as: ``file name -> command``."""
    known = {tool.command: tool.file for tool in FABRIC_TOOLS}
    files: dict[str, str] = {}
    for command in outputs:
        if command in known:
            files[known[command]] = command
        elif _SWITCH_COMMAND.match(command):
            files[command.replace(" ", "_") + ".txt"] = command
    return files


class _TooLarge(Exception):
    pass


@dataclass
class _Ran:
    exit_status: int | None
    stdout: str
    stderr: str


async def _drain(stream: asyncssh.SSHReader[bytes], limit: int, keep: bool) -> bytes:
    """Read ``stream`` to its end, keeping at most ``limit`` bytes; over it, raise
    :class:`_TooLarge` (``keep``) or drop the rest (stderr)."""
    out = bytearray()
    while chunk := await stream.read(_CHUNK):
        if len(out) + len(chunk) > limit:
            if keep:
                raise _TooLarge
            out += chunk[: max(0, limit - len(out))]
            continue
        out += chunk
    return bytes(out)


async def _run(
    conn: asyncssh.SSHClientConnection, command: str, limit: int, timeout: float
) -> _Ran:
    """Run ``command`` in an exec channel: its output (at most ``limit`` bytes), its
    standard error's start and exit status, all within ``timeout`` seconds."""
    process = await asyncio.wait_for(
        conn.create_process(command, encoding=None, stdin=asyncssh.DEVNULL), timeout
    )
    reading = [
        asyncio.ensure_future(_drain(process.stdout, limit, keep=True)),
        asyncio.ensure_future(_drain(process.stderr, _STDERR_BYTES, keep=False)),
    ]
    try:
        async with asyncio.timeout(timeout):
            out, err = await reading[0], await reading[1]
            await process.wait_closed()
    finally:
        for task in reading:
            task.cancel()
        process.close()
        await asyncio.gather(*reading, return_exceptions=True)
    return _Ran(
        process.exit_status,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
    )


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:160]


def _command(tool: FabricTool, target: Target) -> str:
    return f"sudo -n {tool.command}" if tool.management and target.fabric_sudo else tool.command


async def _one(
    conn: asyncssh.SSHClientConnection,
    target: Target,
    tool: FabricTool,
    result: DeviceResult,
    timeout: float,
) -> str | None:
    """Run one tool into ``result``; why it failed, or None."""
    try:
        ran = await _run(conn, _command(tool, target), tool.max_bytes, timeout)
    except _TooLarge:
        return f"{tool.command}: output over {tool.max_bytes} bytes, not collected"
    except TimeoutError:
        return f"{tool.command}: timed out"
    if ran.exit_status == _NOT_FOUND or (
        ran.exit_status != 0 and _SUDO_NOT_FOUND.search(ran.stderr)
    ):
        # a per-switch command is named once, by its tool
        name = tool.command.split()[0] if _SWITCH_COMMAND.match(tool.command) else tool.command
        if name not in result.unavailable:
            result.unavailable.append(name)
        return None
    if ran.exit_status != 0:
        why = _first_line(ran.stderr) or _first_line(ran.stdout)
        text = f"{tool.command}: exit status {ran.exit_status}" + (f" ({why})" if why else "")
        if tool.management and target.fabric_sudo and _SUDO_PASSWORD.search(ran.stderr):
            return f"{text}: {_SUDO_FIX}"
        if tool.management and _UMAD.search(ran.stderr + ran.stdout):
            return f"{text}: {_UMAD_FIX}"
        return text
    if not ran.stdout.strip():
        return f"{tool.command}: printed nothing"
    result.outputs[tool.command] = ran.stdout
    return None


async def _collect(
    conn: asyncssh.SSHClientConnection, target: Target, result: DeviceResult, timeout: float
) -> list[str]:
    """Run the host's tools into ``result``; the failures, one phrase each."""
    failed: list[str] = []
    with contextlib.suppress(_TooLarge, asyncssh.Error, TimeoutError):
        ran = await _run(conn, "hostname", _HOSTNAME_BYTES, timeout)
        name = ran.stdout.strip()
        if ran.exit_status == 0 and name and "\n" not in name:
            with contextlib.suppress(ValueError):
                result.hostname = normalise_hostname(name)
    for tool in tools_for(target):
        why = await _one(conn, target, tool, result, timeout)
        if why is not None:
            failed.append(why)
    sweep = result.outputs.get("ibnetdiscover")
    if target.fabric == "sweep" and sweep is not None:
        tools, left_out = switch_tools(sweep)
        gate = asyncio.Semaphore(_PARALLEL)

        async def each(tool: FabricTool) -> str | None:
            async with gate:
                return await _one(conn, target, tool, result, timeout)

        per_switch = [w for w in await asyncio.gather(*map(each, tools)) if w is not None]
        failed += per_switch[:_SWITCH_FAILURES]
        if len(per_switch) > _SWITCH_FAILURES:
            failed.append(f"and {len(per_switch) - _SWITCH_FAILURES} more per-switch failures")
        if left_out:
            failed.append(
                f"{left_out} switch(es) over {MAX_SWITCHES}: their counters and forwarding "
                "tables not collected"
            )
    # the per-switch outputs in LID order, whatever order they finished in
    files = output_files(result.outputs)
    order = {command: n for n, command in enumerate(sorted(files.values(), key=_by_lid))}
    result.outputs = dict(sorted(result.outputs.items(), key=lambda kv: order.get(kv[0], -1)))
    return failed


def _by_lid(command: str) -> tuple[int, str]:
    match = _SWITCH_COMMAND.match(command)
    return (int(match.group(2)) if match else -1, command)


async def collect_fabric_host(
    target: Target, *, timeout: float = 30.0, environ: Mapping[str, str] | None = None
) -> DeviceResult:
    """Log in to a GPU/InfiniBand host, run its fabric tools, log out. One attempt; never
    raises for what the host does (the result's status and detail say it)."""
    from network_discovery.discovery.ssh import _classify, _connect, _login

    try:
        login = _login(target, environ)
    except CredentialError as exc:
        return DeviceResult(target, DeviceStatus.ERROR, str(exc), attempts=0)
    result = DeviceResult(target, DeviceStatus.OK)
    started = time.perf_counter()
    conn: asyncssh.SSHClientConnection | None = None
    try:
        conn = await _connect(target, login, timeout)
        result.connect_s = time.perf_counter() - started
        failed = await _collect(conn, target, result, timeout)
        if result.unavailable:
            failed.append(f"not installed: {', '.join(result.unavailable)}")
        result.detail = "; ".join(failed)
        result.commands_s = time.perf_counter() - started - result.connect_s
    except Exception as exc:
        result.status, result.detail = _classify(exc)
        log.info("discovery.fabric.failed", device=target.label, status=result.status.value)
    finally:
        if not result.connect_s:
            result.connect_s = time.perf_counter() - started
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), timeout)
    return result


def parse_fabric_host(result: DeviceResult) -> DeviceResult:
    """Read a collected fabric host's outputs in place, as ``meshq ingest`` reads a host's
    InfiniBand and GPU files: ``result.fabric`` and ``result.gpus``, owned by the host's
    name (the inventory's, else the one the host gave)."""
    if result.status is not DeviceStatus.OK:
        return result
    started = time.perf_counter()
    target = result.target
    try:
        host = normalise_hostname(target.name or result.hostname or target.address)
    except ValueError:
        host = target.address
    result.hostname = host
    files = {
        file: CommandOutput(f"ssh://{host}/{command}", result.outputs[command])
        for file, command in output_files(result.outputs).items()
    }
    report = ParseReport()
    ib = {n: f for n, f in files.items() if not n.startswith(("nvidia", "dcgmi"))}
    gpu = {n: f for n, f in files.items() if n.startswith(("nvidia", "dcgmi"))}
    result.fabric = read_fabric(host, ib, report) if ib else None
    result.gpus = read_gpus(host, gpu, report) if gpu else None
    result.issues = report.errors
    if report.errors:
        result.status = DeviceStatus.PARSE_ERRORS
        first = f"{len(report.errors)} output(s) not understood; first: {report.errors[0]}"
        result.detail = "; ".join(p for p in (result.detail, first) if p)
    elif not result.collected:
        result.status = DeviceStatus.PARSE_ERRORS
        result.detail = "; ".join(p for p in (result.detail, "no output could be read") if p)
    result.parse_s = time.perf_counter() - started
    return result
