"""The map's per-pod cache: the network of the newest graph revision the pod knows, its grouping,
and the ``GET /map/view`` answers worked out for it (see ``map_api``)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from meshq_query_gateway.answer_cache import Revision

__all__ = ["Kept", "MapViews", "Network", "ViewKey"]

#: ``expand`` and ``show`` of a view, each sorted and without repeats.
ViewKey = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass
class Network:
    """Every device (by id: ``all_devices`` rows, plus a bare record for a link end that no
    row lists) and every ``topology_edges`` row."""

    devices: dict[str, dict[str, Any]]
    edges: list[dict[str, Any]]


@dataclass
class Kept:
    """A network of one revision, its grouping and the views answered for it."""

    revision: Revision
    net: Network
    member: dict[str, str]
    views: OrderedDict[ViewKey, bytes] = field(default_factory=OrderedDict)
    size: int = 0


class MapViews:
    """This pod's network of one graph revision (the newest it knows), its grouping, and the
    ``/map/view`` answers worked out for it: at most ``max_bytes`` of answers, least recently
    used first out."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._kept: Kept | None = None
        self.hits = self.misses = 0

    def network(self, revision: Revision | None) -> Kept | None:
        kept = self._kept
        if kept is None or revision is None or kept.revision != revision:
            return None
        return kept

    def keep(self, revision: Revision, net: Network, member: dict[str, str]) -> Kept:
        self._kept = Kept(revision, net, member)
        return self._kept

    def view(self, kept: Kept, key: ViewKey) -> bytes | None:
        raw = kept.views.get(key)
        if raw is None:
            self.misses += 1
            return None
        kept.views.move_to_end(key)
        self.hits += 1
        return raw

    def put(self, kept: Kept, key: ViewKey, raw: bytes) -> None:
        if kept is not self._kept or len(raw) > self.max_bytes:
            return
        old = kept.views.pop(key, None)
        kept.size += len(raw) - (len(old) if old is not None else 0)
        kept.views[key] = raw
        while kept.size > self.max_bytes and kept.views:
            _, dropped = kept.views.popitem(last=False)
            kept.size -= len(dropped)
