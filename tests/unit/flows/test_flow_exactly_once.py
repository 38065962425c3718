"""Exactly once across a killed writer: the flow intake's writer (a real process on the embedded
store) is killed with SIGKILL at each step of a combined insert, and a new writer on the same
store is handed the batches again in another grouping (as a broker redelivers them after a
crash, before the commit): every table counts each batch once. Also a store failing in the
middle of a group, in one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
from meshq_graph_engine.flow_enrich import FlowEnricher
from meshq_graph_engine.flow_intake import FlowWriter
from network_discovery.flows.store import FlowStoreError
from support.flow_store import fresh_store
from support.flow_writer_proc import make_batch, totals

TESTS = Path(__file__).resolve().parents[2]
BATCHES = range(5)


def _expected() -> dict[str, list[int]]:
    """Each of the five batches counted once, from their rows."""
    n = flows = scaled = octets = 0
    for i in BATCHES:
        b = make_batch(i)
        rate = pc.max_element_wise(b.records["sampling_rate"], 1).cast("uint64")
        n += b.records.num_rows
        flows += b.records.num_rows
        scaled += pc.sum(pc.multiply(b.records["bytes"], rate)).as_py()
        assert b.counters is not None
        octets += pc.sum(b.counters["in_octets"]).as_py()
    rollup = [scaled, flows]
    return {
        "flows": [n, scaled],
        "flows_1m": rollup,
        "flows_1h": rollup,
        "flows_src_1m": rollup,
        "flows_app_1h": rollup,
        "flows_if_1m": [2 * scaled, 2 * flows],  # each flow on its input and output interface
        "enriched_1m": rollup,
        "enriched_1h": rollup,
        "counters": [len(BATCHES), octets],
        "names": [1],
        "ledger": [len(BATCHES)],
        "journal": [0],
    }


def _writer(path: str, database: str, stop: str, *deliveries: str) -> subprocess.Popen[str]:
    path_list = [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path_list)}
    return subprocess.Popen(
        [sys.executable, "-m", "support.flow_writer_proc", path, database, stop, *deliveries],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_at(path: str, database: str, stop: str, delivery: str) -> None:
    """A writer given ``delivery``, killed (SIGKILL) as it reaches ``stop``."""
    proc = _writer(path, database, stop, delivery)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the writer reaches the step
        assert line.strip() == f"STOPPED {stop}", (line, proc.stderr.read() if proc.stderr else "")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _run(path: str, database: str, *deliveries: str) -> dict[str, Any]:
    proc = _writer(path, database, "-", *deliveries)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "stop",
    [
        "flows",  # journaled, nothing stored
        "flows_enriched_1m",  # raw rows, rollups, counters and options stored
        "flow_batches",  # every table stored, ids not noted
        "drop",  # ids noted, journal entry still there
    ],
)
def test_killed_writer_then_regrouped_redelivery_stores_each_batch_once(stop: str) -> None:
    with tempfile.TemporaryDirectory(prefix="meshq-flows-kill-") as path:
        database = f"k_{uuid.uuid4().hex[:12]}"
        # batches 0-3 in one combined insert (one token for the four), killed at ``stop``
        _kill_at(path, database, stop, "0,1,2,3")
        # delivered again in other company and alone (other tokens), with a new batch
        result = _run(path, database, "2,3,4", "0", "1")
        assert result["totals"] == _expected()
        assert result["counts"]["recovered"] == 1  # the killed writer's group, completed


def test_store_failing_mid_group_then_regrouped_stores_each_batch_once() -> None:
    store = fresh_store()
    writer = FlowWriter(store)
    insert = store.backend.insert
    failed: list[str] = []

    def failing(table: str, data: Any, settings: str, params: Any) -> None:
        if table.endswith(".flows_enriched_1m") and not failed:
            failed.append(table)
            raise FlowStoreError("the store went away")
        insert(table, data, settings, params)

    store.backend.insert = failing  # type: ignore[method-assign]
    first = [make_batch(i) for i in (0, 1, 2, 3)]
    with pytest.raises(FlowStoreError):
        writer.write(first, [FlowEnricher.blank(b.records) for b in first])
    assert failed
    # the intake retries; a broker would as well redeliver in another grouping
    again = [make_batch(i) for i in (3, 4, 0)]
    writer.write(again, [FlowEnricher.blank(b.records) for b in again])
    last = [make_batch(i) for i in (1, 2)]
    writer.write(last, [FlowEnricher.blank(b.records) for b in last])
    assert totals(store) == _expected()
    assert writer.counts["recovered"] == 1
