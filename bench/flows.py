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
import resource
import shutil
import statistics
import struct
import sys
import tempfile
import time
from functools import partial
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


#: The stored sizes measured by default, and the one added by ``--flows-100m``.
SIZES = (1_000_000, 10_000_000)
LARGE = 100_000_000
#: Flows a day spread over: the queries' long window.
SPAN_S = 86_400
#: The rows of a batch of the real insert path (the collector's ``MESHQ_FLOWS_BATCH_RECORDS``).
BATCH_ROWS = 5_000
_EXPORTERS = ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4")
_SERVICES = (443, 80, 53, 22, 8443, 445, 3306, 5432, 123, 25, 993, 161, 1433, 6379, 8080, 9092)
CLIENTS = 65_536
SERVERS = 16_384
_QUERIES = (
    ("top_src", "src"),
    ("top_dst", "dst"),
    ("top_pair", "pair"),
    ("top_app", "app"),
    ("conversations", None),
)


def _u(k: int) -> str:
    """A uniform [0, 1) draw per flow (``number``), the ``k``-th of the flow: a hash, so every
    run stores the same flows."""
    return f"(intHash64(number * 16 + {k}) / 18446744073709551616.0)"


def _zipf(k: int, n: int) -> str:
    """A rank in [1, n) drawn Zipf-like (P(rank) ~ 1/rank: a log-uniform draw)."""
    return f"toUInt32(floor(exp({_u(k)} * log({n}))))"


