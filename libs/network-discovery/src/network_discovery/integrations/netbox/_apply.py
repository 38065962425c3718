"""Execute a push plan: step by step, resolving references as objects are created.

An object NetBox refuses is reported (object and field) and the objects that needed it are
skipped with a reason; everything else still goes through. Every object of a step is
accounted for: done (created, found by a read-back, updated, deleted), refused, skipped, or
an error saying NetBox did not return it. A create NetBox may have applied without saying is
read back (``_readback``) rather than sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import structlog

from network_discovery.integrations.netbox._client import NetBoxClient, WriteResult
from network_discovery.integrations.netbox._errors import FieldError
from network_discovery.integrations.netbox._plan import Item, Plan, Ref, Step
from network_discovery.integrations.netbox._readback import recoverer

__all__ = ["ApplyReport", "apply_plan"]

log = structlog.get_logger(__name__)


@dataclass
class ApplyReport:
    done: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, action) -> count
    errors: list[str] = field(default_factory=list)
    #: writes NetBox answered without saying whether it applied them (timeout, 502/503/504)
    unanswered: int = 0
    #: objects a read-back found NetBox had created after such an answer (not sent again)
    recovered: int = 0

    def count(self, step: Step, n: int) -> None:
        key = (step.kind, step.action)
        self.done[key] = self.done.get(key, 0) + n

    def absorb(self, result: WriteResult) -> None:
        self.unanswered += result.unanswered
        self.recovered += result.recovered

    @property
    def notes(self) -> list[str]:
        if not self.unanswered:
            return []
        return [
            f"NetBox gave no clear answer to {self.unanswered} write(s) (a timeout or "
            f"502/503/504); reading back found {self.recovered} object(s) it had created, "
            "which were not sent again"
        ]


class _Unresolved(Exception):
    pass


def _resolve(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, Ref):
        if value.key not in ids:
            raise _Unresolved(value.key)
        return ids[value.key]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    return value


async def apply_plan(
    client: NetBoxClient, plan: Plan, *, progress: Callable[[int], None] | None = None
) -> ApplyReport:
    report = ApplyReport()
    ids = dict(plan.known)
    for step in plan.steps:
        if not step.items:
            continue
        ready: list[tuple[Item, dict[str, Any]]] = []
        for item in step.items:
            try:
                body = _resolve(item.body, ids)
                oid = item.id if item.id is not None else ids.get(item.key)
                if step.action != "create" and oid is None:
                    raise _Unresolved(item.key)
            except _Unresolved as missing:
                report.errors.append(
                    f"{step.kind} {item.label}: skipped, {missing.args[0]} was not created"
                )
                continue
            if step.action != "create":
                body = {"id": oid, **body}
            ready.append((item, body))
        if step.action == "delete":
            # by stage: NetBox deletes a bulk request's objects in its own order, and refuses
            # a parent interface while a sub-interface of it is left
            for _, group in groupby(sorted(ready, key=lambda r: r[0].stage), lambda r: r[0].stage):
                await _write(client, plan, step, list(group), ids, report)
        elif ready:
            await _write(client, plan, step, ready, ids, report)
        if progress:
            progress(len(step.items))
    log.info(
        "netbox.push_applied",
        done=sum(report.done.values()),
        errors=len(report.errors),
        unanswered=report.unanswered,
        recovered=report.recovered,
    )
    return report


async def _write(
    client: NetBoxClient,
    plan: Plan,
    step: Step,
    ready: list[tuple[Item, dict[str, Any]]],
    ids: dict[str, int],
    report: ApplyReport,
) -> None:
    bodies = [b for _, b in ready]
    labels = [item.label for item, _ in ready]
    if step.action == "create":
        result = await client.create(
            step.endpoint,
            bodies,
            labels=labels,
            recover=recoverer(client, step.endpoint, plan.tag),
        )
    elif step.action == "delete":
        result = await client.delete(step.endpoint, [int(b["id"]) for b in bodies])
    else:
        result = await client.update(step.endpoint, bodies, labels=labels)
    report.absorb(result)
    report.count(step, len(result.objects))
    for index, (item, _) in enumerate(ready):
        if index in result.objects:
            if step.action == "create":
                ids[item.key] = int(result.objects[index]["id"])
        elif index in result.refused:
            report.errors.extend(_describe(step, e) for e in result.refused[index])
        else:  # a PATCH of an object deleted meanwhile: NetBox leaves it out of its answer
            report.errors.append(f"{step.kind} {item.label}: NetBox did not return it")


def _describe(step: Step, error: FieldError) -> str:
    return f"{step.kind} {error.label}: {error.field}: {' '.join(error.messages)}"
