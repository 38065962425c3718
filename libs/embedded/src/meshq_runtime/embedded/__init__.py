"""The embedded default: Tansu, PostgreSQL and Redis as child processes on free ports.

Each part has ``start()`` / ``stop()`` (also as a context manager), ``url`` and ``port``, and
raises :class:`EmbeddedError` with the tail of its log when it cannot start.
"""

from meshq_runtime.embedded.ports import free_port, is_listening, port_is_free
from meshq_runtime.embedded.postgres import EmbeddedPostgres
from meshq_runtime.embedded.process import EmbeddedError, EmbeddedProcess
from meshq_runtime.embedded.redis import EmbeddedRedis
from meshq_runtime.embedded.tansu import Tansu

__all__ = [
    "EmbeddedError",
    "EmbeddedPostgres",
    "EmbeddedProcess",
    "EmbeddedRedis",
    "Tansu",
    "free_port",
    "is_listening",
    "port_is_free",
]
