"""Collecting command output over SSH with asyncssh: one coroutine per device, many devices
in flight on one event loop (the runner bounds how many).

A session is driven by the device's prompt (:mod:`._cli`): log in, learn the prompt, turn
paging off with the platform's commands, then send each command and read until the prompt
is back; nothing sleeps a fixed time. Every step (TCP connect, the server's first words, key
exchange and authentication, each command) has ``timeout`` seconds.

Where the platform prints structured output for a command we have a JSON mapping for
(``| json`` on EOS and NX-OS, ``| display json`` on Junos), that form is asked first; anything
but a JSON object (an older release, an error) falls back to the text command and TextFSM.

Secrets are resolved when the device is dialled and handed to asyncssh (password, key file)
or typed at the device's ``enable`` password prompt; they never reach a log, a result or an
error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import asyncssh
import structlog

from network_discovery.discovery._cli import DIALECTS, CliClosed, CliSession, CliTimeout
from network_discovery.discovery._secrets import CredentialError
from network_discovery.discovery.inventory import Target
from network_discovery.discovery.plan import JSON_PIPES, commands_for, is_unsupported_output
from network_discovery.discovery.result import DeviceResult, DeviceStatus
from network_discovery.parsers import JSON_ADAPTERS
from network_discovery.parsers._json_base import load_document

__all__ = ["DEFAULT_SSH_PORT", "SSH_PLATFORMS", "collect_ssh"]

log = structlog.get_logger(__name__)

DEFAULT_SSH_PORT = 22
#: The platforms collected over SSH.
SSH_PLATFORMS = tuple(DIALECTS)

# asyncssh logs every connection and channel at INFO; a run of thousands of devices says
# what it needs in its own lines. An application that sets the logger's level keeps its own.
if logging.getLogger("asyncssh").level == logging.NOTSET:
    logging.getLogger("asyncssh").setLevel(logging.WARNING)

#: Algorithms network devices still offer, on top of asyncssh's defaults: what the SSH client
#: used before (paramiko) accepted, so that older IOS and NX-OS releases keep answering.
_LEGACY = {
    "kex_algs": "+diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1",
    "encryption_algs": "+aes128-cbc,aes192-cbc,aes256-cbc,3des-cbc",
    "mac_algs": "+hmac-md5,hmac-sha1-96,hmac-md5-96",
}


@dataclass(frozen=True)
class _Login:
    username: str
    password: str | None
    secret: str | None
    client_keys: list[asyncssh.SSHKey] | None


class _SshTimeout(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Client(asyncssh.SSHClient):
    """Notes how far the connection got, so that each step has its own timeout."""

    def __init__(self) -> None:
        self.phase = "connect"
        self.progressed = asyncio.Event()

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.phase = "banner"
        self.progressed.set()

    def begin_auth(self, username: str) -> None:
        self.phase = "auth"
        self.progressed.set()


_PHASE_TIMEOUTS = {
    "connect": "timed out",
    "banner": "timed out waiting for the SSH server to speak",
    "auth": "timed out during authentication",
}


def _login(target: Target, environ: Mapping[str, str] | None) -> _Login:
    creds = target.credentials
    password = creds.resolve("password", environ)
    secret = creds.resolve("secret", environ)
    if password is None and creds.key_file is None:
        raise CredentialError(f"credentials {creds.name!r}: no password_env/_file nor key_file")
    keys = None
    if creds.key_file is not None:
        try:
            keys = [asyncssh.read_private_key(creds.key_file)]
        except (OSError, asyncssh.KeyImportError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise CredentialError(
                f"credentials {creds.name!r}: cannot read key_file {creds.key_file} ({reason})"
            ) from None
    return _Login(
        username=creds.ssh_username(environ),
        password=password.reveal() if password else None,
        secret=secret.reveal() if secret else None,
        client_keys=keys,
    )


async def _connect(target: Target, login: _Login, timeout: float) -> asyncssh.SSHClientConnection:
    """The authenticated connection; each step (TCP, the server's banner and key exchange,
    authentication) within ``timeout``."""
    client = _Client()
    task = asyncio.ensure_future(
        asyncssh.connect(
            target.address,
            target.port or DEFAULT_SSH_PORT,
            client_factory=lambda: client,
            username=login.username,
            password=login.password,
            client_keys=login.client_keys,
            known_hosts=None,
            agent_path=None,
            config=None,
            login_timeout=0,
            keepalive_interval=0,
            **_LEGACY,
        )
    )
    try:
        while True:
            client.progressed.clear()
            step = asyncio.ensure_future(client.progressed.wait())
            done, _ = await asyncio.wait(
                {task, step}, timeout=timeout, return_when="FIRST_COMPLETED"
            )
            step.cancel()
            if task in done:
                return task.result()
            if not done:
                raise _SshTimeout(_PHASE_TIMEOUTS[client.phase])
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _classify(exc: BaseException) -> tuple[DeviceStatus, str]:
    """A status and a one-line reason; never the exception text that may echo input."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return DeviceStatus.AUTH_FAILED, "authentication failed (check username and password)"
    if isinstance(exc, _SshTimeout):
        return DeviceStatus.TIMED_OUT, exc.detail
    if isinstance(exc, CliTimeout):
        return DeviceStatus.TIMED_OUT, f"timed out {exc.step}"
    if isinstance(exc, TimeoutError):
        return DeviceStatus.TIMED_OUT, "timed out"
    if isinstance(exc, CliClosed):
        return DeviceStatus.ERROR, f"SSH error: the device closed the session ({exc})"
    if isinstance(exc, ConnectionRefusedError):
        return DeviceStatus.UNREACHABLE, "connection refused"
    if isinstance(exc, OSError) and not isinstance(exc, asyncssh.Error):
        return DeviceStatus.UNREACHABLE, f"unreachable ({exc.strerror or type(exc).__name__})"
    return DeviceStatus.ERROR, f"SSH error: {type(exc).__name__}"


