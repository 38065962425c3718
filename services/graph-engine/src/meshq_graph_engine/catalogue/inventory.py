"""Inventory: what is in the graph."""

from __future__ import annotations

from pydantic import Field

from meshq_graph_engine.catalogue.base import Params, Query

__all__ = ["QUERIES"]


class AllDevicesParams(Params):
    managed_only: bool = Field(True, description="Leave out neighbours nobody collected.")


ALL_DEVICES = Query(
    name="all_devices",
    category="Inventory",
    summary="Every device with its platform, version, role and location.",
    params=AllDevicesParams,
    community=True,
    cypher=(
        "MATCH (d:Device) WHERE d.managed = true OR $managed_only = false "
        "RETURN d.id AS device, d.hostname AS hostname, d.vendor AS vendor, "
        "d.platform AS platform, d.model AS model, d.os_version AS os_version, "
        "d.serial AS serial, d.role AS role, d.site AS site, d.tenant AS tenant, "
        "d.rack AS rack, d.management_ip AS management_ip, d.criticality AS criticality, "
        "d.managed AS managed ORDER BY device"
    ),
)

QUERIES = [ALL_DEVICES]
