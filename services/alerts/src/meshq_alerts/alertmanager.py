"""Alerts pushed to Prometheus Alertmanager (``POST /api/v2/alerts``), so that the routing,
grouping, inhibition and silences a site already runs apply to ours too.

Alertmanager forgets an alert that is not sent again within its ``resolve_timeout``, so every
push sends every open alert (firing or acknowledged) with its ``startsAt``, and the alerts
resolved lately with their ``endsAt``: Alertmanager then shows them resolved at once rather
than when the timeout runs out. Labels are what identify an alert there: the rule's name
(``alertname``), its severity, its own labels and the row's key columns; they never change
during an alert's life. What may change goes in annotations (the summary, who acknowledged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import structlog

__all__ = ["AlertmanagerPush", "payload"]

log = structlog.get_logger(__name__)

#: Alertmanager's label values and annotations are kept short.
MAX_VALUE = 1024


def _short(value: Any) -> str:
    return str(value)[:MAX_VALUE]


def payload(alert: Mapping[str, Any], generator_url: str | None = None) -> dict[str, Any]:
    """One alert in Alertmanager's API v2 shape (``postableAlert``)."""
    annotations = {
        "summary": _short(alert.get("summary") or alert["rule"]),
        "alert_id": alert["alert_id"],
        "state": alert["state"],
    }
    if alert.get("description"):
        annotations["description"] = _short(alert["description"])
    if alert.get("acknowledged_by"):
        annotations["acknowledged_by"] = _short(alert["acknowledged_by"])
        annotations["acknowledged_at"] = _short(alert.get("acknowledged_at"))
    body: dict[str, Any] = {
        "labels": {k: _short(v) for k, v in alert["labels"].items()},
        "annotations": annotations,
        "startsAt": alert["starts_at"],
    }
    if alert["state"] == "resolved" and alert.get("resolved_at"):
        body["endsAt"] = alert["resolved_at"]
    if generator_url:
        body["generatorURL"] = f"{generator_url.rstrip('/')}/alerts/{alert['alert_id']}"
    return body


class AlertmanagerPush:
    """Sends alerts to one or more Alertmanagers (an HA pair is sent to each)."""

    def __init__(
        self,
        urls: Iterable[str],
        client: httpx.AsyncClient,
        *,
        generator_url: str | None = None,
        batch: int = 500,
    ) -> None:
        self.urls = [u.rstrip("/") for u in urls if u.strip()]
        self._client = client
        self._generator = generator_url
        self._batch = batch
        self.failures = 0

    async def push(self, alerts: Iterable[Mapping[str, Any]]) -> int:
        """Send the alerts; the count of Alertmanagers that took all of them."""
        bodies = [payload(a, self._generator) for a in alerts]
        if not self.urls or not bodies:
            return len(self.urls) if not bodies else 0
        ok = 0
        for url in self.urls:
            try:
                for start in range(0, len(bodies), self._batch):
                    response = await self._client.post(
                        f"{url}/api/v2/alerts", json=bodies[start : start + self._batch]
                    )
                    response.raise_for_status()
                ok += 1
            except httpx.HTTPError as exc:
                self.failures += 1
                log.warning("alerts.alertmanager.failed", url=url, error=str(exc)[:300])
        return ok
