"""``python -m bench.flows``: flow decoding and aggregation throughput on one core.

Builds NetFlow v5 and IPFIX datagrams (30 records each, the IPFIX template of softflowd's
IPv4 export: addresses, ports, protocol, flags, interfaces, 4-byte counters and times), then
times :class:`~network_discovery.flows.FlowDecoder` over them and
:func:`~network_discovery.flows.conversations` over the decoded records. Prints JSON."""

from __future__ import annotations

import argparse
import json
import random
import struct
import time
from typing import Any

import pyarrow as pa
from network_discovery.flows import FlowDecoder, conversations

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


def run(n_datagrams: int) -> dict[str, float]:
    rng = random.Random(7)
    result: dict[str, float] = {}
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
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datagrams", type=int, default=5000)
    print(json.dumps(run(ap.parse_args().datagrams), indent=2))


if __name__ == "__main__":
    main()
