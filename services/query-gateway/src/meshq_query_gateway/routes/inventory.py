"""``GET /inventory/ansible``: the graph's collected devices as an Ansible inventory.

JSON in the dynamic-inventory format (groups with ``hosts`` and ``_meta.hostvars``), or
Ansible's INI format with ``?format=ini``. Needs ``api_access`` (every caller, the admin key
too: the export is a Pro feature) and, under RBAC, the verb ``list`` on ``inventory_ansible``.
Audited like a query.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.params import QueryParameter

from meshq_query_gateway.ansible_inventory import build_inventory, to_ini
from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, forward, requires
from meshq_query_gateway.openapi import problems

__all__ = ["RESOURCE", "ROUTES"]

RESOURCE = "inventory_ansible"
FEATURE = "api_access"


@get(
    "/inventory/ansible",
    tags=["inventory"],
    guards=[requires(RESOURCE, feature=FEATURE)],  # it returns data: listing never does
    opt=problems(400, 403, 502, 503, also_returns=["text/plain"]),
)
async def ansible_inventory(
    request: Request[Any, Any, Any],
    deps: Deps,
    fmt: Annotated[
        Literal["json", "ini"],
        QueryParameter(name="format", description="json (default) or ini."),
    ] = "json",
) -> Response[Any]:
    """Every collected device, grouped by vendor, role, site and firewall presence, with
    ``ansible_host`` (management address), ``ansible_network_os`` and the device's facts."""
    note = audit_note(request)
    note.params = {"format": fmt}
    gw = deps
    result = await forward(gw.graph, "POST", "/internal/queries/all_devices", {})
    inventory = build_inventory(result.get("rows", []))
    hosts = inventory["_meta"]["hostvars"]
    note.row_count = len(hosts)
    note.sample_rows = [{"host": h, **v} for h, v in list(hosts.items())[:5]]
    if fmt == "ini":
        # Litestar adds "; charset=utf-8" to a text type itself (naming it here doubled it)
        return Response(to_ini(inventory), media_type="text/plain")
    return Response(inventory, media_type="application/json")


ROUTES = [ansible_inventory]
