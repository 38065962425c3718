"""structlog set-up shared by every service and the CLI.

Logs are key-value events. They are JSON lines when stderr is not a terminal (or when
``MESHQ_LOG_FORMAT=json``), and carry whatever is bound in the context variables — above all
``correlation_id``, bound per HTTP request and per consumed event.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

__all__ = ["bind_correlation", "configure_logging", "current_correlation_id"]

_SECRET_KEYS = ("api_key", "password", "token", "secret", "authorization", "x-api-key")


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event_dict[key] = "***"
    return event_dict


def configure_logging(
    *, service: str, level: str = "info", fmt: str = "auto", stream: Any = None
) -> None:
    """Route structlog and the standard library (uvicorn, aiokafka) through one renderer."""
    stream = stream or sys.stderr
    json_out = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_out
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "faststream"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


@contextmanager
def bind_correlation(correlation_id: str, **extra: Any) -> Iterator[None]:
    """Bind a correlation id (and more) for the duration of a block."""
    tokens = structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **extra)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def current_correlation_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else None
