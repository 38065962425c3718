"""The map's per-pod cache: one revision's network at a time (a newer revision replaces it and
every view kept for the older one), views kept by key up to a byte budget, least recently used
out first."""

from __future__ import annotations

from datetime import UTC, datetime

from meshq_query_gateway.answer_cache import Revision
from meshq_query_gateway.ui.map_cache import MapViews, Network

R1 = Revision(1, datetime(2026, 1, 1, tzinfo=UTC))
R2 = Revision(2, datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))


def _net() -> Network:
    return Network({"a": {"device": "a"}}, [])


def test_a_network_is_kept_for_its_revision_only() -> None:
    views = MapViews()
    assert views.network(R1) is None
    kept = views.keep(R1, _net(), {"a": "g:x|y"})
    assert views.network(R1) is kept
    assert views.network(R2) is None and views.network(None) is None
    views.put(kept, ((), ()), b"one")
    newer = views.keep(R2, _net(), {"a": "g:x|y"})
    assert views.network(R1) is None and views.view(newer, ((), ())) is None
    views.put(kept, ((), ("a",)), b"late")  # a view of the older revision is not kept
    assert not newer.views and not kept.views.get(((), ("a",)))


def test_views_are_kept_within_the_budget_least_recently_used_out_first() -> None:
    views = MapViews(max_bytes=10)
    kept = views.keep(R1, _net(), {})
    a, b, c = ((), ("a",)), ((), ("b",)), ((), ("c",))
    views.put(kept, a, b"aaaa")
    views.put(kept, b, b"bbbb")
    assert views.view(kept, a) == b"aaaa"  # a is now the most recently used
    views.put(kept, c, b"cccc")  # 12 bytes: b goes
    assert views.view(kept, b) is None
    assert views.view(kept, a) == b"aaaa" and views.view(kept, c) == b"cccc"
    assert kept.size == 8
    views.put(kept, a, b"x" * 11)  # larger than the whole budget: not kept, a stays
    assert views.view(kept, a) == b"aaaa"
    assert (views.hits, views.misses) == (4, 1)
