"""``meshq query`` prints nested answers readably: real answers of the demo network, run through
the real graph engine and catalogue, rendered as hop tables, grouped blast-radius lists and
compact tables; ``--format json|csv`` stay exactly what they were."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.cli._render import MAX_CELL, render_answer, render_rows
from network_discovery.demo import load_snapshot

DENIED = {"source": "10.1.10.50", "destination": "10.130.0.20", "protocol": "tcp", "port": 5432}
ALLOWED = {"source": "10.1.10.50", "destination": "10.110.0.80", "protocol": "tcp", "port": 443}
NO_PATH = {"source": "10.1.10.50", "destination": "10.140.0.5", "protocol": "tcp", "port": 443}


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueryContext]:
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("render")) / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(load_snapshot())
    yield QueryContext(engine.store, engine)
    await store.close()


async def _rows(ctx: QueryContext, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = (await run_query(REGISTRY, name, params, ctx)).rows
    assert rows, (name, params)
    return json.loads(json.dumps(rows, default=str))  # as the API hands them over


def _sections(text: str) -> dict[str, list[str]]:
    """The output cut at each ``Path N:`` heading."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^Path (\d+): ", line)
        if heading:
            current = heading.group(1)
            out[current] = [line]
        elif current is not None and line.startswith("  "):
            out[current].append(line)
        elif not line.strip():
            continue
        else:
            current = None
    return out


async def test_path_analysis_is_one_hop_table_per_path_with_the_deciding_rule(
    demo: QueryContext,
) -> None:
    rows = await _rows(demo, "path_analysis", DENIED)
    text = render_answer(rows, "table", params=DENIED)
    lines = text.splitlines()
    assert lines[0] == "Flow tcp 10.1.10.50 -> 10.130.0.20 port 5432"
    assert lines[1] == f"Verdict: denied ({len(rows)} paths)"
    assert lines[2].startswith("Source 10.1.10.50: endpoint on hq-a-acc-02 GigabitEthernet1/0/17")
    sections = _sections(text)
    assert sorted(sections, key=int) == [str(r["branch"]) for r in rows]
    for row in rows:
        section = sections[str(row["branch"])]
        assert section[0] == f"Path {row['branch']}: {row['branch_verdict']}: {row['reason']}"
        header = section[1].split()
        assert header[:4] == ["hop", "device", "vrf", "in"] and "decision" in header
        body = section[3:]
        assert len(body) == len(row["hops"])  # one line per hop, in order
        for place, (line, hop) in enumerate(zip(body, row["hops"], strict=True), start=1):
            cells = line.split()
            assert cells[0] == str(place) and cells[1] == hop["device"]
            assert hop["ingress_interface"] in line
            for decision in hop["decisions"]:
                assert (
                    f"{decision['verdict']}: {decision['rule_set']} #{decision['position']} "
                    f"{decision['name']} ({decision['action']})"
                ) in line
    # the firewall's deciding rule, named on each path, its text printed once
    assert text.count("denied: security-policies #3 campus-to-db-deny (deny)") == len(rows)
    rule_text = rows[0]["firewalls"][0]["text"]
    assert text.count(rule_text.splitlines()[-1]) == 1
    assert "Deciding rules" in text and "fw-dc-01 security-policies #3 campus-to-db-deny" in text
    # readable in a terminal: no line near the thousands of characters a branch used to take
    assert max(len(line) for line in lines) < 200
    assert max(len(line) for line in render_rows(rows, "table").splitlines()) > 1000


async def test_a_path_that_ends_in_a_discard_says_where(demo: QueryContext) -> None:
    rows = await _rows(demo, "path_analysis", NO_PATH)
    text = render_answer(rows, "table", params=NO_PATH)
    assert f"Verdict: no_path ({len(rows)} path" in text
    for row in rows:
        assert f"Path {row['branch']}: no_path: {row['reason']}" in text
    assert "Deciding rules" not in text  # no filter decided anything


