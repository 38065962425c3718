"""An alert store on a PostgreSQL database of the test's own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from meshq_alerts.store import MIGRATIONS, AlertStore, init_connection
from meshq_runtime.postgres import apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings
from support.pgdb import fresh_database


@pytest.fixture
async def alerts(stack) -> AsyncIterator[AlertStore]:
    async with fresh_database(stack.postgres_url, "meshq_alerts") as url:
        settings = PostgresSettings.model_validate({"postgres_url": url})
        pool = await create_pool(settings, init=init_connection)
        try:
            await apply_schema(pool, (("alerts", MIGRATIONS),))
            yield AlertStore(pool)
        finally:
            await pool.close()
