"""Traffic at risk: the recent load of the links a failure removes, and whether what survives
can carry the load that moves.

- **Removed links**: every cable the failure takes down (the failed links themselves, and every
  cable of a failed device). Each one's load is read from the metrics store over a window
  (default the last 15 minutes) the way ``link_utilization`` reads it: per direction the larger
  of what the sending end counted out and the receiving end counted in (a missed poll lowers
  one), as the window's time-weighted mean, with the highest interval's utilisation beside it.
- **Degraded devices** (fewer upstream paths after the failure, still reaching the upstream)
  that lost some of their own *uplinks*: the cables to neighbours nearer the upstream (or, for
  a device with none, to its peers of the same tier). The load of the lost uplinks moves to the
  surviving ones; their room is their speed less their own current load, each direction apart.
  The answer per device is ``carried`` (the room is at least the moved load both ways),
  ``short`` (``short_by_bps``: the largest shortfall of the two directions) or ``unknown``
  (with the reason: a cable without samples in the window, a surviving cable whose speed is
  unknown, no uplink left). This is a total: per-flow hashing may still overload one member.
- **Bundles** (LAGs) that lost some members but not all: the same test over the members left.

Nothing unknown is ever 0: without a metrics store, with the store down, or for a cable neither
end of which has samples in the window, the answer says ``unknown`` and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from meshq_graph_engine.blast._analysis import BlastResult, heights, upstream
from meshq_graph_engine.blast._model import Failure, Link, Topology

if TYPE_CHECKING:
    from meshq_runtime.metrics_store import MetricsStore

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_LISTED",
    "TrafficPlan",
    "assess",
    "plan",
    "traffic_at_risk",
    "unknown",
]

DEFAULT_WINDOW = timedelta(minutes=15)
#: The most removed links, devices and bundles an answer lists (the totals count them all).
MAX_LISTED = 1000

_NO_STORE = (
    "no metrics store: give graph-engine MESHQ_POSTGRES_URL (meshq serve does) and collect "
    "counters with `meshq metrics run` (docs/metrics.md)"
)


@dataclass(frozen=True)
class Uplinks:
    """One degraded device's uplink cables: those the failure removed and those left."""

    device: str
    lost: tuple[Link, ...]
    left: tuple[Link, ...]


@dataclass(frozen=True)
class Bundle:
    """A LAG that keeps some of its members."""

    a: str
    b: str
    lost: tuple[Link, ...]
    left: tuple[Link, ...]


@dataclass
class TrafficPlan:
    """What to measure for one failure (worked out from the topology alone)."""

    removed: list[Link]
    devices: list[Uplinks]
    bundles: list[Bundle]
    keys: list[tuple[str, str]] = field(default_factory=list)


def _removed(topology: Topology, failure: Failure) -> dict[str, Link]:
    out: dict[str, Link] = {}
    for link_id in sorted(failure.links):
        link = topology.links.get(link_id)
        if link is not None:
            out[link.id] = link
    for device in sorted(failure.devices):
        for link in topology.links_on(device):
            out[link.id] = link
    return out


def plan(topology: Topology, result: BlastResult) -> TrafficPlan:
    """The removed cables, each degraded device's lost and surviving uplinks, and the bundles
    left with fewer members, in a stable order."""
    removed = _removed(topology, result.failure)
    up, _ = upstream(topology)
    height = heights(topology, up)
    devices: list[Uplinks] = []
    for impact in result.impacts:
        if impact.status != "degraded" or impact.failed:
            continue
        node = topology.index[impact.device]
        near = [(e, n) for e, n in topology.adj[node] if height[n] < height[node]]
        if not near:
            near = [(e, n) for e, n in topology.adj[node] if height[n] == height[node]]
        members = [
            topology.links[m] for e, _ in sorted(set(near)) for m in topology.logical[e].members
        ]
        lost = tuple(m for m in members if m.id in removed)
        if lost:
            left = tuple(m for m in members if m.id not in removed)
            devices.append(Uplinks(impact.device, lost, left))
    bundles: list[Bundle] = []
    for index in sorted({topology.logical_of[i] for i in removed if i in topology.logical_of}):
        logical = topology.logical[index]
        if len(logical.members) < 2:
            continue
        lost = tuple(topology.links[m] for m in logical.members if m in removed)
        left = tuple(topology.links[m] for m in logical.members if m not in removed)
        if left:
            bundles.append(Bundle(logical.a, logical.b, lost, left))
    ordered = sorted(removed.values(), key=lambda link: link.id)
    keys: set[tuple[str, str]] = set()
    for link in _every(ordered, devices, bundles):
        keys.add((link.a.device, link.a.name))
        keys.add((link.b.device, link.b.name))
    return TrafficPlan(ordered, devices, bundles, sorted(keys))


