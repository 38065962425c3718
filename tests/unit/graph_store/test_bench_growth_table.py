"""The bench's graph section: which sizes it runs, and the growth table it prints."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

GRAPH = Path(__file__).resolve().parents[3] / "bench" / "graph.py"


@cache
def _graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_graph_growth", GRAPH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_sizes_default_to_the_growth_sizes_below_the_network() -> None:
    sizes_for = _graph().sizes_for
    assert sizes_for(10_000, None) == [1_000, 5_000, 10_000]
    assert sizes_for(50_000, None) == [1_000, 5_000, 10_000, 50_000]
    assert sizes_for(500, None) == [500]
    assert sizes_for(500, "200,500") == [200, 500]
    assert sizes_for(500, "") == [500]
    with pytest.raises(SystemExit):
        sizes_for(500, "5")


def _figures(ingest: float, rss: float, p95: float) -> dict[str, Any]:
    return {
        "full_ingest_s": ingest,
        "incremental_ingest_s": ingest / 10,
        "peak_rss_mb": rss,
        "query_p95_ms": {"summary_stats": p95},
    }


def test_the_growth_table_shows_per_device_figures_and_flags_what_grows_faster() -> None:
    growth = {
        "1000": _figures(10.0, 1000.0, 5.0),
        "2000": _figures(20.0, 2000.0, 40.0),  # linear, linear, four times per device
    }
    lines = _graph().growth_markdown(growth)
    row = {line.split(" | ")[0].lstrip("| "): line for line in lines if line.startswith("| ")}
    assert row["full ingest"].endswith("| 10 ms | 10 ms | 1.00x | 10 ms |")
    assert row["peak RSS"].endswith("| 1,024 KB | 1,024 KB | 1.00x | 1,024 KB |")
    assert "**4.00x**" in row["summary_stats p95"]
    assert _graph().growth_markdown({"1000": _figures(1.0, 1.0, 1.0)}) == []
