"""``python -m bench.flows``: flow decoding and aggregation throughput on one core, and the
flow store's queries over many stored flows.

Builds NetFlow v5 and IPFIX datagrams (30 records each, the IPFIX template of softflowd's
IPv4 export: addresses, ports, protocol, flags, interfaces, 4-byte counters and times), then
times :class:`~network_discovery.flows.FlowDecoder` over them and
:func:`~network_discovery.flows.conversations` over the decoded records.

Then stores ``--stored`` flows (default 10 million) in the embedded flow store (chdb, a fresh
directory), in batches of a million spread over the last minutes: 65,536 source and 4,096
destination hosts, random ephemeral source ports and one of 16 service ports, so the 1-minute
rollup hardly folds anything (every row is its own conversation, the worst case). It times the
inserts and each query over the whole window: top talkers by source, pair and application
port, and conversations (the median of 5 runs after one warm-up). Prints JSON."""

from __future__ import annotations

import argparse
import atexit
import json
import random
import shutil
import statistics
import struct
import tempfile
import time
from typing import Any

import numpy as np
import pyarrow as pa
from network_discovery.flows import SCHEMA, FlowDecoder, conversations
from network_discovery.flows.store import FlowStore, embedded_path

IPFIX_FIELDS = [
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (10, 4),
    (14, 4),
    (1, 4),
    (2, 4),
    (152, 8),
    (153, 8),
]


def _ipfix(n_datagrams: int, rng: random.Random) -> list[bytes]:
    tmpl = struct.pack("!HH", 256, len(IPFIX_FIELDS)) + b"".join(
        struct.pack("!HH", *f) for f in IPFIX_FIELDS
    )
    tset = struct.pack("!HH", 2, 4 + len(tmpl)) + tmpl
    out = []
    seq = 0
    for i in range(n_datagrams):
        recs = b"".join(
            struct.pack(
                "!IIHHBBIIIIQQ",
                rng.getrandbits(32),
                rng.getrandbits(32),
                rng.randrange(65536),
                443,
                6,
                0x18,
                1,
                2,
                rng.randrange(1, 10**6),
                rng.randrange(1, 1000),
                0,
                0,
            )
            for _ in range(30)
        )
        body = (tset if i % 100 == 0 else b"") + struct.pack("!HH", 256, 4 + len(recs)) + recs
        out.append(struct.pack("!HHIII", 10, 16 + len(body), 0, seq, 1) + body)
        seq += 30
    return out


def _v5(n_datagrams: int, rng: random.Random) -> list[bytes]:
    out = []
    for i in range(n_datagrams):
        recs = b"".join(
            struct.pack(
                "!IIIHHIIIIHHBBBBHHBBH",
                rng.getrandbits(32),
                rng.getrandbits(32),
                0,
                1,
                2,
                rng.randrange(1, 1000),
                rng.randrange(1, 10**6),
                0,
                0,
                rng.randrange(65536),
                443,
                0,
                0x18,
                6,
                0,
                0,
                0,
                24,
                24,
                0,
            )
            for _ in range(30)
        )
        out.append(struct.pack("!HHIIIIBBH", 5, 30, 0, 0, 0, i * 30, 0, 0, 0) + recs)
    return out


#: Flows stored per insert (one batch of the bench).
_CHUNK = 1_000_000
_QUERIES = ("top_src", "top_pair", "top_app", "conversations")


def _addresses(values: np.ndarray, second_octet: int) -> pa.Array:
    """IPv4-mapped 16-byte addresses 10.<second_octet>.<hi>.<lo> of 16-bit ``values``."""
    raw = np.zeros((len(values), 16), dtype=np.uint8)
    raw[:, 10:12] = 0xFF
    raw[:, 12] = 10
    raw[:, 13] = second_octet
    raw[:, 14] = (values >> 8) & 0xFF
    raw[:, 15] = values & 0xFF
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), len(values), [None, pa.py_buffer(raw.tobytes())]
    )


def _chunk(rng: np.random.Generator, n: int) -> pa.Table:
    ports = np.array(
        [22, 25, 53, 80, 123, 161, 443, 445, 993, 1433, 3306, 5432, 6379, 8080, 8443, 9092],
        dtype=np.uint16,
    )
    columns = {
        "exporter": pa.array(rng.choice(["192.0.2.1", "192.0.2.2", "192.0.2.3"], n)),
        "version": pa.array(np.full(n, 10, dtype=np.uint8)),
        "domain": pa.array(np.zeros(n, dtype=np.uint32)),
        "src_addr": _addresses(rng.integers(0, 65536, n), 1),
        "dst_addr": _addresses(rng.integers(0, 4096, n), 2),
        "proto": pa.array(rng.choice(np.array([6, 17], dtype=np.uint8), n)),
        "src_port": pa.array(rng.integers(32768, 61000, n).astype(np.uint16)),
        "dst_port": pa.array(rng.choice(ports, n)),
        "bytes": pa.array(rng.integers(40, 1_500_000, n).astype(np.uint64)),
        "packets": pa.array(rng.integers(1, 1000, n).astype(np.uint64)),
        "input_if": pa.array(rng.integers(1, 49, n).astype(np.uint32)),
        "output_if": pa.array(rng.integers(1, 49, n).astype(np.uint32)),
        "tcp_flags": pa.array(np.full(n, 0x18, dtype=np.uint8)),
        "sampling_rate": pa.array(np.zeros(n, dtype=np.uint32)),
    }
    return pa.table(columns, schema=SCHEMA)


