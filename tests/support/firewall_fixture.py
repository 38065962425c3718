"""The two-firewall network of ``tests/fixtures/firewall/paths.yaml`` as a native snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot

__all__ = ["FIREWALL_CASES", "FIREWALL_FIXTURE", "Net", "firewall_snapshot", "open_net"]

FIREWALL_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "firewall" / "paths.yaml"

#: Arguments that make each firewall and path query answer rows on this network (several
#: where rows differ in shape: a deny, the default action, no route, IPv6, a VRF).
FIREWALL_CASES: dict[str, list[dict[str, Any]]] = {
    "all_firewall_devices": [{}],
    "firewall_rules_by_device": [{"device": "fw1"}, {"device": "fw2"}],
    "firewall_rules_by_zone_pair": [{"src_zone": "transit", "dst_zone": "servers"}],
    "deny_rules_summary": [{}],
    "shadowed_rules": [{}],
    "filter_line_reachability": [{}, {"device": "fw2", "filter": "policy"}],
    "route_lookup": [
        {"device": "core1", "destination": "10.3.0.10"},
        {"device": "r1", "destination": "192.168.50.7", "vrf": "guest"},
    ],
    "path_analysis": [
        {"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "tcp", "port": 443},
        {"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "tcp", "port": 22},
        {
            "source": "2001:db8:1::10",
            "destination": "2001:db8:3::20",
            "protocol": "tcp",
            "port": 443,
        },
        {"source": "10.1.0.10", "destination": "10.9.0.1", "protocol": "icmp"},
        {"source": "192.168.50.10", "destination": "10.3.0.10", "protocol": "udp", "port": 53},
        {"source": "10.0.12.1", "destination": "10.3.0.1", "protocol": "tcp", "port": 443},
    ],
}


def firewall_snapshot() -> Snapshot:
    return Snapshot.model_validate(yaml.safe_load(FIREWALL_FIXTURE.read_text()))


class Net:
    """The network ingested through the real graph engine into a LadybugDB store."""

    def __init__(self, store: EmbeddedStore, engine: GraphEngine) -> None:
        self.store, self.engine = store, engine

    async def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        result = await run_query(REGISTRY, name, params, QueryContext(self.store, self.engine))
        return result.rows


async def open_net(path: Path, snapshot: Snapshot | None = None) -> Net:
    """``snapshot`` (the two-firewall network when None) in a fresh graph under ``path``."""
    store = EmbeddedStore(path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(snapshot if snapshot is not None else firewall_snapshot())
    return Net(store, engine)
