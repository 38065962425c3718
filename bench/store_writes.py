"""Store write figures: the embedded store's two write paths on the same rows.

``create_nodes`` of Interface and Endpoint rows shaped as the projection shapes them (every
schema property, nulls, lists, some non-ASCII text) at each size, once through ``UNWIND $rows``
batches and once through the columnar path (Arrow tables, ``COPY FROM``), each into a fresh
LadybugDB store: wall time, rows/s and CPU per row (process CPU: the store's threads count).
Then the crossover: creating, updating and deleting a hundred to ten thousand rows in a table
that already holds rows (a snapshot's delta), both paths taking turns, the fastest of a few
runs; the writer's thresholds (``COPY_MIN_VALUES`` and the others) are chosen from it. Every
create reads the rows back and checks them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["endpoint_rows", "interface_rows", "markdown", "run"]

LABELS = ("Interface", "Endpoint")
SIZES = (10_000, 100_000, 500_000)
CROSSOVER = (100, 300, 1_000, 3_000, 10_000)
#: Rows already in the table before the crossover's deltas (a ``COPY`` into a table that
#: holds rows costs more the more it holds, up to a node group's worth).
RESIDENT = 200_000


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def interface_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Interface rows as the projection shapes them: every property, lists never null."""
    rows = []
    for i in range(start, start + n):
        device, port = f"sw-{i // 48:05d}", i % 48
        trunk = port >= 46
        rows.append(
            {
                "id": f"{device}|GigabitEthernet1/0/{port + 1}",
                "device": device,
                "name": f"GigabitEthernet1/0/{port + 1}",
                "description": None if port % 3 else f"Büro {port} — Drucker",
                "admin_status": "up",
                "oper_status": "down" if port % 7 == 0 else "up",
                "speed_mbps": 10_000 if trunk else 1_000,
                "mtu": 9216 if trunk else 1500,
                "mac": f"00:1b:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:"
                f"{(i >> 8) & 255:02x}:{i & 255:02x}",
                "mode": "trunk" if trunk else "access",
                "access_vlan": None if trunk else 100 + port % 4,
                "voice_vlan": 200 if port % 5 == 0 and not trunk else None,
                "native_vlan": 1 if trunk else None,
                "trunk_vlans": [100, 101, 102, 103, 200] if trunk else [],
                "lag": "Port-channel1" if trunk else None,
                "parent": None,
                "vrf": None,
                "if_index": port + 1,
            }
        )
    return rows


