"""Realistic synthetic networks at any size, as discovery would see them.

A campus (core pair, distribution pairs, access switches full of endpoints) and leaf-spine
fabrics (spine pairs, leaves full of servers), built from what collection produces: device
records, interfaces, addresses, LLDP seen from both ends of every link, MAC tables on edge
ports and ARP on the gateways. Deterministic for a given size and seed.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from network_discovery.model import Snapshot

__all__ = ["Network", "NetworkData", "generate", "generate_data", "incremental_change"]

ACCESS_PORTS = 48
UPLINKS = ("TenGigabitEthernet1/1/1", "TenGigabitEthernet1/1/2")


@dataclass
class NetworkData:
    """The network as snapshot JSON (``data``), not validated, and samples of its values."""

    devices: list[str]
    access: list[str]
    macs: list[str]
    ips: list[str]
    subnets: list[str]
    data: dict[str, Any]

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.data.items() if isinstance(v, list)}


@dataclass
class Network(NetworkData):
    """The network, its snapshot validated too."""

    snapshot: Snapshot


def _mac(n: int) -> str:
    return ":".join(f"{(n >> s) & 0xFF:02x}" for s in (40, 32, 24, 16, 8, 0))


def generate(devices: int = 10_000, *, seed: int = 7, when: datetime | None = None) -> Network:
    raw = generate_data(devices, seed=seed, when=when)
    return Network(**vars(raw), snapshot=Snapshot.model_validate(raw.data))


def generate_data(
    devices: int = 10_000, *, seed: int = 7, when: datetime | None = None
) -> NetworkData:
    """The network without its snapshot validated (a validated snapshot of 50,000 devices
    takes some 12 GB; its JSON is what a measuring process reads)."""
    rng = random.Random(seed)
    when = when or datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    n_dist_pairs = max(1, devices // 100)
    n_access = max(2, devices - 2 - 2 * n_dist_pairs)
    data: dict[str, Any] = {
        "snapshot_id": f"synth-{devices}-{seed}",
        "source": "bench",
        "collected_at": when.isoformat(),
        "scope": [],
        "devices": [],
        "interfaces": [],
        "ip_addresses": [],
        "neighbors": [],
        "mac_table": [],
        "arp": [],
        "vlans": [],
    }
    kinds = ["device", "interfaces", "ip_addresses", "lldp", "mac_table", "arp", "vlans"]
    names: list[str] = []

    def device(name: str, role: str, platform: str, model: str) -> None:
        names.append(name)
        data["scope"].append({"device": name, "facts": kinds})
        data["devices"].append(
            {
                "hostname": name,
                "role": role,
                "platform": platform,
                "model": model,
                "vendor": "Cisco" if platform.startswith("cisco") else "Arista",
                "os_version": "17.9.4a" if platform == "cisco_ios" else "10.3(4a)",
                "site": "campus",
                "management_ip": str(ipaddress.ip_address(0x0A640000 + len(names))),
            }
        )

    def iface(dev: str, name: str, **extra: Any) -> None:
        data["interfaces"].append(
            {
                "device": dev,
                "name": name,
                "admin_status": "up",
                "oper_status": "up",
                "description": extra.pop("description", None),
                **extra,
            }
        )

    def lldp(a: str, ai: str, b: str, bi: str) -> None:
        for local, lport, remote, rport in ((a, ai, b, bi), (b, bi, a, ai)):
            data["neighbors"].append(
                {
                    "protocol": "lldp",
                    "device": local,
                    "interface": lport,
                    "remote_system_name": remote,
                    "remote_port": rport,
                }
            )

    cores = ["core-01", "core-02"]
    for c in cores:
        device(c, "core", "cisco_nxos", "N9K-C93180YC-FX")
    dists = []
    for p in range(n_dist_pairs):
        for side in (1, 2):
            d = f"dist-{p:03d}-{side}"
            dists.append(d)
            device(d, "distribution", "cisco_nxos", "N9K-C93108TC-FX")
            for k, c in enumerate(cores, start=1):
                dport = f"Ethernet1/{49 + k}"
                iface(d, dport, description=f"uplink {c}", mode="routed")
                cport = f"Ethernet1/{(len(dists) - 1) * 2 + k}"
                iface(c, cport, description=f"downlink {d}", mode="routed")
                lldp(d, dport, c, cport)
    macs: list[str] = []
    ips: list[str] = []
    subnets: list[str] = []
    mac_n = 0x005056000000  # VMware OUI: unicast, globally administered
    access_names = []
    per_pair = max(1, -(-n_access // n_dist_pairs))
    for a_i in range(n_access):
        a = f"acc-{a_i:05d}"
        access_names.append(a)
        device(a, "access", "cisco_ios", "C9300-48P")
        pair = min(a_i // per_pair, n_dist_pairs - 1)
        vlan = 100 + (a_i % per_pair) % 3900
        net = ipaddress.ip_network((0x0A000000 + a_i * 256, 24))
        subnets.append(str(net))
        data["vlans"].append({"device": a, "vlan": vlan, "name": f"users-{a_i}"})
        for k, uplink in enumerate(UPLINKS):
            d = dists[pair * 2 + k]
            dport = f"Ethernet1/{1 + (a_i % per_pair)}"
            iface(a, uplink, description=f"uplink {d}", mode="trunk", trunk_vlans=[vlan])
            iface(d, dport, description=f"downlink {a}", mode="trunk", trunk_vlans=[vlan])
            lldp(a, uplink, d, dport)
            svi = f"Vlan{vlan}"
            gw = str(net.network_address + 1 + k)
            if not any(i["device"] == d and i["name"] == svi for i in data["interfaces"][-4:]):
                iface(d, f"{svi}", mode="routed", description=f"users {a}")
                data["ip_addresses"].append({"device": d, "interface": svi, "address": f"{gw}/24"})
        iface(a, f"Vlan{vlan}", mode="routed", description="management")
        data["ip_addresses"].append(
            {"device": a, "interface": f"Vlan{vlan}", "address": f"{net.network_address + 4}/24"}
        )
        for port in range(1, ACCESS_PORTS + 1):
            pname = f"GigabitEthernet1/0/{port}"
            iface(
                a,
                pname,
                description=None if port % 7 == 0 else f"desk {port}",
                mode="access",
                access_vlan=vlan,
            )
            hosts = 2 if port % 12 == 0 else 1
            for _ in range(hosts):
                mac_n += 1
                mac = _mac(mac_n)
                macs.append(mac)
                data["mac_table"].append(
                    {"device": a, "interface": pname, "vlan": vlan, "mac": mac}
                )
                ip = str(net.network_address + 10 + len(macs) % 240)
                if rng.random() < 0.9:
                    ips.append(ip)
                    data["arp"].append(
                        {
                            "device": dists[pair * 2],
                            "interface": f"Vlan{vlan}",
                            "ip": ip,
                            "mac": mac,
                        }
                    )
    # de-duplicate interface records that pairs may have produced twice
    data["interfaces"] = _unique(data["interfaces"], "device", "name")
    data["ip_addresses"] = _unique(data["ip_addresses"], "device", "address")
    data["arp"] = _unique(data["arp"], "device", "ip")
    return NetworkData(names, access_names, macs, ips, subnets, data)


def incremental_change(net: NetworkData, fraction: float = 0.01, *, seed: int = 11) -> Snapshot:
    """A snapshot of ``fraction`` of the access switches where a few things changed."""
    rng = random.Random(seed)
    chosen = set(rng.sample(net.access, max(1, int(len(net.access) * fraction))))
    data = net.data
    when = datetime.fromisoformat(data["collected_at"]) + timedelta(hours=1)

    def mine(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [x for x in items if x["device"] in chosen]

    mac_table = mine(data["mac_table"])
    mac_table = [m for i, m in enumerate(mac_table) if i % 10]  # 10% of endpoints left
    interfaces = [
        dict(x, description=f"{x.get('description') or ''} (moved)") if i % 25 == 0 else x
        for i, x in enumerate(mine(data["interfaces"]))
    ]
    neighbors = mine(data["neighbors"])[1:]  # one uplink lost its LLDP entry
    changed = {
        "snapshot_id": f"{data['snapshot_id']}-incr",
        "source": "bench",
        "collected_at": when.isoformat(),
        "scope": [
            {
                "device": s["device"],
                "facts": ["device", "interfaces", "ip_addresses", "lldp", "mac_table", "vlans"],
            }
            for s in data["scope"]
            if s["device"] in chosen
        ],
        "devices": [d for d in data["devices"] if d["hostname"] in chosen],
        "interfaces": interfaces,
        "ip_addresses": mine(data["ip_addresses"]),
        "neighbors": neighbors,
        "mac_table": mac_table,
        "vlans": mine(data["vlans"]),
    }
    return Snapshot.model_validate(changed)


def _unique(rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """The rows in order, keeping only the first with each value of ``fields``."""
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for row in rows:
        key = tuple(row[f] for f in fields)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept
