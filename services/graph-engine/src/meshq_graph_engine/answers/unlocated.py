"""The endpoints placed on no switch port, kept by MAC in the graph store.

An endpoint is located exactly when its ``interface`` is set (the projection draws
``LOCATED_AT`` then, and an interface always comes with its device). Testing that on every
endpoint means scanning a text column of the largest table, and after a few updates the store
can no longer skip its chunks; so the writer keeps one ``UnlocatedEndpoint`` node per unlocated
MAC, from each apply's diff: an endpoint added or changed is kept or dropped by its new row, a
removed one dropped. Every row is exact from the diff alone. A query looks the MACs it names up
(one key each) and checks each again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore

__all__ = ["FORMAT", "NAME", "macs", "maintain", "rebuild"]

NAME = "unlocated"
FORMAT = 1
_CHUNK = 10_000

_DELETE = "UNWIND $ids AS k MATCH (u:UnlocatedEndpoint) WHERE u.id = k DELETE u"


def _row(mac: str, vlan: Any) -> dict[str, Any]:
    return {"id": mac, "vlan": int(vlan or 0)}  # 0: no VLAN


async def _replace(store: GraphStore, drop: Sequence[str], add: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(drop), _CHUNK):
        await store.execute(_DELETE, {"ids": list(drop[start : start + _CHUNK])})
    if add:
        await writer.create_nodes(store, "UnlocatedEndpoint", add)


async def maintain(store: GraphStore, diff: Any) -> None:
    """Keep the unlocated MACs of one apply's diff (already applied)."""
    rows = [*(diff.added.get("Endpoint") or ()), *(diff.updated.get("Endpoint") or ())]
    gone = set(diff.removed.get("Endpoint") or ())
    changed = sorted(gone | {row["id"] for row in rows})
    unlocated = [_row(row["id"], row.get("vlan")) for row in rows if row.get("interface") is None]
    await _replace(store, changed, unlocated)


async def rebuild(store: GraphStore) -> int:
    """Find every unlocated endpoint again (one scan); how many there are."""
    found = await store.execute(
        "MATCH (e:Endpoint) WHERE e.interface IS NULL RETURN e.id AS mac, e.vlan AS vlan"
    )
    await store.execute("MATCH (u:UnlocatedEndpoint) DELETE u")
    await _replace(store, [], [_row(row["mac"], row["vlan"]) for row in found])
    return len(found)


async def macs(store: GraphStore, vlan: int = 0) -> list[str]:
    """The MACs kept as unlocated, in ``vlan`` (0: any), each to be checked against its
    endpoint."""
    rows = await store.execute(
        "MATCH (u:UnlocatedEndpoint) WHERE $vlan = 0 OR u.vlan = $vlan RETURN u.id AS mac",
        {"vlan": vlan},
    )
    return sorted(row["mac"] for row in rows)