def _every(
    removed: Iterable[Link], devices: Iterable[Uplinks], bundles: Iterable[Bundle]
) -> Iterable[Link]:
    yield from removed
    for d in devices:
        yield from d.lost
        yield from d.left
    for b in bundles:
        yield from b.lost
        yield from b.left


def _larger(*values: float | None) -> float | None:
    known = [float(v) for v in values if v is not None]
    return max(known) if known else None


def _smaller_speed(*values: float | None) -> float | None:
    known = [float(v) for v in values if v is not None and v > 0]
    return min(known) if known else None


@dataclass(frozen=True)
class Load:
    """One cable over the window; None where unknown."""

    link: Link
    a_to_b: float | None
    b_to_a: float | None
    speed: float | None
    peak_util_pct: float | None
    measured: str  # both | a | b | none

    def toward(self, device: str) -> tuple[float | None, float | None]:
        """(away from ``device``, toward it): its sending and its receiving direction."""
        if self.link.a.device == device:
            return self.a_to_b, self.b_to_a
        return self.b_to_a, self.a_to_b


def _load(link: Link, found: dict[tuple[str, str], dict[str, Any]]) -> Load:
    a = found.get((link.a.device, link.a.name))
    b = found.get((link.b.device, link.b.name))

    def get(end: dict[str, Any] | None, column: str) -> float | None:
        return None if end is None else end.get(column)

    measured = {(True, True): "both", (True, False): "a", (False, True): "b"}.get(
        (a is not None, b is not None), "none"
    )
    return Load(
        link=link,
        a_to_b=_larger(get(a, "out_bps"), get(b, "in_bps")),
        b_to_a=_larger(get(b, "out_bps"), get(a, "in_bps")),
        speed=_smaller_speed(get(a, "speed_bps"), get(b, "speed_bps")),
        peak_util_pct=_larger(
            get(a, "in_util_pct_max"),
            get(a, "out_util_pct_max"),
            get(b, "in_util_pct_max"),
            get(b, "out_util_pct_max"),
        ),
        measured=measured,
    )


def _name(link: Link, device: str) -> dict[str, str]:
    mine, other = (link.a, link.b) if link.a.device == device else (link.b, link.a)
    return {
        "interface": mine.name,
        "neighbor": other.device,
        "neighbor_interface": other.name,
    }


def _missing(load: Load, device: str) -> str | None:
    out, into = load.toward(device)
    where = f"{device} {_name(load.link, device)['interface']}"
    if load.measured == "none":
        return f"no samples in the window for {where} or its neighbour's end"
    if out is None or into is None:
        return f"no rate in the window for {where} (counters reset or unreadable)"
    return None


def _verdict(device: str, lost: Sequence[Load], left: Sequence[Load]) -> dict[str, Any]:
    """Whether ``left`` can carry what ``lost`` carried, seen from ``device``."""
    answer: dict[str, Any] = {
        "lost": [_uplink(load, device) for load in lost],
        "left": [_uplink(load, device) for load in left],
        "moved_out_bps": None,
        "moved_in_bps": None,
        "room_out_bps": None,
        "room_in_bps": None,
        "verdict": "unknown",
        "short_by_bps": None,
        "reason": None,
    }
    if not left:
        answer["reason"] = "no uplink is left: its traffic takes a detour this does not assess"
        return answer
    for load in (*lost, *left):
        reason = _missing(load, device)
        if reason:
            answer["reason"] = reason
            return answer
    for load in left:
        if load.speed is None:
            where = f"{device} {_name(load.link, device)['interface']}"
            answer["reason"] = f"the speed of {where} is unknown"
            return answer
    moved_out = sum(load.toward(device)[0] or 0.0 for load in lost)
    moved_in = sum(load.toward(device)[1] or 0.0 for load in lost)
    room_out = sum(max(0.0, (load.speed or 0.0) - (load.toward(device)[0] or 0.0)) for load in left)
    room_in = sum(max(0.0, (load.speed or 0.0) - (load.toward(device)[1] or 0.0)) for load in left)
    short = max(moved_out - room_out, moved_in - room_in)
    answer.update(
        moved_out_bps=moved_out,
        moved_in_bps=moved_in,
        room_out_bps=room_out,
        room_in_bps=room_in,
        verdict="carried" if short <= 0 else "short",
        short_by_bps=short if short > 0 else None,
    )
    return answer


