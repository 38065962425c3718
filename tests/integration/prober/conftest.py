"""A probe store on a PostgreSQL database of the test's own, and graph-engine's catalogue
served in process over the catalogue's fixture network (what path_analysis answers from)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from meshq_prober.store import MIGRATIONS, ProbeStore, init_connection
from network_discovery.model import Snapshot
from support.graph_lab import graph_lab
from support.pgdb import migrated_pool

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"


@pytest.fixture
async def probe_store(stack) -> AsyncIterator[ProbeStore]:
    schema = (("prober", MIGRATIONS),)
    async with migrated_pool(stack.postgres_url, "meshq_prober", schema, init_connection) as pool:
        yield ProbeStore(pool)


@pytest.fixture
async def graph_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """graph-engine's internal query routes over tests/fixtures/graph/network.yaml."""
    network = Snapshot.model_validate(yaml.safe_load(NETWORK.read_text()))
    async with graph_lab(tmp_path / "graph", network) as lab:
        yield lab.client
