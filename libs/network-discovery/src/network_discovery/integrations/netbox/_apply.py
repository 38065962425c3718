"""Execute a push plan: step by step, resolving references as objects are created.

An object NetBox refuses is reported (object and field) and the objects that needed it are
skipped with a reason; everything else still goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from network_discovery.integrations.netbox._client import NetBoxClient
from network_discovery.integrations.netbox._errors import FieldError
from network_discovery.integrations.netbox._plan import Item, Plan, Ref, Step

__all__ = ["ApplyReport", "apply_plan"]

log = structlog.get_logger(__name__)


@dataclass
class ApplyReport:
    done: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, action) -> count
    errors: list[str] = field(default_factory=list)

    def count(self, step: Step, n: int) -> None:
        key = (step.kind, step.action)
        self.done[key] = self.done.get(key, 0) + n


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
            await client.delete(step.endpoint, [b["id"] for _, b in ready])
            report.count(step, len(ready))
        elif ready:
            await _write(client, step, ready, ids, report)
        if progress:
            progress(len(step.items))
    log.info("netbox.push_applied", done=sum(report.done.values()), errors=len(report.errors))
    return report


async def _write(
    client: NetBoxClient,
    step: Step,
    ready: list[tuple[Item, dict[str, Any]]],
    ids: dict[str, int],
    report: ApplyReport,
) -> None:
    bodies = [b for _, b in ready]
    if step.action == "create":
        result = await client.create(step.endpoint, bodies, label=_label_of(ready))
    else:
        result = await client.update(step.endpoint, bodies, label=_label_of(ready))
    refused = {e.label for e in result.errors}
    accepted = [item for item, _ in ready if item.label not in refused]
    if step.action == "create":
        for item, obj in zip(accepted, result.done, strict=True):
            ids[item.key] = int(obj["id"])
    report.count(step, len(result.done))
    report.errors.extend(_describe(step, e) for e in result.errors)


def _label_of(ready: list[tuple[Item, dict[str, Any]]]) -> Callable[[Any], str]:
    table = [(body, item.label) for item, body in ready]

    def label(body: Any) -> str:
        for candidate, text in table:
            if candidate == body:
                return text
        return "(object)"

    return label


def _describe(step: Step, error: FieldError) -> str:
    return f"{step.kind} {error.label}: {error.field}: {' '.join(error.messages)}"
