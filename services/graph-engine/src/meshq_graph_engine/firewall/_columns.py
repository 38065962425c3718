"""The view's large reads as columns: endpoints and firewall rules.

A store that gives a read's result as one Arrow table (the embedded LadybugDB:
``execute_table``) is read that way: hundreds of thousands of endpoints and rules without a
dictionary, or any other object, per row. Endpoints stay columns, with one dictionary from
address to row; rules stay an Arrow table until their rule set is first used. Other stores
(Memgraph over Bolt) give rows, which are made into the same shapes.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.firewall.topology import EndpointTable

_intern = sys.intern

__all__ = ["endpoint_table", "read_table", "rule_groups"]

RowSource = Callable[[], list[dict[str, Any]]]


async def read_table(
    store: GraphStore, cypher: str, params: dict[str, Any] | None = None
) -> Any | None:
    """The read's result as an Arrow table, or None where the store gives rows only."""
    read = getattr(store, "execute_table", None)
    if read is None:
        return None
    return await read(cypher, params or {})


def _index(ips: list[Any], rows: list[int]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Address -> its row; an address of several rows in the second map, with all of them."""
    first = dict(zip(ips, rows, strict=True))
    if len(first) == len(ips) and None not in first:
        return first, {}  # every address once (the usual case), made at C speed
    first = {}
    more: dict[str, list[int]] = {}
    for ip, row in zip(ips, rows, strict=True):
        if ip is None:
            continue
        held = first.setdefault(ip, row)
        if held != row:
            found = more.setdefault(ip, [held])
            if row not in found:
                found.append(row)
    return first, more


async def endpoint_table(store: GraphStore, cypher: str) -> EndpointTable:
    """Every endpoint (``mac``, ``ips``, ``device``, ``interface``) as an endpoint table."""
    table = await read_table(store, cypher)
    if table is None:
        rows = await store.execute(cypher)
        ips = [ip for r in rows for ip in r["ips"] or ()]
        owners = [n for n, r in enumerate(rows) for _ in r["ips"] or ()]
        first, more = _index(ips, owners)
        return EndpointTable(
            [r["mac"] for r in rows],
            [r["device"] for r in rows],
            [r["interface"] for r in rows],
            first,
            more,
        )
    table = table.combine_chunks()
    if not table.num_rows:
        return EndpointTable([], [], [], {})
    lists = table.column("ips").chunk(0)
    # addresses interned: the texts the live graph holds already, not a copy per read
    ips = [ip if ip is None else _intern(ip) for ip in lists.flatten().to_pylist()]
    owners = lists.value_parent_indices().to_pylist()
    if len(ips) != len(owners):  # values behind null lists: made row by row instead
        rows = lists.to_pylist()
        ips = [ip for found in rows for ip in found or ()]
        owners = [n for n, found in enumerate(rows) for _ in found or ()]
    first, more = _index(ips, owners)

    def column(name: str) -> Any:
        return table.column(name).chunk(0)

    return EndpointTable(column("mac"), column("device"), column("interface"), first, more)


async def rule_groups(
    store: GraphStore, cypher: str, params: dict[str, Any]
) -> dict[tuple[str, str], RowSource]:
    """Each rule set's rule rows (``device``, ``ruleset`` and the rest), by device and rule
    set name, to be made dictionaries when asked for."""
    table = await read_table(store, cypher, params)
    if table is None:
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in await store.execute(cypher, params):
            grouped[(row["device"], row["ruleset"])].append(row)

        def given(rows: list[dict[str, Any]]) -> RowSource:
            return lambda: rows

        return {key: given(rows) for key, rows in grouped.items()}
    devices = table.column("device").to_pylist()
    names = table.column("ruleset").to_pylist()
    runs: dict[tuple[str, str], list[list[int]]] = defaultdict(list)
    for n, key in enumerate(zip(devices, names, strict=True)):
        mine = runs[key]
        if mine and mine[-1][1] == n:
            mine[-1][1] = n + 1
        else:
            mine.append([n, n + 1])

    def source(spans: list[list[int]]) -> RowSource:
        # slices of the table (no copy) in runs of consecutive rows
        return lambda: [r for a, b in spans for r in table.slice(a, b - a).to_pylist()]

    return {key: source(spans) for key, spans in runs.items()}