def _is_json(text: str) -> bool:
    """Whether the device answered ``| json`` with a JSON object (else: fall back to text)."""
    if not text.strip().startswith("{"):
        return False
    try:
        return isinstance(load_document(text), dict)
    except ValueError:
        return False


async def _commands(cli: CliSession, platform: str, result: DeviceResult) -> None:
    for command in commands_for(platform):
        if command in JSON_ADAPTERS.get(platform, {}):
            text = await cli.run(f"{command} {JSON_PIPES[platform]}")
            if _is_json(text):
                result.json_outputs[command] = text
                continue
        text = await cli.run(command)
        if is_unsupported_output(text):
            result.unavailable.append(command)
        else:
            result.outputs[command] = text


async def collect_ssh(
    target: Target, *, timeout: float = 30.0, environ: Mapping[str, str] | None = None
) -> DeviceResult:
    """Log in, run the platform's commands, log out. One attempt; never raises for what a
    device does (its status and detail say it)."""
    dialect = DIALECTS.get(target.platform or "")
    if dialect is None:
        return DeviceResult(
            target,
            DeviceStatus.UNSUPPORTED_PLATFORM,
            f"platform {target.platform or 'unknown'!r} is not one of " + ", ".join(DIALECTS),
            attempts=0,
        )
    try:
        login = _login(target, environ)
    except CredentialError as exc:
        return DeviceResult(target, DeviceStatus.ERROR, str(exc), attempts=0)
    result = DeviceResult(target, DeviceStatus.OK)
    started = time.perf_counter()
    conn: asyncssh.SSHClientConnection | None = None
    cli: CliSession | None = None
    try:
        conn = await _connect(target, login, timeout)
        cli = CliSession(conn, dialect, timeout)
        await cli.open(login.secret)
        result.connect_s = time.perf_counter() - started
        result.hostname = cli.hostname or None
        if cli.enable_refused:
            result.detail = "enable refused: collected at the user prompt"
        await _commands(cli, target.platform or "", result)
    except Exception as exc:
        result.status, result.detail = _classify(exc)
        log.info("discovery.ssh.failed", device=target.label, status=result.status.value)
    finally:
        elapsed = time.perf_counter() - started
        if not result.connect_s:
            result.connect_s = elapsed
        else:
            result.commands_s = elapsed - result.connect_s
        if cli is not None:
            cli.close()
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), timeout)
    return result
