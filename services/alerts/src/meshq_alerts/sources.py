"""The questions the alerts service answers itself: metric windows and blast figures.

- ``interface_window``: every interface's rates over the last ``window`` (time-weighted
  means, peaks, errors and discards, status changes), summed up by the metrics store
  (``meshq_runtime.metrics_store``, read only) in the same PostgreSQL database. An interface
  with nothing measured in the window has no row: its values are unknown, not 0.
- ``device_blast``: for every managed device, what its failure would take down (graph-engine's
  ``blast_radius_device``): the devices and endpoints it isolates, the devices it degrades. The
  figures are kept in ``alert_blast``; after the first round only the devices near a change
  are asked again (see :class:`BlastFigures`).
- ``device_visibility``: for every managed device, how many of its collected neighbours still
  report the link to it (graph-engine's ``lldp_neighbors``): a device that claims links no
  neighbour reports any more has gone silent to them (down, unplugged, unreachable).
- ``device_redundancy``: for every managed device, the other devices whose failure alone
  would isolate it (from the same figures): an access switch with one such device has no
  redundancy left.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog
from meshq_runtime.metrics_store import MEASURES, MetricsStore, choose_resolution

if TYPE_CHECKING:
    from meshq_alerts.evaluator import Answer, QuerySource
    from meshq_alerts.store import AlertStore

__all__ = ["BlastFigures", "InterfaceWindow", "redundancy_rows", "visibility_rows"]

log = structlog.get_logger(__name__)

#: Rows asked for per page of a catalogue answer read whole here.
_ALL = 1_000_000
#: Changes remembered between rounds; more than this in one round means a full pass.
MAX_CHANGES = 10_000
#: Devices whose figures are stored at most (a larger graph: the first ones, by name).
MAX_DEVICES = 200_000
#: Affected devices kept per device (for device_redundancy and for finding what a change
#: touches); a longer list is cut and the figures say so.
MAX_AFFECTED = 50_000


def _sum(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _larger(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _share(part: float | None, rest: float | None) -> float | None:
    """``part`` as a percentage of ``part + rest`` (errors among packets); None if unknown."""
    if part is None or rest is None or part + rest <= 0:
        return None
    return part / (part + rest) * 100.0


_FLAGS = ((1, "wrapped"), (2, "reset"), (4, "gap"), (8, "ambiguous"), (16, "counter32"))


def interface_row(found: Mapping[str, Any], window_s: float) -> dict[str, Any]:
    """One interface's summary over the window as a rule's row: the stored means and peaks,
    plus both directions folded (``util_pct``, ``errors_ps``, ...) and the share of the
    window measured (``covered_pct``)."""
    covered = float(found.get("covered_s") or 0.0)
    row = {
        "device": found["device"],
        "interface": found["interface"],
        "window_s": window_s,
        "covered_s": round(covered, 3),
        "covered_pct": round(min(covered / window_s * 100.0, 100.0), 2),
        "samples": int(found.get("samples") or 0),
        "speed_bps": found.get("speed_bps"),
        "status_changes": int(found.get("status_changes") or 0),
    }
    for name in MEASURES:
        row[name] = found.get(name)
    row["in_util_max_pct"] = found.get("in_util_pct_max")
    row["out_util_max_pct"] = found.get("out_util_pct_max")
    row["util_pct"] = _larger(row["in_util_pct"], row["out_util_pct"])
    row["peak_util_pct"] = _larger(row["in_util_max_pct"], row["out_util_max_pct"])
    row["errors_ps"] = _sum(row["in_errors_ps"], row["out_errors_ps"])
    row["discards_ps"] = _sum(row["in_discards_ps"], row["out_discards_ps"])
    row["in_errors_pct"] = _share(row["in_errors_ps"], row["in_pps"])
    row["out_errors_pct"] = _share(row["out_errors_ps"], row["out_pps"])
    row["in_discards_pct"] = _share(row["in_discards_ps"], row["in_pps"])
    row["out_discards_pct"] = _share(row["out_discards_ps"], row["out_pps"])
    bits = int(found.get("flags") or 0)
    row["flags"] = [name for bit, name in _FLAGS if bits & bit]
    return row


class InterfaceWindow:
    """``interface_window`` answers from the metrics store (read only: it never makes tables)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._metrics = MetricsStore(pool)

    async def answer(self, params: Mapping[str, Any], now: datetime, max_rows: int) -> Answer:
        from meshq_alerts.evaluator import Answer, QueryFailed

        window_s = float(params["window_s"])
        since = now - timedelta(seconds=window_s)
        try:
            _, found = await self._metrics.summarise(
                since,
                now,
                device=params.get("device"),
                resolution=choose_resolution(now - since),
            )
        except asyncpg.UndefinedTableError:
            raise QueryFailed("no interface metrics yet (run `meshq metrics run`)") from None
        except (OSError, asyncpg.PostgresError) as exc:
            raise QueryFailed(f"metrics store: {type(exc).__name__}: {exc}"[:300]) from None
        rows = [interface_row(found[key], window_s) for key in sorted(found)]
        return Answer(rows[:max_rows], complete=len(rows) <= max_rows)


