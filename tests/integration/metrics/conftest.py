from __future__ import annotations

from collections.abc import Iterator

import pytest
from meshq_runtime.embedded import free_port
from support.metrics_lab import Agent, serve


@pytest.fixture(scope="module")
def counters_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """edge1 on 127.0.0.31: snmpsim with counters that advance, wrap and reset."""
    with serve(tmp_path_factory.mktemp("snmpsim-metrics"), free_port()) as agent:
        yield agent
