"""``/map/*``: the web UI's topology map, filtered and aggregated here so that a browser never
receives 10,000 devices' detail at once.

- ``GET /map/view``: the network as groups (a site's devices of one role: the map's layers), the
  links between groups added up (how many, the lowest confidence, the evidence seen), and the
  devices of the groups named in ``expand`` (every group when the network is small). A link
  between an expanded device and a collapsed group is drawn to the group.
- ``GET /map/find?q=``: devices whose id, host name or management address contains ``q``, each
  with its group (so the map can expand it).

Both read the answers of ``all_devices`` and ``topology_edges`` for the caller: the plan's gates
and RBAC (``execute`` on both queries) apply as they do to ``POST /queries/...``, and the calls
are audited under those query names.

Each pod keeps the network of the newest graph revision it knows (the answer cache's, learned
from ``meshq.topology.changed`` and from every answer) with its grouping, and the ``/map/view``
answers worked out for it, keyed by ``expand`` and ``show`` as sets (:class:`MapViews`). The
gates and RBAC are checked before the lookup; a newer revision drops everything kept. Without
the answer cache (``MESHQ_QUERY_CACHE=false``, or before its watcher reads the topic) nothing is
kept. ``Cache-Status`` (RFC 9211) says whether an answer was kept.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import QueryParameter
from meshq_runtime.http import ProblemError

from meshq_query_gateway.answer_cache import Revision
from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, Gateway, authorize, principal
from meshq_query_gateway.openapi import problems
from meshq_query_gateway.routes.queries import MAX_LIMIT, _answer
from meshq_query_gateway.ui.map_cache import Kept, MapViews, Network

__all__ = [
    "DETAIL_BELOW",
    "MAX_EXPANDED",
    "ROUTES",
    "SPLIT_ABOVE",
    "MapViews",
    "Network",
    "group_id",
    "level_of_detail",
    "membership",
]

#: Networks with at most this many devices are drawn device by device from the start.
DETAIL_BELOW = 300
#: A site/role group with more devices is drawn as parts (see ``membership``).
SPLIT_ABOVE = 150
#: At most this many devices drawn at once (the expanded groups together).
MAX_EXPANDED = 2_500
#: Groups a request may expand.
MAX_GROUPS = 64
#: Rows read from one query (whole pages of MAX_LIMIT).
MAX_ROWS = 200_000
NO_SITE = "(no site)"
NO_ROLE = "(no role)"

Expand = Annotated[
    list[str] | None,
    QueryParameter(
        description="Group ids (``g:<site>|<role>``, as ``groups[].id`` names them) to draw "
        "device by device; repeat for several.",
        max_length=MAX_GROUPS,
    ),
]
Show = Annotated[
    list[str] | None,
    QueryParameter(
        description="Device ids whose groups are drawn device by device too (a search hit, "
        "the devices of a blast radius or a path); repeat for several.",
        max_length=1_000,
    ),
]


def group_id(site: str | None, role: str | None) -> str:
    return f"g:{site or NO_SITE}|{role or NO_ROLE}"


_READS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("all_devices", {"managed_only": False}),
    ("topology_edges", {}),
)


async def _allowed(gw: Gateway, request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    """The catalogue entries of the two queries the map reads, once this caller passed the
    same gates and RBAC as ``POST /queries/{name}`` for both."""
    who = principal(request)
    gw.gate.community_only(who)
    entries = []
    for name, _ in _READS:
        entry = await gw.query(name)
        gw.gate.require_query(who, entry)
        authorize(gw, who, "execute", name)
        entries.append(entry)
    return entries


async def _rows(
    gw: Gateway,
    request: Request[Any, Any, Any],
    name: str,
    params: dict[str, Any],
    entry: dict[str, Any],
    revisions: set[Revision | None],
) -> list[dict[str, Any]]:
    """Every row of ``name`` (the caller was authorized); each page's revision is added to
    ``revisions``."""
    who = principal(request)
    rows: list[dict[str, Any]] = []
    while len(rows) < MAX_ROWS:
        body, _ = await _answer(
            gw, name, params, entry, offset=len(rows), size=MAX_LIMIT, on_behalf=who.name
        )
        revisions.add(Revision.parse(body.get("revision"), body.get("revision_at")))
        page = body.get("rows")
        if not isinstance(page, list) or not page:
            break
        rows.extend(r for r in page if isinstance(r, dict))
        total = body.get("row_count")
        if "offset" not in body or not isinstance(total, int) or len(rows) >= total:
            break
    return rows


def _views(request: Request[Any, Any, Any]) -> MapViews:
    state = request.app.state
    views = state.get("map_views")
    if views is None:
        views = state["map_views"] = MapViews()
    assert isinstance(views, MapViews)
    return views


def _known_revision(gw: Gateway) -> Revision | None:
    """The newest revision this pod knows, where the answer cache follows the changes."""
    cache = gw.cache
    if cache is None or not (cache.enabled and cache.following):
        return None
    return cache.revision


async def _network(
    gw: Gateway, request: Request[Any, Any, Any]
) -> Kept | tuple[Network, dict[str, str]]:
    """The caller is authorized, then: the network kept for the newest revision, else the
    network read now (kept when every page named the revision the pod knows)."""
    entries = await _allowed(gw, request)
    note = audit_note(request)
    note.query, note.params = "topology_edges", {}
    views = _views(request)
    kept = views.network(_known_revision(gw))
    if kept is not None:
        note.row_count = len(kept.net.edges)
        return kept
    revisions: set[Revision | None] = set()
    (dname, dparams), (ename, eparams) = _READS
    # both read at once: the first view after a change waits for the slower, not the sum
    devices, edges = await asyncio.gather(
        _rows(gw, request, dname, dparams, entries[0], revisions),
        _rows(gw, request, ename, eparams, entries[1], revisions),
    )
    note.row_count = len(edges)
    by_id = {str(d["device"]): d for d in devices if d.get("device") is not None}
    for edge in edges:  # a link end nobody listed still gets a node
        for end in ("a_device", "b_device"):
            name = str(edge.get(end))
            by_id.setdefault(name, {"device": name, "managed": False, "role": None, "site": None})
    net = Network(by_id, edges)
    member = membership(net)
    known = _known_revision(gw)
    if known is not None and revisions == {known}:
        return views.keep(known, net, member)
    return net, member


def _node(device: dict[str, Any], group: str) -> dict[str, Any]:
    return {
        "id": device["device"],
        "group": group,
        "role": device.get("role"),
        "site": device.get("site"),
        "managed": bool(device.get("managed")),
        "management_ip": device.get("management_ip"),
        "platform": device.get("platform"),
        "criticality": device.get("criticality"),
    }


@get("/map/view", tags=["ui"], opt=problems(400, 403, 422, 502, 503))
async def map_view(
    request: Request[Any, Any, Any], deps: Deps, expand: Expand = None, show: Show = None
) -> Any:
    """The map at its level of detail: ``groups`` (site, role, devices, managed), ``nodes``
    (the devices of the expanded groups; every device when the network has at most
    ``detail_below``; and those of the groups holding the devices named in ``show``), and
    ``edges`` between what is drawn (``source``, ``target``, ``links``,
    ``confidence``: the lowest, ``evidence``: the kinds seen; for a single link also both
    ports)."""
    got = await _network(deps, request)
    key = (tuple(sorted(set(expand or ()))), tuple(sorted(set(show or ()))))
    views = _views(request)
    if isinstance(got, Kept):
        raw = views.view(got, key)
        if raw is not None:
            return _json(raw, "hit")
        net, member = got.net, got.member
    else:
        net, member = got
    raw = msgspec.json.encode(level_of_detail(net, key[0], key[1], member=member))
    if isinstance(got, Kept):
        views.put(got, key, raw)
    return _json(raw, "stored" if isinstance(got, Kept) else "uncacheable")


def _json(raw: bytes, status: str) -> Response[bytes]:
    """``Cache-Status`` (RFC 9211): ``hit``, or a miss and whether the answer was kept."""
    detail = "hit" if status == "hit" else f"fwd=miss; detail={status}"
    return Response(
        raw, media_type="application/json", headers={"Cache-Status": f"meshq-map; {detail}"}
    )


def membership(net: Network) -> dict[str, str]:
    """Each device's group: its site and role, and for a site/role with more than
    ``SPLIT_ABOVE`` devices a part of it: the devices cabled to the same device of another
    group (an access switch under its distribution switch: the lowest id among its neighbours
    outside the group), cut into parts of at most ``SPLIT_ABOVE`` in id order."""
    base = {name: group_id(d.get("site"), d.get("role")) for name, d in net.devices.items()}
    sizes: dict[str, int] = defaultdict(int)
    for gid in base.values():
        sizes[gid] += 1
    large = {gid for gid, n in sizes.items() if n > SPLIT_ABOVE}
    member = dict(base)
    if not large:
        return member
    anchor: dict[str, str] = {}
    for edge in net.edges:
        a, b = str(edge["a_device"]), str(edge["b_device"])
        if base[a] == base[b]:
            continue
        for here, there in ((a, b), (b, a)):
            if base[here] in large and (here not in anchor or there < anchor[here]):
                anchor[here] = there
    parts: dict[str, list[str]] = defaultdict(list)
    for name in sorted(net.devices):
        if base[name] in large:
            parts[f"{base[name]}|{anchor.get(name, '(no uplink)')}"].append(name)
    for part, names in parts.items():
        for i in range(0, len(names), SPLIT_ABOVE):
            suffix = f"#{i // SPLIT_ABOVE + 1}" if len(names) > SPLIT_ABOVE else ""
            for name in names[i : i + SPLIT_ABOVE]:
                member[name] = part + suffix
    return member


def level_of_detail(
    net: Network,
    expand: Iterable[str],
    show: Iterable[str],
    *,
    member: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``GET /map/view``'s answer for ``net``: its groups, the devices of the groups in
    ``expand`` and of those holding a device in ``show`` (every device for a small network),
    and the links between what is drawn added up. 422 naming a group that is not there, or
    groups holding more than ``MAX_EXPANDED`` devices together. ``member``: the network's
    :func:`membership`, when worked out already."""
    if member is None:
        member = membership(net)
    groups: dict[str, dict[str, Any]] = {}
    for name, device in net.devices.items():
        gid = member[name]
        group = groups.get(gid)
        if group is None:
            base = group_id(device.get("site"), device.get("role"))
            group = groups[gid] = {
                "id": gid,
                "site": device.get("site") or NO_SITE,
                "role": device.get("role") or NO_ROLE,
                "devices": 0,
                "managed": 0,
            }
            if gid != base:  # a part of a large group: what its devices hang off
                group["part_of"] = base
                group["via"] = gid[len(base) + 1 :]
        group["devices"] += 1
        group["managed"] += 1 if device.get("managed") else 0
    everything = len(net.devices) <= DETAIL_BELOW
    asked = sorted(set(expand) - set(groups))
    if asked:  # named, so known, however small the network
        raise ProblemError(422, "Unknown group", f"no group {asked[0]!r}", field="expand")
    wanted = set(groups) if everything else set(expand)
    for name in show:
        if name in net.devices:  # a device not (or no longer) there draws nothing
            wanted.add(member[name])
    unknown = sorted(wanted - set(groups))
    if unknown:
        raise ProblemError(422, "Unknown group", f"no group {unknown[0]!r}", field="expand")
    shown = sum(groups[g]["devices"] for g in wanted)
    if shown > MAX_EXPANDED:
        raise ProblemError(
            422,
            "Too many devices",
            f"the groups asked for hold {shown} devices; at most {MAX_EXPANDED} are drawn at once",
            field="expand",
        )
    nodes = [_node(d, member[n]) for n, d in net.devices.items() if member[n] in wanted]
    drawn = {n["id"] for n in nodes}

    def at(device: str) -> str:
        return device if device in drawn else member[device]

    merged: dict[tuple[str, str], dict[str, Any]] = {}
    evidence: dict[tuple[str, str], set[str]] = defaultdict(set)
    for edge in net.edges:
        a, b = at(str(edge["a_device"])), at(str(edge["b_device"]))
        if a == b:
            continue  # inside a collapsed group: counted in the group
        key = (a, b) if a < b else (b, a)
        conf = float(edge.get("confidence") or 0.0)
        kept = merged.get(key)
        if kept is None:
            kept = merged[key] = {
                "id": f"e:{key[0]}~{key[1]}",
                "source": key[0],
                "target": key[1],
                "links": 0,
                "confidence": conf,
            }
            if a in drawn and b in drawn:  # one link between two devices: its ports
                ends = (edge["a_interface"], edge["b_interface"])
                if key[0] != a:
                    ends = ends[::-1]
                kept["source_interface"], kept["target_interface"] = ends
        kept["links"] += 1
        kept["confidence"] = min(kept["confidence"], conf)
        evidence[key].add(str(edge.get("evidence")))
    edges = []
    for key, kept in merged.items():
        kept["evidence"] = sorted(evidence[key])
        if kept["links"] > 1:
            kept.pop("source_interface", None)
            kept.pop("target_interface", None)
        edges.append(kept)
    edges.sort(key=lambda e: e["id"])
    nodes.sort(key=lambda n: n["id"])
    return {
        "devices": len(net.devices),
        "links": len(net.edges),
        "detail_below": DETAIL_BELOW,
        "max_expanded": MAX_EXPANDED,
        "groups": sorted(groups.values(), key=lambda g: g["id"]),
        "expanded": sorted(wanted),
        "nodes": nodes,
        "edges": edges,
    }


Needle = Annotated[
    str, QueryParameter(min_length=1, max_length=128, description="Part of a device's name.")
]


@get("/map/find", tags=["ui"], opt=problems(400, 403, 502, 503))
async def map_find(request: Request[Any, Any, Any], deps: Deps, q: Needle) -> Any:
    """At most 20 devices whose id, host name or management address contains ``q`` (any
    case), exact matches first, each with its group."""
    got = await _network(deps, request)
    net, member = (got.net, got.member) if isinstance(got, Kept) else got
    needle = q.strip().lower()
    found: list[tuple[int, str, dict[str, Any]]] = []
    for name, device in net.devices.items():
        texts = [name, device.get("hostname"), device.get("management_ip")]
        values = [str(t).lower() for t in texts if t]
        if any(v == needle for v in values):
            found.append((0, name, device))
        elif any(needle in v for v in values):
            found.append((1, name, device))
    found.sort(key=lambda f: (f[0], f[1]))
    devices = [_node(d, member[name]) for _, name, d in found[:20]]
    return {"query": q, "matches": len(found), "devices": devices}


ROUTES = [map_view, map_find]