def endpoint_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    rows = []
    for i in range(start, start + n):
        mac = (
            f"a4:5e:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
        )
        rows.append(
            {
                "id": mac,
                "mac": mac,
                "ips": [f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"] if i % 4 else [],
                "vendor": "Cisco Systems" if i % 2 else None,
                "hostname": f"host-{i}" if i % 3 == 0 else None,
                "device": f"sw-{i // 48:05d}",
                "interface": f"GigabitEthernet1/0/{i % 46 + 1}",
                "vlan": 100 + i % 4,
                "first_seen": "2026-06-01T08:00:00+00:00",
                "last_seen": "2026-06-01T08:00:00+00:00",
            }
        )
    return rows


ROWS: dict[str, Callable[[int, int], list[dict[str, Any]]]] = {
    "Interface": interface_rows,
    "Endpoint": endpoint_rows,
}


#: What the crossover's updates change.
CHANGE = {
    "Interface": ("oper_status", "down"),
    "Endpoint": ("last_seen", "2026-06-02T08:00:00+00:00"),
}


@contextmanager
def _path(columnar: bool) -> Iterator[None]:
    """Every write through one path: columnar from one row on, or never."""
    from meshq_runtime.graph import writer

    saved = (writer.COPY_MIN_VALUES, writer.COPY_REL_MIN_ROWS, writer.LOAD_MIN_VALUES)
    least = 1 if columnar else sys.maxsize
    writer.COPY_MIN_VALUES = writer.COPY_REL_MIN_ROWS = writer.LOAD_MIN_VALUES = least
    try:
        yield
    finally:
        writer.COPY_MIN_VALUES, writer.COPY_REL_MIN_ROWS, writer.LOAD_MIN_VALUES = saved


async def _timed(call: Awaitable[None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await call
    return time.perf_counter() - wall, time.process_time() - cpu


async def _check(store: Any, label: str, rows: list[dict[str, Any]]) -> None:
    from meshq_runtime.graph import writer

    stored = await writer.read_nodes(store, label)
    if len(stored) != len(rows) or any(
        stored[r["id"]] != r for r in rows[:: max(1, len(rows) // 997)]
    ):
        raise AssertionError(f"{label}: the store does not hold the rows written")


async def _create(label: str, n: int, columnar: bool) -> dict[str, Any]:
    from meshq_runtime.graph import writer
    from meshq_runtime.graph.store import EmbeddedStore

    rows = ROWS[label](n, 0)
    with tempfile.TemporaryDirectory(prefix="meshq-bench-store-") as tmp:
        store = EmbeddedStore(Path(tmp) / "graph")
        await writer.ensure_schema(store)
        with _path(columnar):
            wall, cpu = await _timed(writer.create_nodes(store, label, rows))
        await _check(store, label, rows)
        await store.close()
    return {
        "s": round(wall, 3),
        "rows_per_s": round(n / wall),
        "cpu_us_per_row": round(cpu / n * 1e6, 1),
    }


async def _crossover(label: str, sizes: tuple[int, ...], runs: int) -> dict[str, Any]:
    """Writes of n rows into a table already holding :data:`RESIDENT` rows: the fastest of
    ``runs`` (wall and CPU ms), the two paths taking turns so that both see the same load."""
    from meshq_runtime.graph import writer
    from meshq_runtime.graph.store import EmbeddedStore

    make = ROWS[label]
    field, value = CHANGE[label]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="meshq-bench-store-") as tmp:
        store = EmbeddedStore(Path(tmp) / "graph")
        await writer.ensure_schema(store)
        await writer.create_nodes(store, label, make(RESIDENT, 0))
        next_id = RESIDENT
        for n in sizes:
            seen: dict[str, list[tuple[float, float]]] = {}
            for _ in range(runs):
                for path in ("unwind", "columnar"):
                    rows = make(n, next_id)
                    next_id += n
                    changed = [{**r, field: value} for r in rows]
                    ids = [r["id"] for r in rows]
                    with _path(path == "columnar"):
                        for op, call in (
                            ("create", writer.create_nodes(store, label, rows)),
                            ("update", writer.update_nodes(store, label, changed)),
                            ("delete", writer.delete_nodes(store, label, ids)),
                        ):
                            seen.setdefault(f"{op}_{path}", []).append(await _timed(call))
            figures = {}
            for key, timings in seen.items():
                figures[f"{key}_ms"] = round(min(w for w, _ in timings) * 1000, 1)
                figures[f"{key}_cpu_ms"] = round(min(c for _, c in timings) * 1000, 1)
            out[str(n)] = figures
            _say(f"store writes, {label} delta of {n}: {figures}")
        if len(await writer.read_nodes(store, label)) != RESIDENT:
            raise AssertionError(f"{label}: deltas did not leave the resident rows alone")
        await store.close()
    return out


async def _run(sizes: tuple[int, ...], crossover: tuple[int, ...], runs: int) -> dict[str, Any]:
    from meshq_runtime.graph import writer

    out: dict[str, Any] = {
        "copy_min_values": writer.COPY_MIN_VALUES,
        "copy_rel_min_rows": writer.COPY_REL_MIN_ROWS,
        "load_min_values": writer.LOAD_MIN_VALUES,
        "create": {},
        "crossover": {},
    }
    for label in LABELS:
        for n in sizes:
            figures = {
                "unwind": await _create(label, n, columnar=False),
                "columnar": await _create(label, n, columnar=True),
            }
            figures["speedup"] = round(figures["unwind"]["s"] / figures["columnar"]["s"], 1)
            out["create"].setdefault(label, {})[str(n)] = figures
            _say(f"store writes, create {n} {label}: {figures}")
    for label in LABELS:
        out["crossover"][label] = await _crossover(label, crossover, runs)
    return out


def run(
    sizes: tuple[int, ...] = SIZES, crossover: tuple[int, ...] = CROSSOVER, runs: int = 5
) -> dict[str, Any]:
    return asyncio.run(_run(sizes, crossover, runs))


def markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        "## Store writes (LadybugDB): UNWIND batches vs columnar (Arrow, COPY FROM)",
        "",
        "| label | rows | UNWIND s | rows/s | CPU µs/row"
        " | columnar s | rows/s | CPU µs/row | speed-up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, sizes in r["create"].items():
        for n, f in sizes.items():
            u, c = f["unwind"], f["columnar"]
            lines.append(
                f"| {label} | {n} | {u['s']} | {u['rows_per_s']} | {u['cpu_us_per_row']}"
                f" | {c['s']} | {c['rows_per_s']} | {c['cpu_us_per_row']} | {f['speedup']}x |"
            )
    lines += [
        "",
        f"Deltas into a table holding {RESIDENT} rows, fastest of the runs, UNWIND / columnar:"
        " wall ms (CPU ms). The writer goes columnar from"
        f" {r.get('copy_min_values')} values (rows times properties) of new nodes,"
        f" {r.get('copy_rel_min_rows')} new relationships, {r.get('load_min_values')} values"
        " of updates; deletions stay on UNWIND.",
        "",
        "| label | rows | create | update | delete |",
        "|---|---|---|---|---|",
    ]
    for label, sizes in r["crossover"].items():
        for n, f in sizes.items():
            cells = " | ".join(
                f"{f[f'{op}_unwind_ms']} / {f[f'{op}_columnar_ms']}"
                f" ({f.get(f'{op}_unwind_cpu_ms', '-')} / {f.get(f'{op}_columnar_cpu_ms', '-')})"
                for op in ("create", "update", "delete")
            )
            lines.append(f"| {label} | {n} | {cells} |")
    return [*lines, ""]


def main() -> None:
    """``python -m bench.store_writes``: this section alone, without touching the report."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.store_writes", description=__doc__)
    parser.add_argument("--rows", default="10000", help="rows per create, comma-separated")
    parser.add_argument("--crossover", default=",".join(map(str, CROSSOVER)))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    def sizes(text: str) -> tuple[int, ...]:
        return tuple(int(n) for n in text.split(",") if n.strip())

    result = run(sizes(args.rows), sizes(args.crossover), args.runs)
    print("\n".join(markdown(result)))


if __name__ == "__main__":
    main()
