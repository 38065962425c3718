"""Flow records summed per conversation: (source, destination, protocol, source port,
destination port), bytes and packets scaled by the exporter's sampling rate where known."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
import pyarrow.compute as pc

KEY = ["src_addr", "dst_addr", "proto", "src_port", "dst_port"]


def conversations(records: pa.Table) -> pa.Table:
    """One row per conversation: its key, ``bytes``, ``packets`` and ``flows`` (records).

    A record with a known sampling rate N counts N times its bytes and packets; a record whose
    rate is unknown (0) counts as is."""
    if records.num_rows == 0:
        return pa.table(
            {
                **{k: pa.array([], records.schema.field(k).type) for k in KEY},
                "bytes": pa.array([], pa.uint64()),
                "packets": pa.array([], pa.uint64()),
                "flows": pa.array([], pa.int64()),
            }
        )
    rate = pc.max_element_wise(
        records["sampling_rate"].cast(pa.uint64()), pa.scalar(1, pa.uint64())
    )
    scaled = records.select(KEY).append_column("bytes", pc.multiply(records["bytes"], rate))
    scaled = scaled.append_column("packets", pc.multiply(records["packets"], rate))
    out = scaled.group_by(KEY).aggregate([("bytes", "sum"), ("packets", "sum"), ("bytes", "count")])
    return out.rename_columns(
        [
            {"bytes_sum": "bytes", "packets_sum": "packets", "bytes_count": "flows"}.get(n, n)
            for n in out.column_names
        ]
    )


def address_text(raw: bytes) -> str:
    """A 16-byte address column value as text (IPv4-mapped addresses as dotted quads)."""
    addr = ipaddress.IPv6Address(raw)
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


def conversation_dict(table: pa.Table) -> dict[tuple[str, str, int, int, int], tuple[int, int]]:
    """The (small) output of :func:`conversations` keyed by text addresses: (bytes, packets)."""
    out: dict[tuple[str, str, int, int, int], tuple[int, int]] = {}
    for row in table.to_pylist():
        key = (
            address_text(row["src_addr"]),
            address_text(row["dst_addr"]),
            row["proto"],
            row["src_port"],
            row["dst_port"],
        )
        b, p = out.get(key, (0, 0))
        out[key] = (b + row["bytes"], p + row["packets"])
    return out
