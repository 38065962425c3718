"""The bundled demo network: a small campus and data centre, as one native snapshot.

The snapshot (``demo_snapshot.json``, shipped in the wheel) is produced by
:mod:`network_discovery.demo.generate` and committed. It holds 31 collected devices across
Cisco IOS-XE and NX-OS, Arista EOS, Juniper Junos and PAN-OS, LLDP from both ends of every
inter-switch link, a few hundred endpoints behind access ports, two firewalls with their
policies, routing tables on the layer-3 devices, and a BGP edge to two ISPs (the flows the
policies allow and deny are listed in docs/firewall-ingest.md). Some flaws are there on
purpose, for the hygiene queries to find: a device without an OS version, an access port
without a description, a duplicated SVI address, an address on a retired SVI, a phone that
sends no system name, an IPv6 BGP session down.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from network_discovery.model import Snapshot

__all__ = ["DEMO_FILE", "load_demo", "load_snapshot", "snapshot_text"]

DEMO_FILE = "demo_snapshot.json"


def snapshot_text() -> str:
    """The bundled snapshot file, as JSON text."""
    return resources.files(__name__).joinpath(DEMO_FILE).read_text(encoding="utf-8")


@cache
def load_snapshot() -> Snapshot:
    """The bundled demo network, validated."""
    return Snapshot.model_validate_json(snapshot_text())


def load_demo(endpoints: dict[str, Any]) -> str:
    """Submit the demo snapshot to a running stack, wait until it is applied, return its id.

    ``endpoints`` is the stack's ``endpoints.json`` content (``gateway`` and ``api_key``). The
    snapshot goes through the same front door as ``meshq ingest``: ``POST /snapshots``.
    """
    from network_discovery.client import ClientSettings, MeshqClient

    if not endpoints.get("gateway") or not endpoints.get("api_key"):
        raise ValueError("the stack's endpoints name no 'gateway' and 'api_key' to submit to")
    snapshot = load_snapshot()
    settings = ClientSettings(url=str(endpoints["gateway"]), api_key=str(endpoints["api_key"]))
    with MeshqClient(settings) as client:
        receipt = client.submit_snapshot(snapshot.model_dump_json().encode())
        status = client.wait_for_snapshot(receipt.snapshot_id, timeout=180)
    if status.status == "rejected":
        raise RuntimeError(f"the demo snapshot was refused: {status.reason}")
    return snapshot.snapshot_id
