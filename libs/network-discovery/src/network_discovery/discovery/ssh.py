"""Collecting command output over SSH with netmiko (blocking; run in worker threads).

netmiko is used rather than scrapli: its API has been stable across the 4.x line, it drives
every platform we parse (``cisco_ios``, ``cisco_nxos``, ``arista_eos``, ``juniper_junos``)
with the paging and prompt handling each needs, and it is what the SSH test peers here are
built to answer. Its calls block, so the runner gives each device a thread of a pool sized
to the run's concurrency.

Where the platform prints structured output for a command we have a JSON mapping for
(``| json`` on EOS and NX-OS, ``| display json`` on Junos), that form is asked first; anything
but a JSON object (an older release, an error) falls back to the text command and TextFSM.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any

import paramiko
import structlog
from netmiko import ConnectHandler
from netmiko.exceptions import (
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from network_discovery.discovery._secrets import CredentialError
from network_discovery.discovery.inventory import Target
from network_discovery.discovery.plan import (
    JSON_PIPES,
    NETMIKO_DEVICE_TYPES,
    commands_for,
    is_unsupported_output,
)
from network_discovery.discovery.result import DeviceResult, DeviceStatus
from network_discovery.parsers import JSON_ADAPTERS
from network_discovery.parsers._json_base import load_document

__all__ = ["DEFAULT_SSH_PORT", "collect_ssh"]

log = structlog.get_logger(__name__)

DEFAULT_SSH_PORT = 22


def _classify(exc: BaseException) -> tuple[DeviceStatus, str]:
    """A status and a one-line reason; never the exception text that may echo input."""
    if isinstance(exc, (NetmikoAuthenticationException, paramiko.AuthenticationException)):
        return DeviceStatus.AUTH_FAILED, "authentication failed (check username and password)"
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, (ReadTimeout, socket.timeout, TimeoutError)) or isinstance(
        cause, (socket.timeout, TimeoutError)
    ):
        return DeviceStatus.TIMED_OUT, "timed out"
    if isinstance(cause, ConnectionRefusedError) or isinstance(exc, ConnectionRefusedError):
        return DeviceStatus.UNREACHABLE, "connection refused"
    if isinstance(cause, OSError) and not isinstance(cause, paramiko.SSHException):
        return DeviceStatus.UNREACHABLE, f"unreachable ({cause.strerror or type(cause).__name__})"
    text = str(exc).lower()
    if "banner" in text or "timed-out" in text or "timed out" in text:
        return DeviceStatus.TIMED_OUT, "timed out waiting for the SSH server to speak"
    if isinstance(exc, NetmikoTimeoutException):
        return DeviceStatus.TIMED_OUT, "timed out"
    return DeviceStatus.ERROR, f"SSH error: {type(exc).__name__}"


def _is_json(text: str) -> bool:
    """Whether the device answered ``| json`` with a JSON object (else: fall back to text)."""
    if not text.strip().startswith("{"):
        return False
    try:
        return isinstance(load_document(text), dict)
    except ValueError:
        return False


def _params(target: Target, timeout: float, environ: Mapping[str, str] | None) -> dict[str, Any]:
    creds = target.credentials
    password = creds.resolve("password", environ)
    secret = creds.resolve("secret", environ)
    if password is None and creds.key_file is None:
        raise CredentialError(f"credentials {creds.name!r}: no password_env/_file nor key_file")
    return {
        "device_type": NETMIKO_DEVICE_TYPES[target.platform or ""],
        "host": target.address,
        "port": target.port or DEFAULT_SSH_PORT,
        "username": creds.ssh_username(environ),
        "password": password.reveal() if password else None,
        "secret": secret.reveal() if secret else "",
        "key_file": str(creds.key_file) if creds.key_file else None,
        "use_keys": creds.key_file is not None,
        "allow_agent": False,
        "conn_timeout": timeout,
        "auth_timeout": timeout,
        "banner_timeout": timeout,
        "blocking_timeout": timeout,
        "timeout": timeout,
        "fast_cli": True,
    }


def collect_ssh(
    target: Target, *, timeout: float = 30.0, environ: Mapping[str, str] | None = None
) -> DeviceResult:
    """Log in, run the platform's commands, log out. Blocking; one attempt."""
    if target.platform not in NETMIKO_DEVICE_TYPES:
        return DeviceResult(
            target,
            DeviceStatus.UNSUPPORTED_PLATFORM,
            f"platform {target.platform or 'unknown'!r} is not one of "
            + ", ".join(NETMIKO_DEVICE_TYPES),
            attempts=0,
        )
    try:
        params = _params(target, timeout, environ)
    except CredentialError as exc:
        return DeviceResult(target, DeviceStatus.ERROR, str(exc), attempts=0)
    result = DeviceResult(target, DeviceStatus.OK)
    started = time.perf_counter()
    try:
        conn = ConnectHandler(**params)
    except Exception as exc:
        result.status, result.detail = _classify(exc)
        result.connect_s = time.perf_counter() - started
        log.info("discovery.ssh.failed", device=target.label, status=result.status.value)
        return result
    finally:
        params.clear()
    result.connect_s = time.perf_counter() - started
    try:
        result.hostname = conn.base_prompt or None
        platform = target.platform or ""
        for command in commands_for(platform):
            if command in JSON_ADAPTERS.get(platform, {}):
                pipe = JSON_PIPES[platform]
                text = str(conn.send_command(f"{command} {pipe}", read_timeout=timeout))
                if _is_json(text):
                    result.json_outputs[command] = text
                    continue
            text = str(conn.send_command(command, read_timeout=timeout))
            if is_unsupported_output(text):
                result.unavailable.append(command)
            else:
                result.outputs[command] = text
    except Exception as exc:
        result.status, result.detail = _classify(exc)
    finally:
        result.commands_s = time.perf_counter() - started - result.connect_s
        try:
            conn.disconnect()
        except Exception:
            log.debug("discovery.ssh.disconnect_failed", device=target.label)
    return result
