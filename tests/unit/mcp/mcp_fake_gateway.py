"""A fake query gateway for the MCP unit tests (an httpx.MockTransport handler)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

URL = "http://gateway.test"

CATALOGUE = [
    {
        "name": "all_devices",
        "category": "Inventory",
        "summary": "Every device.",
        "feature": "api_access",
        "community": True,
        "writes": False,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"site": {"type": "string", "default": ""}},
        },
        "row_schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["device", "role", "rack"],
            "properties": {
                "device": {"type": "string"},
                "role": {"anyOf": [{"$ref": "#/$defs/Role"}, {"type": "null"}]},
                "rack": {"type": "string"},
            },
            "$defs": {"Role": {"enum": ["access", "core"], "type": "string"}},
        },
    },
    {
        "name": "summary_stats",
        "category": "Inventory",
        "summary": "Counts.",
        "feature": "api_access",
        "community": True,
        "writes": False,
        "parameters": {"type": "object", "properties": {}},
    },
    {
        "name": "update_device_metadata",
        "category": "Inventory",
        "summary": "Set metadata on a device.",
        "feature": "netbox_sync",
        "community": False,
        "writes": True,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["device"],
            "properties": {"device": {"type": "string"}, "rack": {"type": "string"}},
        },
        "row_schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["device", "updated"],
            "properties": {"device": {"type": "string"}, "updated": {"type": "boolean"}},
        },
    },
]

DEVICES = [{"device": f"sw-{i:02d}", "role": "access", "rack": f"R{i}"} for i in range(120)]


def _problem(status: int, title: str, detail: str) -> httpx.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


@dataclass
class FakeGateway:
    """What the fake answers; tests change it and read what it saw."""

    license: dict[str, Any] | None = None  # None: no GET /license route (404)
    fail: dict[str, httpx.Response] = field(default_factory=dict)
    down: bool = False
    seen: list[httpx.Request] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)
    #: Replaces the rows of all_devices (an answer that breaks its row schema).
    device_rows: list[dict[str, Any]] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path in ("/health", "/ready"):
            return httpx.Response(200, json={"status": "ok"})
        if path == "/license":
            if self.license is None:
                return _problem(404, "Not Found", "")
            return httpx.Response(200, json=self.license)
        if request.headers.get("x-api-key") not in {"good", "other"} and not request.headers.get(
            "authorization"
        ):
            return _problem(401, "Unauthorized", "the X-API-Key is not valid")
        if path == "/queries":
            return httpx.Response(200, json=CATALOGUE)
        name = path.removeprefix("/queries/")
        if name in self.fail:
            return self.fail[name]
        params = json.loads(request.content or b"{}")
        if name == "all_devices":
            rows = DEVICES if self.device_rows is None else self.device_rows
        elif name == "summary_stats":
            rows = [{"devices": len(DEVICES)}]
        elif name == "update_device_metadata":
            self.writes.append(params)
            rows = [{"device": params["device"], "updated": True}]
        else:
            return _problem(404, "Unknown query", f"no query named {name!r}")
        # Paged like the gateway: row_count counts every row, next_cursor names the next page.
        size = int(request.url.params.get("limit", 1000))
        offset = int(request.url.params.get("cursor", 0))
        page = rows[offset : offset + size]
        more = offset + size < len(rows)
        body = {"query": name, "rows": page, "row_count": len(rows), "elapsed_ms": 1.0}
        body |= {"offset": offset, "next_cursor": str(offset + size) if more else None}
        return httpx.Response(200, json=body)
