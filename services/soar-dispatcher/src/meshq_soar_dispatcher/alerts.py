"""Alerts to the SOAR webhook, with what the alert's failure takes down.

When ``SOAR_ALERTS_MIN_SEVERITY`` is set, every alert that fires with at least that severity
(``meshq.alerts.events``, change ``firing``) is sent to the same webhook as the SOAR rules'
matches, once (its idempotency key is the event's id and the rule). The body has the fields
of a rule's match (``rule_name``, ``query``, ``severity``, ``triggered_at``, ``matched_rows``,
``sample_data``) so existing playbooks read it, plus ``alert`` (the alert as the alerts
service keeps it) and ``blast_radius``: for each device the alert names (at most three), the
blast radius of that device failing, asked of graph-engine (``blast_radius_device``): the
devices affected and degraded, their endpoints, the impact score and severity. When the graph
cannot answer, ``blast_radius`` is empty and ``blast_radius_error`` says why; the alert is
sent all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import structlog
from network_discovery.contracts.events import AlertChanged

from meshq_soar_dispatcher.delivery import triggered_at

__all__ = ["SEVERITY_ORDER", "BlastContext", "alert_payload", "severe_enough"]

log = structlog.get_logger(__name__)

SEVERITY_ORDER = ("info", "low", "warning", "medium", "high", "critical")
#: Devices of one alert whose blast radius is asked, and names listed per status.
MAX_DEVICES = 3
MAX_NAMES = 50
DEPTH = 3


def severe_enough(severity: str, minimum: str) -> bool:
    order = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return order.get(severity.lower(), 0) >= order.get(minimum.lower(), len(order))


class BlastContext:
    """Blast radius of the alert's devices, from graph-engine's internal query API."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self._client = client

    async def of(self, devices: Sequence[str]) -> tuple[list[dict[str, Any]], str | None]:
        if self._client is None:
            return [], "no graph engine configured (MESHQ_GRAPH_ENGINE_URL)"
        out: list[dict[str, Any]] = []
        for device in list(devices)[:MAX_DEVICES]:
            try:
                response = await self._client.post(
                    "/internal/queries/blast_radius_device",
                    json={"device": device, "depth": DEPTH},
                    params={"limit": 10_000},
                )
            except httpx.HTTPError as exc:
                return out, f"graph engine unreachable ({type(exc).__name__})"
            if response.status_code != 200:
                return out, f"graph engine answered {response.status_code} for {device}"
            rows = response.json().get("rows") or []
            out.append(summarise(device, rows))
        return out, None


def summarise(device: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One device's blast radius, short enough for a webhook."""
    if not rows:
        return {"device": device, "known": False}
    affected = [r for r in rows if r.get("status") == "affected" and not r.get("failed")]
    degraded = [r for r in rows if r.get("status") == "degraded"]
    first = rows[0]
    return {
        "device": device,
        "known": True,
        "severity": first.get("severity"),
        "impact_score": first.get("impact_score"),
        "blast_radius_pct": first.get("blast_radius_pct"),
        "affected": [r["device"] for r in affected[:MAX_NAMES]],
        "affected_count": len(affected),
        "degraded": [r["device"] for r in degraded[:MAX_NAMES]],
        "degraded_count": len(degraded),
        "endpoints_affected": sum(
            int(r.get("endpoints") or 0) for r in rows if r.get("status") == "affected"
        ),
        "depth": DEPTH,
    }


def alert_payload(
    event: AlertChanged, blast: list[dict[str, Any]], blast_error: str | None
) -> dict[str, Any]:
    alert = event.data
    body: dict[str, Any] = {
        "rule_name": alert.rule,
        "query": alert.query,
        "severity": alert.severity,
        "triggered_at": triggered_at(),
        "matched_rows": 1,
        "sample_data": [alert.row],
        "alert": alert.model_dump(mode="json"),
        "blast_radius": blast,
    }
    if blast_error is not None:
        body["blast_radius_error"] = blast_error
    return body
