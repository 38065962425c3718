"""Local TCP ports: pick a free one, tell whether one is taken, and who listens on it."""

from __future__ import annotations

import socket

import psutil

__all__ = ["LOOPBACK", "free_port", "is_listening", "port_is_free"]

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (the kernel's pick; racy by nature, so retry on bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could listen on ``host:port`` now.

    ``SO_REUSEADDR`` is set as servers (uvicorn, redis, postgres) set it, so connections of a
    previous run lingering in TIME_WAIT do not make the port look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def is_listening(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself holds a listening TCP socket on ``port``.

    Used to tell that *our* child bound the port, not some other process that took it first.
    """
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # not ours to inspect: fall back to "someone listens"
        return not port_is_free(port)
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in conns)
