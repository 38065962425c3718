"""``meshq query`` against a running gateway on the demo network: the table format draws a path
as hop tables and a blast radius as grouped lists; ``--format json`` and ``--format csv`` print
exactly the rows the API answered, as before."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from support.gateway_cli import meshq, query_rows

pytestmark = pytest.mark.integration

#: The package fixture ``gateway`` (conftest.Gateway): url, key, redis_url, namespace.
Gateway = Any

FLOW = {"source": "10.1.10.50", "destination": "10.130.0.20", "protocol": "tcp", "port": 5432}


def _params(params: dict[str, Any]) -> list[str]:
    return [a for k, v in params.items() for a in ("-p", f"{k}={v}")]


def test_a_path_prints_as_hop_tables_with_the_deciding_rule(gateway: Gateway) -> None:
    rows = query_rows(gateway, "path_analysis", FLOW)
    out = meshq(gateway, "query", "path_analysis", *_params(FLOW))
    assert out.startswith("Flow tcp 10.1.10.50 -> 10.130.0.20 port 5432\n")
    assert f"Verdict: denied ({len(rows)} paths)" in out
    for row in rows:
        assert f"Path {row['branch']}: denied: {row['reason']}" in out
    assert out.count("denied: security-policies #3 campus-to-db-deny (deny)") == len(rows)
    assert max(len(line) for line in out.splitlines()) < 200


def test_a_blast_radius_prints_as_grouped_lists(gateway: Gateway) -> None:
    params = {"device": "hq-dist-01"}
    rows = query_rows(gateway, "blast_radius_device", params)
    out = meshq(gateway, "query", "blast_radius_device", *_params(params))
    degraded = [r for r in rows if r["status"] == "degraded"]
    assert out.startswith("Blast radius of hq-dist-01")
    assert f"Degraded (still reachable, fewer upstream paths): {len(degraded)} devices" in out
    assert "Lost paths:" in out


def test_json_and_csv_are_the_answer_exactly(gateway: Gateway) -> None:
    rows = query_rows(gateway, "path_analysis", FLOW)
    as_json = meshq(gateway, "query", "path_analysis", *_params(FLOW), "--format", "json")
    assert as_json == json.dumps(rows, indent=2) + "\n"
    as_csv = meshq(gateway, "query", "path_analysis", *_params(FLOW), "--format", "csv")
    expected = io.StringIO()
    columns = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(expected, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()}
        )
    # the test runner reads the output as text (universal newlines): compare lines
    assert as_csv.splitlines() == expected.getvalue().splitlines()
