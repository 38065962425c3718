"""One-shot PostgreSQL migrations of one service: ``python deploy/migrate.py audit``.

Applies the ``SCHEMA`` of ``meshq_<service>.app`` (the same statements the service applies at
start) to ``MESHQ_POSTGRES_URL``, then exits 0. Running it again changes nothing; concurrent
runs serialise on PostgreSQL's advisory lock. The Helm chart runs it as a pre-install and
pre-upgrade hook, in the image of each service that keeps tables (licensing, audit,
soar-dispatcher, alerts), so the schema is current before any new pod starts. Retries while
PostgreSQL is not reachable yet, for up to ``MESHQ_POSTGRES_MIGRATE_TIMEOUT`` seconds
(default 120).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time

import structlog
from meshq_runtime.logging import configure_logging
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings, ServiceSettings
from pydantic import Field

__all__ = ["Settings", "main", "migrate", "schema_of"]

log = structlog.get_logger("meshq.migrate")


class Settings(ServiceSettings, PostgresSettings):
    """PostgreSQL and logging settings shared with the services, plus a deadline."""

    deadline_s: float = Field(120.0, gt=0, alias="MESHQ_POSTGRES_MIGRATE_TIMEOUT")


def schema_of(service: str) -> Schema:
    """The ``SCHEMA`` of a service package; a clear error when it keeps no tables."""
    module = f"meshq_{service.replace('-', '_')}.app"
    try:
        app = importlib.import_module(module)
    except ModuleNotFoundError:
        raise LookupError(f"no service {service!r} installed (no module {module})") from None
    schema = getattr(app, "SCHEMA", None)
    if schema is None:
        raise LookupError(f"service {service!r} keeps no tables in PostgreSQL")
    return schema


async def migrate(settings: Settings, schema: Schema) -> None:
    started = time.monotonic()
    delay = 0.5
    while True:
        try:
            pool = await create_pool(settings, max_size=1)
        except (TimeoutError, OSError) as exc:
            if time.monotonic() - started + delay > settings.deadline_s:
                raise
            log.warning("postgres.migrate.retry", error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        try:
            await apply_schema(pool, schema)
            return
        finally:
            await pool.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(
            "usage: python deploy/migrate.py SERVICE"
            "  (licensing, audit, soar-dispatcher, alerts, prober)",
            file=sys.stderr,
        )
        return 2
    settings = Settings()
    configure_logging(service="migrate", level=settings.log_level, fmt=settings.log_format)
    try:
        schema = schema_of(argv[0])
        asyncio.run(migrate(settings, schema))
    except Exception as exc:
        log.error(
            "postgres.migrate.failed", service=argv[0], error=f"{type(exc).__name__}: {exc}"[:300]
        )
        return 1
    log.info("postgres.migrate.done", service=argv[0], components=[c for c, _ in schema])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