async def test_traceroute_groups_its_hop_rows_by_path(demo: QueryContext) -> None:
    params = {**ALLOWED}
    rows = await _rows(demo, "traceroute", params)
    text = render_answer(rows, "table", params=params)
    paths = sorted({r["path"] for r in rows})
    assert f"Verdict: allowed ({len(paths)} paths)" in text
    sections = _sections(text)
    assert sorted(sections, key=int) == [str(p) for p in paths]
    for path in paths:
        hops = sorted((r for r in rows if r["path"] == path), key=lambda r: r["hop"])
        body = sections[str(path)][3:]
        assert [line.split()[:2] for line in body] == [[str(h["hop"]), h["device"]] for h in hops]
        assert sections[str(path)][0].startswith(f"Path {path}: {hops[-1]['action']}")
    assert "permit: security-policies line 1" in text  # the action, with its place in the policy
    assert text.count("then permit") == 1  # the rule text once, below the tables


async def test_blast_radius_is_grouped_affected_degraded_and_lost_paths(
    demo: QueryContext,
) -> None:
    params = {"device": "hq-dist-01"}
    rows = await _rows(demo, "blast_radius_device", params)
    text = render_answer(rows, "table", params=params)
    affected = [r for r in rows if r["status"] == "affected"]
    degraded = [r for r in rows if r["status"] == "degraded"]
    assert text.splitlines()[0].startswith("Blast radius of hq-dist-01: severity ")
    assert f"Affected (cut off from upstream): {len(affected)} device" in text
    endpoints = sum(r["endpoints"] for r in degraded)
    assert f"Degraded (still reachable, fewer upstream paths): {len(degraded)} devices, " in text
    assert f"{endpoints} endpoints" in text
    # every device in the group its status says, once
    blocks = text.split("\n\n")
    assert [b.splitlines()[0].split(":")[0] for b in blocks[1:]] == [
        "Affected (cut off from upstream)",
        "Degraded (still reachable, fewer upstream paths)",
        "Lost paths",
    ]
    for block, members in ((blocks[1], affected), (blocks[2], degraded)):
        listed = [line.split()[0] for line in block.splitlines()[3:]]
        assert sorted(listed) == sorted(r["device"] for r in members)
    lost = [r for r in rows if not r["failed"] and r["paths_after"] < r["paths_before"]]
    before = sum(r["paths_before"] for r in lost)
    after = sum(r["paths_after"] for r in lost)
    assert f"Lost paths: {before - after} of {before} upstream paths" in blocks[3]
    for r in lost:
        assert f"  {r['device']}: {r['paths_before']} -> {r['paths_after']}" in blocks[3]


async def test_other_nested_values_are_compact_and_long_ones_are_said_to_be_cut(
    demo: QueryContext,
) -> None:
    rows = await _rows(demo, "shadowed_rules", {"device": "fw-edge-01"})
    text = render_answer(rows, "table")
    lines = text.splitlines()
    assert len(lines) == 2 + len(rows) + 1  # header, rule, rows, the note on cut values
    assert "[position=1, name=allow-web-out, action=permit]" in lines[2]
    assert "{" not in lines[2]  # no JSON in a table cell
    assert lines[-1].startswith(f"(values longer than {MAX_CELL} characters are cut")


async def test_json_and_csv_are_unchanged(demo: QueryContext) -> None:
    rows = await _rows(demo, "path_analysis", ALLOWED)
    assert render_answer(rows, "json", params=ALLOWED) == json.dumps(rows, indent=2)
    parsed = list(csv.DictReader(io.StringIO(render_answer(rows, "csv", params=ALLOWED))))
    assert [json.loads(r["hops"]) for r in parsed] == [r["hops"] for r in rows]
    assert [r["verdict"] for r in parsed] == [r["verdict"] for r in rows]
    assert render_answer([], "table") == "(no rows)"
