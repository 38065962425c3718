"""The audit service's HTTP API: verify the chain, export records (both need the plan's
``audit_logging`` flag), and the Prometheus metrics."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeAlias

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream
from meshq_runtime.http import ProblemError
from meshq_runtime.kafka import EventConsumer
from meshq_runtime.license import LicenseFollower, feature_refused
from meshq_runtime.outbox import OutboxRelay
from network_discovery.licensing.plans import plans_with

from meshq_audit.service import FEATURE, AuditService
from meshq_audit.siem import SiemForwarder

__all__ = ["ROUTES", "AuditDeps"]

CSV_FIELDS = [
    "seq",
    "event_id",
    "event_time",
    "recorded_at",
    "correlation_id",
    "source",
    "event_type",
    "principal",
    "auth_method",
    "method",
    "path",
    "status",
    "elapsed_ms",
    "query",
    "row_count",
    "client",
    "prev_hash",
    "entry_hash",
    "hmac",
]


@dataclass(frozen=True)
class AuditDeps:
    """What the audit service's handlers use, built once by the lifespan."""

    service: AuditService
    siem: SiemForwarder
    relay: OutboxRelay
    consumer: EventConsumer
    license: LicenseFollower


#: A handler's ``deps`` parameter (Litestar's named dependency).
Deps: TypeAlias = NamedDependency[AuditDeps]


def _licensed(deps: AuditDeps) -> AuditService:
    """The service, or a 403 naming the flag and the plan when the plan lacks the log."""
    service = deps.service
    if not service.recording:
        plan = service.gate.plan
        raise feature_refused(
            FEATURE,
            plan,
            f"the audit log needs the {FEATURE!r} flag, which the {plan} plan does not include "
            f"(plans that do: {', '.join(plans_with(FEATURE))}); nothing is recorded on this plan",
        )
    return service


@get("/audit/verify")
async def verify(
    deps: Deps, from_: Annotated[int, QueryParameter(name="from", ge=1)] = 1
) -> dict[str, Any]:
    result = await _licensed(deps).verify(from_)
    return result.as_dict()


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProblemError(
            422,
            "Invalid parameters",
            "since must be an RFC 3339 time",
            errors=[{"field": "since", "message": "expected e.g. 2026-03-06T14:22:00Z"}],
        ) from None
    if moment.tzinfo is None:
        raise ProblemError(
            422,
            "Invalid parameters",
            "since needs a time zone (Z or +hh:mm)",
            errors=[{"field": "since", "message": "add Z or an offset"}],
        )
    return moment


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    data = record["event"].get("data", {})
    row = {k: record.get(k) for k in CSV_FIELDS}
    for name in (
        "principal",
        "auth_method",
        "method",
        "path",
        "status",
        "elapsed_ms",
        "query",
        "row_count",
        "client",
    ):
        row[name] = data.get(name)
    return row


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}


@get("/audit/export")
async def export(
    deps: Deps,
    since: str | None = None,
    format_: Annotated[str, QueryParameter(name="format", pattern="^(jsonl|csv)$")] = "jsonl",
) -> Stream:
    service = _licensed(deps)
    moment = _since(since)
    records = service.export(moment)

    async def jsonl() -> AsyncIterator[bytes]:
        async for record in records:
            yield (json.dumps(_jsonable(record), sort_keys=True) + "\n").encode()

    async def as_csv() -> AsyncIterator[bytes]:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
        writer.writeheader()
        async for record in records:
            writer.writerow(_jsonable(_flat(record)))
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue().encode()

    if format_ == "csv":
        return Stream(as_csv(), media_type="text/csv; charset=utf-8")
    return Stream(jsonl(), media_type="application/x-ndjson")


@get("/metrics", media_type="text/plain; version=0.0.4")
async def metrics(deps: Deps) -> str:
    """Prometheus text format: the SIEM backlog per sink, and the chain head."""
    siem = deps.siem
    lines = [
        "# HELP meshq_audit_siem_backlog Audit records not yet forwarded to the SIEM.",
        "# TYPE meshq_audit_siem_backlog gauge",
    ]
    backlog = await siem.backlog()
    lines += [f'meshq_audit_siem_backlog{{sink="{name}"}} {n}' for name, n in backlog.items()]
    if not backlog:
        lines.append("meshq_audit_siem_backlog 0")
    service = deps.service
    head, _ = await service.head()
    lines += [
        "# HELP meshq_audit_chain_head_seq Sequence number of the last audit record.",
        "# TYPE meshq_audit_chain_head_seq gauge",
        f"meshq_audit_chain_head_seq {head}",
        f"# HELP meshq_audit_recording 1 when the plan has {FEATURE} and events are recorded.",
        "# TYPE meshq_audit_recording gauge",
        f"meshq_audit_recording {int(service.recording)}",
        "# HELP meshq_audit_unrecorded_events_total Events consumed but not recorded (plan).",
        "# TYPE meshq_audit_unrecorded_events_total counter",
        f"meshq_audit_unrecorded_events_total {service.unrecorded}",
        "# HELP meshq_audit_reannounced_events_total Repeats of recorded events: announced again.",
        "# TYPE meshq_audit_reannounced_events_total counter",
        f"meshq_audit_reannounced_events_total {service.reannounced}",
    ]
    consumer = deps.consumer
    waiting = list(consumer.waiting.values())
    lines += [
        "# HELP meshq_audit_dead_lettered_events_total Events that can never be recorded.",
        "# TYPE meshq_audit_dead_lettered_events_total counter",
        f"meshq_audit_dead_lettered_events_total {consumer.dead_lettered}",
        "# HELP meshq_audit_store_waiting 1 while the consumer waits for PostgreSQL.",
        "# TYPE meshq_audit_store_waiting gauge",
        f"meshq_audit_store_waiting {int(bool(waiting))}",
        "# HELP meshq_audit_store_wait_seconds How long the current wait has lasted.",
        "# TYPE meshq_audit_store_wait_seconds gauge",
        f"meshq_audit_store_wait_seconds {max((w.seconds for w in waiting), default=0):.3f}",
    ]
    lines += [
        "# HELP meshq_audit_republished_total Announcements re-sent after a broker reset.",
        "# TYPE meshq_audit_republished_total counter",
        f"meshq_audit_republished_total {deps.relay.republished}",
    ]
    return "\n".join(lines) + "\n"


ROUTES = [verify, export, metrics]
