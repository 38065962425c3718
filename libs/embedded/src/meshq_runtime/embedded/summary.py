"""What ``meshq serve`` tells the user once the stack is up, and the demo-network hook."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog

from meshq_runtime.embedded.datadir import DataDir

__all__ = ["DEMO_PENDING", "load_demo", "redact_url", "summary", "ui_link"]

log = structlog.get_logger(__name__)

DEMO_PENDING = (
    "The demo network is bundled, but loading it arrives with the ingest pipeline: "
    "the stack runs empty for now."
)

_LABELS = {
    "gateway": "REST API (OpenAPI docs at /schema)",
    "graph_engine": "graph engine (internal)",
    "licensing": "license agent (GET /license)",
    "audit": "audit log",
    "soar_dispatcher": "SOAR webhooks",
    "netbox_sync": "NetBox sync",
    "alerts": "alerts (rules, Alertmanager push)",
    "prober": "synthetic probes (ICMP, TCP, HTTP, DNS)",
    "mcp": "MCP bridge",
    "supervisor": "meshq serve itself (GET /ready: what is down, restarts)",
}


def redact_url(url: str) -> str:
    """``url`` without its password, fit to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def ui_link(gateway: str, api_key: str, *, timeout: float = 10.0) -> str | None:
    """A one-time sign-in link to the web UI for the local admin (``POST /admin/ui-links``
    with the admin key, which stays out of the link), or None when the gateway cannot make one
    (the reason is logged, never the link)."""
    try:
        response = httpx.post(
            f"{gateway}/admin/ui-links", headers={"X-API-Key": api_key}, timeout=timeout
        )
        response.raise_for_status()
        path = response.json()["path"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("serve.ui_link_unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
        return None
    return f"{gateway}{path}"


def summary(endpoints: dict[str, Any], data: DataDir, *, demo_mode: bool) -> str:
    embedded = set(endpoints.get("embedded", ()))
    width = max(len(k) for k in _LABELS) + 2
    lines = [f"MeshOptixIQ is running (data in {data.root})", ""]
    for key, label in _LABELS.items():
        if key in endpoints:
            lines.append(f"  {key:<{width}}{endpoints[key]:<26}  {label}")
    for key, what in (("kafka", "Tansu"), ("postgres", "PostgreSQL"), ("redis", "Redis")):
        origin = f"embedded {what}" if key in embedded else "external"
        lines.append(f"  {key:<{width}}{redact_url(str(endpoints[key]))}  ({origin})")
    gateway = str(endpoints.get("gateway", "")).replace("127.0.0.1", "localhost")
    key_file = data.api_key_file
    lines += ["", "Try it:"]
    if gateway:
        lines += [
            f"  browser  {gateway}/schema",
        ]
    if endpoints.get("ui"):
        lines += [
            f"  web UI   {endpoints['ui']}",
            "           (a one-time sign-in link: it works once, for a short time)",
        ]
    if gateway:
        lines += [
            f'  curl     curl -H "X-API-Key: $(cat {key_file})" {gateway}/queries',
        ]
    if "mcp" in endpoints:
        lines += [
            f"  MCP      MESHOPTIXIQ_API_URL={endpoints.get('gateway', '')} "
            f"MESHOPTIXIQ_API_KEY=$(cat {key_file}) meshq-mcp",
            f"           or point a streamable-HTTP MCP client at "
            f"{endpoints.get('mcp_endpoint', endpoints['mcp'])}",
        ]
    lines += [
        "",
        f"Every endpoint and the admin API key: {data.endpoints_file}",
        f"Logs: {data.logs}",
    ]
    if demo_mode:
        lines.append(
            "Demo mode is ON (MESHOPTIXIQ_DEMO_MODE=true): every feature is open without a license."
        )
    return "\n".join(lines)


def load_demo(endpoints: dict[str, Any]) -> str:
    """Load the bundled demo network through ``network_discovery.demo.load_demo``.

    Returns the line to show the user; a hook that is missing or not implemented yet is an
    announced no-op. A failing load is reported, and the stack keeps running.
    """
    try:
        from network_discovery.demo import load_demo as hook
    except ImportError as exc:
        log.info("serve.demo_hook_missing", error=str(exc)[:300])
        return DEMO_PENDING
    try:
        result = hook(endpoints)
    except NotImplementedError:
        return DEMO_PENDING
    except Exception as exc:
        log.error("serve.demo_failed", error=f"{type(exc).__name__}: {exc}"[:500])
        return f"Loading the demo network failed ({type(exc).__name__}: {exc}); see the logs."
    return f"Demo network loaded (snapshot {result})." if result else "Demo network loaded."
