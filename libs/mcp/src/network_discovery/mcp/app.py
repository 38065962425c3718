"""The MCP server: tools from the gateway's catalogue, resources and prompts.

One low-level :class:`mcp.server.lowlevel.Server` serves both transports. Every handler asks the
gateway with the caller's credential: over HTTP the one the client sent (bearer token or API
key), over stdio ``MESHOPTIXIQ_API_KEY``.
"""

from __future__ import annotations

from typing import Any

from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from pydantic import AnyUrl

from network_discovery.mcp import _prompts
from network_discovery.mcp._gateway import Credential, Gateway, GatewayError
from network_discovery.mcp._tools import call_tool, compact, tool_from_query

__all__ = ["RESOURCES", "build_server", "credential_from_headers"]

SERVER_NAME = "meshoptixiq"
INSTRUCTIONS = (
    "MeshOptixIQ answers questions about one discovered network graph: devices, links, "
    "endpoints, addresses, routing. Each tool is a named query; list answers are cut to `limit` "
    "rows with a total. Writes only happen with confirm=true."
)

#: URI -> (name, description, the query behind it; None for the platform's health). A
#: resource is listed, and can be read, only while the gateway serves its query for the caller.
RESOURCES: dict[str, tuple[str, str, str | None]] = {
    "network://inventory/summary": (
        "inventory-summary",
        "Counts of devices, interfaces, links, addresses and endpoints.",
        "summary_stats",
    ),
    "network://topology/edges": (
        "topology-edges",
        "Every device-to-device link with its evidence.",
        "topology_edges",
    ),
    "network://health/platform": (
        "platform-health",
        "Whether the gateway and what is behind it answer, and the plan.",
        None,
    ),
    "network://firewall/devices": (
        "firewall-devices",
        "Devices with collected firewall rules.",
        "all_firewall_devices",
    ),
    "network://alerts/active": (
        "alerts-active",
        "Alerts firing now and not yet acknowledged.",
        "meshq_alerts_list",
    ),
    "network://compliance/latest": (
        "compliance-latest",
        "Results of the most recent compliance run, per device and rule.",
        "meshq_compliance_results",
    ),
}
#: Parameters a resource's query is read with (the others take none).
RESOURCE_PARAMS: dict[str, dict[str, Any]] = {
    "network://alerts/active": {"state": "firing"},
}


def credential_from_headers(
    headers: Any, default: Credential, correlation_id: str | None = None
) -> Credential:
    """The caller's own credential from HTTP headers; ``default`` when none was sent."""
    if headers is None:
        return default
    cid = correlation_id or headers.get("x-correlation-id") or None
    auth = headers.get("authorization") or ""
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return Credential(bearer=auth[7:].strip(), correlation_id=cid)
    key = headers.get("x-api-key")
    if key:
        return Credential(api_key=key, correlation_id=cid)
    return default


def build_server(gateway: Gateway) -> Server[Any, Any]:
    server: Server[Any, Any] = Server(SERVER_NAME, instructions=INSTRUCTIONS)

    def credential() -> Credential:
        try:
            request = server.request_context.request
        except LookupError:
            return gateway.default
        headers = getattr(request, "headers", None)
        scope = getattr(request, "scope", None) or {}
        cid = (scope.get("state") or {}).get("correlation_id")
        return credential_from_headers(headers, gateway.default, cid)

    async def served() -> dict[str, dict[str, Any]]:
        return {q["name"]: q for q in await gateway.catalogue(credential())}

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        try:
            return [tool_from_query(q) for q in (await served()).values()]
        except GatewayError as exc:
            raise ValueError(str(exc)) from exc

    @server.call_tool()
    async def on_call(name: str, arguments: dict[str, Any]) -> Any:
        return await call_tool(gateway, name, arguments, credential())

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        try:
            names = set(await served())
        except GatewayError:
            names = set()
        return [
            types.Resource(
                uri=AnyUrl(uri), name=name, description=desc, mimeType="application/json"
            )
            for uri, (name, desc, query) in RESOURCES.items()
            if query is None or query in names
        ]

    @server.read_resource()
    async def read_resource(uri: AnyUrl) -> list[ReadResourceContents]:
        key = str(uri)
        if key not in RESOURCES:
            raise ValueError(f"no resource {key}; resources/list names them")
        query = RESOURCES[key][2]
        cred = credential()
        if query is None:
            body: Any = await _platform(gateway, cred)
        else:
            state = await gateway.license(cred)
            if state.denied:
                raise ValueError(f"the {state.plan} plan does not include the mcp_server feature")
            try:
                if query not in await served():
                    raise ValueError(
                        f"{key} is read from the {query} query, which the gateway does not serve "
                        "(not in this version, or hidden from you); resources/list names what "
                        "can be read"
                    )
                body = await gateway.run(query, RESOURCE_PARAMS.get(key, {}), cred)
            except GatewayError as exc:
                raise ValueError(str(exc)) from exc
        return [ReadResourceContents(content=compact(body), mime_type="application/json")]

    @server.list_prompts()
    async def list_prompts() -> list[types.Prompt]:
        return _prompts.listing()

    @server.get_prompt()
    async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
        try:
            names = set(await served())
        except GatewayError as exc:
            raise ValueError(str(exc)) from exc
        return _prompts.render(name, arguments or {}, names)

    return server


async def _platform(gateway: Gateway, cred: Credential) -> dict[str, Any]:
    state = await gateway.license(cred)
    plan: dict[str, Any] = {"known": state.known}
    if state.known:
        plan.update(plan=state.plan, mcp_server=state.mcp_server)
    if state.note:
        plan["note"] = state.note
    try:
        count: Any = len(await gateway.catalogue(cred))
    except GatewayError as exc:
        count = str(exc)
    return {"gateway": gateway.url, **await gateway.health(), "license": plan, "queries": count}
