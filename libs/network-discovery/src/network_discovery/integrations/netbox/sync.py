"""One NetBox sync run: read both sides, plan, and (unless it is a dry run) apply the plan.

``run_sync`` is what ``meshq sync --target netbox`` and the netbox-sync service both call.
A pull publishes metadata patches and the declared-links snapshot through ``publish``; a
push writes to NetBox. Direction ``pull`` never writes to NetBox. ``SyncResult.outcome`` is
what a run comes to: ``failed`` (NetBox refused or skipped something), ``conflicts`` (the run
left something as NetBox has it: a conflict, or drift it did not overwrite) or ``ok``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog

from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import SnapshotPatch, SnapshotSubmitted
from network_discovery.integrations.netbox._apply import ApplyReport, apply_plan
from network_discovery.integrations.netbox._client import NetBoxClient
from network_discovery.integrations.netbox._graph import GraphReader
from network_discovery.integrations.netbox._nbstate import load_state
from network_discovery.integrations.netbox._owner import OVERWRITABLE
from network_discovery.integrations.netbox._plan import Plan
from network_discovery.integrations.netbox._pull import plan_pull
from network_discovery.integrations.netbox._push import PushDefaults, plan_push

__all__ = ["Direction", "SyncOptions", "SyncResult", "run_sync"]

log = structlog.get_logger(__name__)

Direction = Literal["push", "pull", "both"]
Publish = Callable[[EventBase], Awaitable[None]]


@dataclass(frozen=True)
class SyncOptions:
    direction: Direction = "pull"
    dry_run: bool = False
    prune: bool = False
    #: push: fields replaced on objects the sync did not create (see ``_owner.OVERWRITABLE``)
    overwrite: tuple[str, ...] = ()
    defaults: PushDefaults = field(default_factory=PushDefaults)
    source: str = "netbox-sync"
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.overwrite) - set(OVERWRITABLE))
        if unknown:
            raise ValueError(
                f"cannot overwrite {', '.join(unknown)}: choose from {', '.join(OVERWRITABLE)}"
            )


@dataclass
class SyncResult:
    plans: list[Plan] = field(default_factory=list)
    applied: ApplyReport | None = None
    published: int = 0
    dry_run: bool = False

    def summary(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for plan in self.plans:
            for direction, kind, action, count in plan.summary():
                done = count
                if plan.direction == "push" and self.applied is not None:
                    done = self.applied.done.get((kind, action), 0)
                rows.append(
                    {
                        "direction": direction,
                        "object": kind,
                        "action": action,
                        "planned": count,
                        "done": 0 if self.dry_run else done,
                    }
                )
        return rows

    @property
    def conflicts(self) -> list[str]:
        return [str(c) for p in self.plans for c in p.conflicts]

    @property
    def drift(self) -> list[str]:
        return [str(d) for p in self.plans for d in p.drift]

    @property
    def unresolved_drift(self) -> list[str]:
        return [str(d) for p in self.plans for d in p.drift if not d.overwritten]

    @property
    def errors(self) -> list[str]:
        return list(self.applied.errors) if self.applied else []

    @property
    def notes(self) -> list[str]:
        applied = self.applied.notes if self.applied else []
        return [n for p in self.plans for n in p.notes] + applied

    @property
    def outcome(self) -> Literal["ok", "conflicts", "failed"]:
        if self.errors:
            return "failed"
        return "conflicts" if self.conflicts or self.unresolved_drift else "ok"

    @property
    def changed(self) -> bool:
        return any(not p.empty for p in self.plans)


async def run_sync(
    client: NetBoxClient,
    graph: GraphReader,
    options: SyncOptions,
    *,
    publish: Publish | None = None,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> SyncResult:
    """Plan each direction and, unless ``dry_run``, carry the plan out. ``on_plan`` sees each
    plan before it runs; ``progress`` is told how many planned changes each step finished."""
    result = SyncResult(dry_run=options.dry_run)
    await client.status()  # the token works and this is a NetBox, before anything else
    inventory = await graph.inventory()
    if options.direction in ("pull", "both"):
        plan = plan_pull(
            netbox_url=client.url,
            graph=inventory,
            declared_now=await graph.declared_links(),
            devices=await client.list("dcim/devices"),
            cables=await client.list("dcim/cables"),
        )
        result.plans.append(plan)
        if on_plan:
            on_plan(plan)
        if not options.dry_run:
            result.published = await _publish_pull(plan, options, publish)
            if progress:
                progress(sum(len(s.items) for s in plan.steps))
    if options.direction in ("push", "both"):
        state = await load_state(
            client,
            inventory,
            options.defaults.tag,
            default_site=options.defaults.site,
            prune=options.prune,
        )
        plan = plan_push(
            state,
            inventory,
            defaults=options.defaults,
            prune=options.prune,
            overwrite=options.overwrite,
        )
        result.plans.append(plan)
        if on_plan:
            on_plan(plan)
        if not options.dry_run:
            result.applied = await apply_plan(client, plan, progress=progress)
    log.info(
        "netbox.sync",
        direction=options.direction,
        dry_run=options.dry_run,
        changes=sum(r["planned"] for r in result.summary()),
        conflicts=len(result.conflicts),
        drift=len(result.drift),
        errors=len(result.errors),
        requests=client.requests,
        retries=client.retries,
    )
    return result


async def _publish_pull(plan: Plan, options: SyncOptions, publish: Publish | None) -> int:
    extra: dict[str, Any] = (
        {"correlation_id": options.correlation_id} if options.correlation_id else {}
    )
    events: list[EventBase] = [
        SnapshotPatch(source=options.source, subject=p.hostname, data=p, **extra)
        for p in plan.payload.get("patches", [])
    ]
    snapshot = plan.payload.get("snapshot")
    if snapshot is not None:
        events.append(
            SnapshotSubmitted(source=options.source, subject="netbox", data=snapshot, **extra)
        )
    if events and publish is None:
        raise RuntimeError("a pull that changes the graph needs somewhere to publish")
    for event in events:
        assert publish is not None
        await publish(event)
    return len(events)
