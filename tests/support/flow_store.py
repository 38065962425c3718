"""The embedded flow store for tests: chdb runs one engine per process, on one directory, so
every test of a process shares it and takes a database of its own."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid

import pyarrow as pa
from network_discovery.flows import SCHEMA
from network_discovery.flows.store import FlowStore, embedded_path

__all__ = ["fresh_store", "records", "v4mapped"]


def fresh_store(**kw: object) -> FlowStore:
    """A flow store in a new database of the process's embedded engine."""
    path = embedded_path()
    if path is None:
        path = tempfile.mkdtemp(prefix="meshq-flows-test-")
        atexit.register(shutil.rmtree, path, True)  # the test process's engine, at its exit
    return FlowStore.embedded(path, f"t_{uuid.uuid4().hex[:16]}", **kw)


def v4mapped(ip: str) -> bytes:
    return bytes(10) + b"\xff\xff" + bytes(int(p) for p in ip.split("."))


def records(rows: list[dict[str, object]]) -> pa.Table:
    """Decoder-shaped records; columns not given are 0 (exporter: 192.0.2.1)."""
    columns: dict[str, list[object]] = {name: [] for name in SCHEMA.names}
    for row in rows:
        for name in SCHEMA.names:
            value = row.get(name, "192.0.2.1" if name == "exporter" else 0)
            if name in ("src_addr", "dst_addr") and isinstance(value, str):
                value = v4mapped(value)
            columns[name].append(value)
    return pa.table(columns, schema=SCHEMA)