def redundancy_rows(
    figures: Sequence[Mapping[str, Any]], affected: Mapping[str, Sequence[str]], role: str | None
) -> list[dict[str, Any]]:
    """For each device (of ``role``), the other devices whose failure alone isolates it."""
    by_victim: dict[str, list[str]] = {}
    for failed, victims in affected.items():
        for victim in victims:
            if victim != failed:
                by_victim.setdefault(victim, []).append(failed)
    rows = []
    for f in figures:
        if role is not None and (f.get("role") or "") != role:
            continue
        points = sorted(by_victim.get(f["device"], ()))
        rows.append(
            {
                "device": f["device"],
                "role": f.get("role"),
                "site": f.get("site"),
                "single_points": len(points),
                "single_point": points[0] if points else None,
                "single_point_list": points[:20],
                "depth": f.get("depth"),
            }
        )
    return rows


def visibility_rows(links: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per device, its collected neighbours and those of them that report the link too."""
    managed: dict[str, set[str]] = {}
    seen: dict[str, set[str]] = {}
    for link in links:
        device, neighbor = link.get("device"), link.get("neighbor")
        if not isinstance(device, str) or not isinstance(neighbor, str) or device == neighbor:
            continue
        managed.setdefault(device, set())
        seen.setdefault(device, set())
        if link.get("neighbor_managed"):
            managed[device].add(neighbor)
            if link.get("both_ends"):
                seen[device].add(neighbor)
    return [
        {
            "device": device,
            "managed_neighbors": len(managed[device]),
            "seen_by": len(seen[device]),
            "unseen_by": len(managed[device] - seen[device]),
            "silent_to": sorted(managed[device] - seen[device])[:20],
        }
        for device in sorted(managed)
    ]


def _role(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")


#: Roles of the devices the blast radius counts as the way out (graph-engine's
#: ``UPSTREAM_ROLES``); with none of them in the graph it falls back to the best-connected
#: devices, and the search below then walks through every device.
UPSTREAM_ROLES = frozenset({"core", "border", "firewall", "wan_edge"})


def heights(adjacent: Mapping[str, set[str]], upstream: Iterable[str]) -> dict[str, int]:
    """Hops from each device to the nearest upstream device (absent: none reached)."""
    height = dict.fromkeys(upstream, 0)
    frontier = list(height)
    while frontier:
        nxt = []
        for device in frontier:
            for other in adjacent.get(device, ()):
                if other not in height:
                    height[other] = height[device] + 1
                    nxt.append(other)
        frontier = nxt
    return height


def near_change(
    adjacent: Mapping[str, set[str]],
    starts: Iterable[str],
    depth: int,
    height: Mapping[str, int] | None = None,
) -> set[str]:
    """The devices whose blast figures a change at ``starts`` may have moved: the changed
    devices, their neighbours, and the devices up to ``depth`` steps from them that never
    step away from the upstream (to a device at most as far from it as the one before, as
    the blast radius's upstream paths do; with ``height`` None every step counts)."""
    seen = set(starts)
    for device in list(seen):
        seen |= adjacent.get(device, set())
    frontier = list(set(starts))
    reached = set(frontier)
    far = len(adjacent) + 1
    for _ in range(depth):
        nxt = []
        for device in frontier:
            here = far if height is None else height.get(device, far)
            for other in adjacent.get(device, ()):
                if other in reached:
                    continue
                if height is not None and height.get(other, far) > here:
                    continue
                reached.add(other)
                nxt.append(other)
        frontier = nxt
    return seen | reached


class BlastFigures:
    """Per-device blast figures at a depth, kept in ``alert_blast`` and brought up to date once
    per round of the rules that read them.

    A round asks graph-engine's ``blast_radius_device`` about every managed device the first
    time (and every ``full_every_s``, and after a change that did not say which devices it
    covered); otherwise only about the devices a change could have moved: the changed
    devices and their neighbours, the devices up to ``depth`` steps up from them over
    today's links (each step no farther from the upstream — core, border, firewall, WAN edge —
    than the one before), those whose stored failure took a changed device down, and devices
    not held yet. A change that moves a figure from further away (a device hanging below a
    changed one through a second switch) is caught by the next full pass.
    """

    def __init__(
        self,
        store: AlertStore,
        source: QuerySource,
        *,
        concurrency: int = 4,
        full_every_s: float = 3600.0,
    ) -> None:
        self.store = store
        self.source = source
        self.concurrency = max(1, concurrency)
        self.full_every_s = full_every_s
        self._changes: deque[tuple[int, frozenset[str] | None]] = deque()
        self._seq = 0
        self._seen: dict[int, int] = {}  # depth -> last change taken into account
        self._full_at: dict[int, float] = {}  # depth -> monotonic time of the last full pass
        self.last: dict[int, dict[str, Any]] = {}  # depth -> what the last refresh did

    def note_change(self, devices: Iterable[str] | None) -> None:
        """A change of the graph covering ``devices`` (None: not known which)."""
        self._seq += 1
        self._changes.append((self._seq, None if devices is None else frozenset(devices)))
        while len(self._changes) > MAX_CHANGES:
            self._changes.popleft()

    def _pending(self, depth: int) -> tuple[int, set[str] | None]:
        """Changes not yet taken into account at ``depth``: their devices (None: unknown)."""
        seen = self._seen.get(depth, 0)
        if self._changes and self._changes[0][0] > seen + 1:
            return self._seq, None  # some were dropped
        touched: set[str] = set()
        for seq, devices in self._changes:
            if seq <= seen:
                continue
            if devices is None:
                return self._seq, None
            touched |= devices
        return self._seq, touched

    async def _rows(self, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        answer = await self.source.answer(name, params, _ALL)
        return answer.rows

    async def _one(self, device: str, depth: int) -> list[dict[str, Any]]:
        return await self._rows("blast_radius_device", {"device": device, "depth": depth})

    async def refresh(self, depth: int, now: datetime) -> dict[str, Any]:
        """Bring the figures at ``depth`` up to date; raises ``QueryFailed`` (the next round
        asks again about the same devices)."""
        from meshq_alerts.evaluator import QueryFailed

        started = time.monotonic()
        upto, touched = self._pending(depth)
        full_due = depth not in self._full_at or started - self._full_at[depth] >= self.full_every_s
        devices = await self._rows("all_devices", {"managed_only": True})
        info = {
            r["device"]: r for r in devices if isinstance(r.get("device"), str) and r.get("managed")
        }
        names = sorted(info)[:MAX_DEVICES]
        held = await self.store.blast_affected(depth)
        if full_due or touched is None:
            candidates = set(names)
            kind = "full"
        else:
            edges = await self._rows("topology_edges", {})
            adjacent: dict[str, set[str]] = {}
            for e in edges:
                a, b = e.get("a_device"), e.get("b_device")
                if isinstance(a, str) and isinstance(b, str) and a != b:
                    adjacent.setdefault(a, set()).add(b)
                    adjacent.setdefault(b, set()).add(a)
            # a failure isolates the devices whose every way up runs through it: a change
            # moves the figures of the devices on the changed devices' ways up (and of those
            # whose failure took a changed device down); the full pass checks the rest
            upstream = [d for d, r in info.items() if _role(r.get("role")) in UPSTREAM_ROLES]
            height = heights(adjacent, upstream) if upstream else None
            candidates = near_change(adjacent, touched, depth, height) if touched else set()
            candidates |= {d for d, hit in held.items() if touched.intersection(hit)}
            candidates |= {d for d in names if d not in held}
            candidates &= set(names)
            kind = "changed"
        queue = sorted(candidates)
        results: list[tuple[str, dict[str, Any], list[str]]] = []
        failures: list[str] = []
        gate = asyncio.Semaphore(self.concurrency)

        async def ask(device: str) -> None:
            async with gate:
                try:
                    rows = await self._one(device, depth)
                except QueryFailed as exc:
                    failures.append(f"{device}: {exc}")
                    return
            if rows:
                results.append(self._figures(device, depth, rows, info[device]))

        await asyncio.gather(*(ask(d) for d in queue))
        await self.store.blast_save(depth, results, now, keep=names)
        if failures:
            raise QueryFailed(
                f"blast radius of {len(failures)} device(s) failed, e.g. {failures[0]}"[:300]
            )
        self._seen[depth] = upto
        if kind == "full":
            self._full_at[depth] = started
        done = {
            "depth": depth,
            "kind": kind,
            "devices": len(names),
            "asked": len(queue),
            "elapsed_s": round(time.monotonic() - started, 3),
        }
        self.last[depth] = done
        log.info("alerts.blast.refresh", **done)
        return done

    @staticmethod
    def _figures(
        device: str, depth: int, rows: Sequence[Mapping[str, Any]], info: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], list[str]]:
        affected = [r["device"] for r in rows if r.get("status") == "affected"]
        head = rows[0]
        figures = {
            "device": device,
            "role": _role(info.get("role")),
            "site": info.get("site"),
            "depth": depth,
            "isolated_endpoints": sum(
                int(r.get("endpoints") or 0) for r in rows if r.get("status") == "affected"
            ),
            "isolated_devices": len([d for d in affected if d != device]),
            "degraded_devices": sum(1 for r in rows if r.get("status") == "degraded"),
            "impact_score": head.get("impact_score"),
            "blast_radius_pct": head.get("blast_radius_pct"),
            "blast_severity": head.get("severity"),
        }
        return device, figures, affected[:MAX_AFFECTED]

    async def labels(self, devices: Iterable[str] | None, depth: int) -> dict[str, dict[str, str]]:
        """Blast-size labels of the devices held (of ``devices``; None: every one), for
        routing an alert by its weight."""
        wanted = None if devices is None else sorted(set(devices))[:MAX_DEVICES]
        if wanted is not None and not wanted:
            return {}
        rows = await self.store.blast_rows(depth, wanted)
        return {
            f["device"]: {
                "blast_endpoints": str(f.get("isolated_endpoints", 0)),
                "blast_devices": str(f.get("isolated_devices", 0)),
                "blast_severity": str(f.get("blast_severity") or "unknown"),
            }
            for f in rows
        }