def run_store(stored: int, repeats: int = 5) -> dict[str, Any]:
    """Insert ``stored`` flows into a fresh embedded store and time the queries over them."""
    directory = embedded_path()
    if directory is None:
        directory = tempfile.mkdtemp(prefix="meshq-bench-flows-")
        atexit.register(shutil.rmtree, directory, True)
    database = f"bench_{int(time.time())}"
    store = FlowStore.embedded(directory, database)
    rng = np.random.default_rng(25)
    now = time.time()
    chunks = max(1, -(-stored // _CHUNK))
    inserted = 0
    insert_s = 0.0
    for i in range(chunks):
        n = min(_CHUNK, stored - inserted)
        table = _chunk(rng, n)
        t0 = time.perf_counter()
        # one batch a minute, the newest now: the whole set is inside the last hour
        store.insert(table, now - 60 * (i % 50), f"bench-{i}")
        insert_s += time.perf_counter() - t0
        inserted += n
    runs: dict[str, Any] = {
        "top_src": lambda: store.top_talkers("src", minutes=60, until=now, limit=10),
        "top_pair": lambda: store.top_talkers("pair", minutes=60, until=now, limit=10),
        "top_app": lambda: store.top_talkers("app", minutes=60, until=now, limit=10),
        "conversations": lambda: store.conversations(minutes=60, until=now, limit=100),
    }
    rollup = store.backend.query(f"SELECT count() AS n FROM {database}.flows_1m")
    result: dict[str, Any] = {
        "stored_flows": store.count(),
        "rollup_rows": int(rollup["n"][0].as_py()),
        "insert_flows_per_s": round(inserted / insert_s),
    }
    for name, query in runs.items():
        query()  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            query()
            times.append(time.perf_counter() - t0)
        result[f"{name}_ms"] = round(statistics.median(times) * 1000, 1)
    store.backend.execute(f"DROP DATABASE IF EXISTS {database} SYNC")
    return result


def run(n_datagrams: int, stored: int = 10_000_000) -> dict[str, Any]:
    rng = random.Random(7)
    result: dict[str, Any] = {}
    for name, datagrams in (("v5", _v5(n_datagrams, rng)), ("ipfix", _ipfix(n_datagrams, rng))):
        dec = FlowDecoder()
        t0 = time.perf_counter()
        tables = [dec.decode(d, "192.0.2.1") for d in datagrams]
        dt = time.perf_counter() - t0
        records = pa.concat_tables([t.records for t in tables if t is not None])
        result[f"{name}_decode_records_per_s"] = round(records.num_rows / dt)
        t0 = time.perf_counter()
        conv = conversations(records)
        result[f"{name}_aggregate_records_per_s"] = round(
            records.num_rows / (time.perf_counter() - t0)
        )
        result[f"{name}_records"] = records.num_rows
        result[f"{name}_conversations"] = conv.num_rows
    if stored:
        result["store"] = run_store(stored)
    return result


def markdown(r: dict[str, Any]) -> list[str]:
    rows = [
        f"| {name} | {r[f'{key}_records']} | {r[f'{key}_decode_records_per_s']:,} "
        f"| {r[f'{key}_aggregate_records_per_s']:,} | {r[f'{key}_conversations']} |"
        for name, key in (("NetFlow v5", "v5"), ("IPFIX", "ipfix"))
    ]
    return [
        "## Flow decoding (one process, 30 records per datagram)",
        "",
        "| export | records | decoded records/s | aggregated records/s | conversations |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *_store_markdown(r.get("store")),
    ]


def _store_markdown(s: dict[str, Any] | None) -> list[str]:
    if not s:
        return []
    return [
        f"## Flow store (embedded, chdb): {s['stored_flows']:,} flows, "
        f"{s['rollup_rows']:,} rollup rows",
        "",
        f"Inserted at {s['insert_flows_per_s']:,} flows/s.",
        "",
        "| query over the last hour | median ms |",
        "|---|---|",
        *(f"| {q} | {s[f'{q}_ms']} |" for q in _QUERIES),
        "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datagrams", type=int, default=5000)
    ap.add_argument("--stored", type=int, default=10_000_000, help="flows stored (0: skip)")
    args = ap.parse_args()
    print(json.dumps(run(args.datagrams, args.stored), indent=2))


if __name__ == "__main__":
    main()
