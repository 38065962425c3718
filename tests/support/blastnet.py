"""Hand-built networks for the blast-radius tests, as snapshots the real engine ingests."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot

__all__ = ["Net", "campus", "load_net"]

_FACTS = ["device", "interfaces", "ip_addresses", "vlans", "links", "endpoints"]


class Net:
    """Devices and cables; ports are named Ethernet1, Ethernet2, ... per device unless given."""

    def __init__(self) -> None:
        self.devices: list[dict[str, Any]] = []
        self.interfaces: dict[tuple[str, str], dict[str, Any]] = {}
        self.links: list[dict[str, Any]] = []
        self.endpoints: list[dict[str, Any]] = []
        self.addresses: list[dict[str, Any]] = []
        self.vlans: list[dict[str, Any]] = []
        self._ports: dict[str, int] = defaultdict(int)
        self._macs = 0

    def device(self, name: str, role: str | None = None, **extra: Any) -> Net:
        self.devices.append({"hostname": name, "role": role, **extra})
        return self

    def port(self, device: str, name: str | None = None, **config: Any) -> str:
        if name is None:
            self._ports[device] += 1
            name = f"Ethernet{self._ports[device]}"
        entry = self.interfaces.setdefault((device, name), {"device": device, "name": name})
        entry.update(config)
        return name

    def link(
        self,
        a: str,
        b: str,
        *,
        a_port: str | None = None,
        b_port: str | None = None,
        a_cfg: dict[str, Any] | None = None,
        b_cfg: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        pa = self.port(a, a_port, **(a_cfg or {}))
        pb = self.port(b, b_port, **(b_cfg or {}))
        self.links.append(
            {
                "a": {"device": a, "interface": pa},
                "b": {"device": b, "interface": pb},
                "evidence": "lldp_both",
            }
        )
        return pa, pb

    def hosts(self, device: str, count: int, *, vlan: int | None = None, net: str = "") -> Net:
        for _ in range(count):
            self._macs += 1
            port = self.port(device, mode="access", access_vlan=vlan or 1)
            entry: dict[str, Any] = {
                "device": device,
                "interface": port,
                "mac": f"02:00:00:00:{self._macs // 256:02x}:{self._macs % 256:02x}",
            }
            if vlan is not None:
                entry["vlan"] = vlan
            if net:
                entry["ips"] = [f"{net}.{self._macs % 250 + 2}"]
            self.endpoints.append(entry)
        return self

    def address(self, device: str, port: str, address: str) -> Net:
        self.port(device, port)
        self.addresses.append({"device": device, "interface": port, "address": address})
        return self

    def vlan(self, device: str, vlan: int) -> Net:
        self.vlans.append({"device": device, "vlan": vlan})
        return self

    def snapshot(self) -> Snapshot:
        names = [d["hostname"] for d in self.devices]
        return Snapshot.model_validate(
            {
                "snapshot_id": "blast-test",
                "source": "test",
                "collected_at": "2026-03-01T08:00:00Z",
                "scope": [{"device": n, "facts": _FACTS} for n in names],
                "devices": self.devices,
                "interfaces": list(self.interfaces.values()),
                "ip_addresses": self.addresses,
                "vlans": self.vlans,
                "links": self.links,
                "endpoints": self.endpoints,
            }
        )


async def load_net(net: Net, path: Path) -> tuple[EmbeddedStore, GraphEngine]:
    """The network in a fresh LadybugDB store, through the real engine."""
    store = EmbeddedStore(path / "graph")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(net.snapshot())
    return store, engine


def campus(*, cores: int = 2) -> Net:
    """Core pair, two distribution switches on both cores, one dual-homed access switch
    (5 hosts) and one single-homed on dist-1 (12 hosts)."""
    net = Net()
    names = [f"core-{i}" for i in range(1, cores + 1)]
    for name in names:
        net.device(name, "core", criticality="critical")
    if cores == 2:
        net.link("core-1", "core-2")
    for dist in ("dist-1", "dist-2"):
        net.device(dist, "distribution")
        for core in names:
            net.link(dist, core)
    net.device("acc-dual", "access").device("acc-single", "access")
    net.link("acc-dual", "dist-1", a_port="Uplink1")
    net.link("acc-dual", "dist-2", a_port="Uplink2")
    net.link("acc-single", "dist-1", a_port="Uplink1")
    net.hosts("acc-dual", 5, vlan=10).hosts("acc-single", 12, vlan=10)
    return net