def _uplink(load: Load, device: str) -> dict[str, Any]:
    out, into = load.toward(device)
    return {**_name(load.link, device), "out_bps": out, "in_bps": into, "speed_bps": load.speed}


def _link_row(load: Load) -> dict[str, Any]:
    link = load.link
    known = [v for v in (load.a_to_b, load.b_to_a) if v is not None]
    reason = None
    if load.measured == "none":
        reason = "no samples in the window at either end"
    elif len(known) < 2:
        reason = "a direction has no rate in the window (counters reset or unreadable)"
    return {
        "a_device": link.a.device,
        "a_interface": link.a.name,
        "b_device": link.b.device,
        "b_interface": link.b.name,
        "speed_bps": load.speed,
        "a_to_b_bps": load.a_to_b,
        "b_to_a_bps": load.b_to_a,
        "load_bps": sum(known) if len(known) == 2 else None,
        "peak_util_pct": load.peak_util_pct,
        "measured": load.measured,
        "reason": reason,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def unknown(reason: str, window: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer when nothing could be measured."""
    return {"status": "unknown", "reason": reason, "window": window}


def assess(
    traffic: TrafficPlan,
    found: dict[tuple[str, str], dict[str, Any]],
    window: dict[str, Any],
) -> dict[str, Any]:
    """The answer for ``traffic`` from the stored summaries ``found`` (per link end)."""
    loads = {link.id: _load(link, found) for link in _every(traffic.removed, (), ())}

    def load(link: Link) -> Load:
        if link.id not in loads:
            loads[link.id] = _load(link, found)
        return loads[link.id]

    links = [_link_row(load(link)) for link in traffic.removed]
    unknown_links = sum(1 for row in links if row["load_bps"] is None)
    removed_known = sum((row["a_to_b_bps"] or 0.0) + (row["b_to_a_bps"] or 0.0) for row in links)
    devices = [
        {
            "device": d.device,
            **_verdict(d.device, [load(x) for x in d.lost], [load(x) for x in d.left]),
        }
        for d in traffic.devices
    ]
    bundles = [
        {
            "a_device": b.a,
            "b_device": b.b,
            **_verdict(b.a, [load(x) for x in b.lost], [load(x) for x in b.left]),
        }
        for b in traffic.bundles
    ]
    verdicts = [row["verdict"] for row in (*devices, *bundles)]
    if not links:
        status, reason = "measured", None
    elif unknown_links == len(links) and all(v == "unknown" for v in verdicts):
        status, reason = "unknown", "no samples in the window for any removed link"
    elif unknown_links or "unknown" in verdicts:
        status, reason = "partial", "some links have no samples in the window (see each row)"
    else:
        status, reason = "measured", None
    return {
        "status": status,
        "reason": reason,
        "window": window,
        "removed_links": len(links),
        "removed_links_unknown": unknown_links,
        # the sum over every removed cable, both ways; null while any is unknown
        "removed_bps": removed_known if not unknown_links else None,
        "removed_bps_known": removed_known,
        "devices_short": sum(1 for v in verdicts if v == "short"),
        "devices_unknown": sum(1 for v in verdicts if v == "unknown"),
        "links": links[:MAX_LISTED],
        "devices": devices[:MAX_LISTED],
        "bundles": bundles[:MAX_LISTED],
        "truncated": max(len(links), len(devices), len(bundles)) > MAX_LISTED,
    }


#: Failures of the store's connection (the answer says unknown, the simulation still answers).
def _down_errors() -> tuple[type[BaseException], ...]:
    import asyncpg

    return (
        OSError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    )


async def traffic_at_risk(
    topology: Topology,
    result: BlastResult,
    metrics: MetricsStore | None,
    window: timedelta = DEFAULT_WINDOW,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The traffic at risk in ``result`` over the ``window`` up to ``now`` (see the module
    docstring); never raises for the store's sake: an unreachable store is ``unknown``."""
    until = now or datetime.now(UTC)
    since = until - window
    span: dict[str, Any] = {"since": _iso(since), "until": _iso(until), "resolution": None}
    if metrics is None:
        return unknown(_NO_STORE, span)
    traffic = plan(topology, result)
    if not traffic.keys:
        span["resolution"] = None
        return assess(traffic, {}, span)
    try:
        await metrics.ensure_schema()
        resolution, found = await metrics.summarise(since, until, keys=traffic.keys, now=until)
    except _down_errors() as exc:
        return unknown(f"the metrics store (PostgreSQL) did not answer: {type(exc).__name__}", span)
    span["resolution"] = resolution
    return assess(traffic, found, span)