def generate_sql(db: str, first: int, n: int, start: int, span_s: int) -> str:
    """``INSERT ... SELECT`` of ``n`` flows (flow numbers ``first`` onwards) in time order over
    ``[start, start + span_s)``, made by the engine itself. Clients (65,536 hosts of 10/8)
    are drawn Zipf-like, so a few talk most, as in real traffic; a flow's server (of 16,384
    hosts of 172.16/12) is half the time drawn Zipf-like among all (the popular services),
    half the time among the client's own 16 peers (Zipf-like too); the service port is drawn
    Zipf-like of 16 ports, the client's port at random among the ephemeral ones; half the
    flows are the answers (server to client). Four exporters (a client's flows cross the one
    of its site), one of them sampling 1 in 10; an exporter's interfaces follow the hosts
    (clients behind 1-32, servers behind 33-48); packets are log-uniform in [1, 2000) and
    bytes 64-1500 per packet."""
    ports = ", ".join(str(p) for p in _SERVICES)
    exporters = ", ".join(f"'{e}'" for e in _EXPORTERS)
    columns = ", ".join(("time", *SCHEMA.names))
    return f"""
INSERT INTO {db}.flows ({columns})
SELECT
    toDateTime({start} + intDiv((number - {first}) * {span_s}, {n}), 'UTC') AS time,
    [{exporters}][1 + e] AS exporter, 10 AS version, 0 AS domain,
    if(reply, server_ip, client_ip) AS src_addr, if(reply, client_ip, server_ip) AS dst_addr,
    if(has([53, 123, 161], service), 17, 6) AS proto,
    if(reply, service, ephemeral) AS src_port, if(reply, ephemeral, service) AS dst_port,
    packets * (64 + intHash64(number * 16 + 7) % 1437) AS bytes, packets,
    if(reply, 33 + server % 16, 1 + client % 32) AS input_if,
    if(reply, 1 + client % 32, 33 + server % 16) AS output_if,
    if(proto = 6, 27, 0) AS tcp_flags, if(e = 3, 10, 0) AS sampling_rate
FROM (
    SELECT number,
        {_zipf(2, CLIENTS)} AS client,
        client % 4 AS e,
        if({_u(9)} < 0.5, {_zipf(3, SERVERS)},
            1 + intHash64(client * 64 + {_zipf(10, 17)}) % {SERVERS - 1}) AS server,
        toIPv6(toIPv4(167772160 + (client * 2654435761) % 16777216)) AS client_ip,
        toIPv6(toIPv4(2886729728 + (server * 2654435761) % 1048576)) AS server_ip,
        [{ports}][{_zipf(4, len(_SERVICES) + 1)}] AS service,
        toUInt16(32768 + intHash64(number * 16 + 5) % 28232) AS ephemeral,
        {_u(6)} < 0.5 AS reply,
        toUInt64(floor(exp({_u(8)} * log(2000)))) AS packets
    FROM numbers({first}, {n})
)
"""


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
    """``n`` decoder-shaped records for the real insert path (random hosts and ports)."""
    ports = np.array(_SERVICES, dtype=np.uint16)
    columns = {
        "exporter": pa.array(rng.choice(list(_EXPORTERS), n)),
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


def _directory() -> str:
    directory = embedded_path()
    if directory is None:
        directory = tempfile.mkdtemp(prefix="meshq-bench-flows-")
        atexit.register(shutil.rmtree, directory, True)
    return directory


def run_inserts(flows: int = 1_000_000, batch_rows: int = BATCH_ROWS) -> dict[str, Any]:
    """The real insert path: :meth:`FlowStore.insert` of decoder-shaped Arrow batches of
    ``batch_rows`` (raw table, ten rollups, deduplication by batch id), ``flows`` in all."""
    database = f"bench_ins_{int(time.time())}"
    store = FlowStore.embedded(_directory(), database)
    rng = np.random.default_rng(25)
    table = _chunk(rng, batch_rows)
    now = time.time()
    t0 = time.perf_counter()
    batches = max(1, flows // batch_rows)
    for i in range(batches):
        store.insert(table, now - 60 * (i % 60), f"bench-{i}")
    elapsed = time.perf_counter() - t0
    store.backend.execute(f"DROP DATABASE IF EXISTS {database} SYNC")
    return {
        "batch_rows": batch_rows,
        "flows": batches * batch_rows,
        "flows_per_s": round(batches * batch_rows / elapsed),
    }


def _median_ms(query: Any, repeats: int) -> float:
    query()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        query()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def _disk_bytes(store: FlowStore) -> dict[str, dict[str, int]]:
    rows = store.backend.query(
        "SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts "
        "WHERE database = {db:String} AND active GROUP BY table ORDER BY table",
        {"db": store.database},
    ).to_pylist()
    return {r["table"]: {"rows": int(r["rows"]), "bytes": int(r["bytes"])} for r in rows}


def _ask(store: FlowStore, by: Any, minutes: int, now: int) -> list[dict[str, Any]]:
    """One query of the bench: top talkers ``by`` a key, or conversations (``by`` None)."""
    if by is None:
        return store.conversations(minutes=minutes, until=now, limit=100)
    return store.top_talkers(by, minutes=minutes, until=now, limit=10)


def _free_gb(path: str) -> float:
    return round(shutil.disk_usage(path).free / 2**30, 1)


def run_store(sizes: tuple[int, ...] = SIZES, repeats: int = 3) -> list[dict[str, Any]]:
    """Grow one embedded store to each of ``sizes`` flows (generated by the engine, over the
    last day) and time the queries at each size over the last day and the last hour."""
    directory = _directory()
    database = f"bench_{int(time.time())}"
    store = FlowStore.embedded(directory, database)
    now = int(time.time()) // 60 * 60 - 1
    start = now - SPAN_S + 1
    stored = 0
    out = []
    for size in sorted(sizes):
        t0 = time.perf_counter()
        # each addition spans the whole day in time order, as an exporter's records arrive
        # (no block-hash deduplication: these are no redelivered batches)
        store.backend.execute(
            generate_sql(database, stored, size - stored, start, SPAN_S)
            + " SETTINGS insert_deduplicate = 0, optimize_on_insert = 0"
        )
        generate_s = time.perf_counter() - t0
        added, stored = size - stored, size
        result: dict[str, Any] = {
            "stored_flows": store.count(),
            "generated_flows_per_s": round(added / generate_s),
        }
        for window, minutes in (("day", SPAN_S // 60), ("hour", 60)):
            for name, by in _QUERIES:
                result[f"{name}_{window}_ms"] = _median_ms(
                    partial(_ask, store, by, minutes, now), repeats
                )
        parts = _disk_bytes(store)
        result["rows"] = {t: v["rows"] for t, v in parts.items()}
        result["disk_mb"] = round(sum(v["bytes"] for v in parts.values()) / 2**20, 1)
        result["free_disk_gb"] = _free_gb(directory)
        result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        out.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    store.backend.execute(f"DROP DATABASE IF EXISTS {database} SYNC")
    return out


def run(
    n_datagrams: int, sizes: tuple[int, ...] = SIZES, insert_flows: int = 1_000_000
) -> dict[str, Any]:
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
    if insert_flows:
        result["store_inserts"] = run_inserts(insert_flows)
    if sizes:
        result["store"] = run_store(sizes)
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
        *_store_markdown(r.get("store"), r.get("store_inserts")),
    ]


def _store_markdown(sizes: Any, inserts: dict[str, Any] | None) -> list[str]:
    out = []
    if inserts:
        out += [
            "## Flow store (embedded, chdb): inserts",
            "",
            f"`FlowStore.insert` of {inserts['flows']:,} flows in batches of "
            f"{inserts['batch_rows']:,} rows (raw table and ten rollups): "
            f"{inserts['flows_per_s']:,} flows/s.",
            "",
        ]
    if not isinstance(sizes, list) or not sizes:
        return out
    header = " | ".join(f"{s['stored_flows']:,} flows" for s in sizes)
    out += [
        "## Flow store (embedded, chdb): queries by flows stored over one day",
        "",
        f"| median ms | {header} |",
        "|---|" + "---|" * len(sizes),
    ]
    for window in ("day", "hour"):
        for name, _ in _QUERIES:
            key = f"{name}_{window}_ms"
            out.append(
                f"| {name}, last {window} | " + " | ".join(str(s[key]) for s in sizes) + " |"
            )
    out.append(
        "| flows generated by the engine per s | "
        + " | ".join(f"{s['generated_flows_per_s']:,}" for s in sizes)
        + " |"
    )
    out.append("| on disk (MB) | " + " | ".join(str(s["disk_mb"]) for s in sizes) + " |")
    out.append("")
    return out


def sizes_for(large: bool) -> tuple[int, ...]:
    """The stored sizes measured: 1 and 10 million, and 100 million when asked for."""
    return (*SIZES, LARGE) if large else SIZES


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datagrams", type=int, default=5000)
    ap.add_argument(
        "--flows-100m", action="store_true", help="also store and query 100 million flows"
    )
    ap.add_argument("--no-store", action="store_true", help="decoding only")
    ap.add_argument(
        "--sizes",
        default="",
        help="stored sizes instead of the default ones, in millions (e.g. 1,3,10)",
    )
    args = ap.parse_args()
    sizes = () if args.no_store else sizes_for(args.flows_100m)
    if args.sizes and not args.no_store:
        sizes = tuple(int(float(m) * 1_000_000) for m in args.sizes.split(",") if m.strip())
    print(json.dumps(run(args.datagrams, sizes, 0 if args.no_store else 1_000_000), indent=2))


if __name__ == "__main__":
    main()
