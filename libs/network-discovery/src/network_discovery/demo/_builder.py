"""A small builder that assembles the demo network as raw snapshot facts (plain dicts).

Facts are written in each platform's own notation (see :mod:`._style`); nothing here is
random, so the same code always yields the same snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from network_discovery.demo._style import STYLES, Style

__all__ = ["Cable", "DemoNet"]

Fact = dict[str, Any]


@dataclass(frozen=True)
class Cable:
    """An inter-switch link, with the names each end uses for its own port."""

    a: str
    a_port: str
    b: str
    b_port: str
    cdp: bool = False
    lldp_port_id: dict[str, str] = field(default_factory=dict)


@dataclass
class _Node:
    device: Fact
    kinds: tuple[str, ...]
    chassis: str
    system_description: str
    capabilities: tuple[str, ...]
    cdp_id: str | None


class DemoNet:
    """Collects devices and their facts; :meth:`facts` returns the snapshot's fact lists."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self.interfaces: dict[tuple[str, str], Fact] = {}
        self.ip_addresses: list[Fact] = []
        self.vlans: list[Fact] = []
        self.neighbors: list[Fact] = []
        self.arp: list[Fact] = []
        self.mac_table: list[Fact] = []
        self.bgp_peers: list[Fact] = []
        self.cables: list[Cable] = []
        self.routes: list[Fact] = []
        self.policy: dict[str, list[Fact]] = {
            "firewall_zones": [],
            "firewall_rulesets": [],
            "firewall_rules": [],
            "firewall_objects": [],
        }

    # --- devices and their own facts --------------------------------------------------

    def device(
        self,
        hostname: str,
        *,
        kinds: tuple[str, ...],
        chassis: str,
        system_description: str,
        capabilities: tuple[str, ...] = ("bridge", "router"),
        cdp_id: str | None = None,
        **fields: Any,
    ) -> None:
        record: Fact = {"hostname": hostname}
        record.update({k: v for k, v in fields.items() if v is not None})
        self.nodes[hostname] = _Node(
            record, kinds, chassis, system_description, capabilities, cdp_id
        )

    def style(self, hostname: str) -> Style:
        return STYLES[self.nodes[hostname].device["platform"]]

    def port(self, hostname: str, name: str, **fields: Any) -> None:
        """Add an interface (or add fields to one), named as the device names it."""
        entry = self.interfaces.setdefault((hostname, name), {"device": hostname, "name": name})
        entry.update({k: v for k, v in fields.items() if v is not None})

    def ip(self, hostname: str, interface: str, address: str, vrf: str | None = None) -> None:
        fact: Fact = {"device": hostname, "interface": interface, "address": address}
        if vrf:
            fact["vrf"] = vrf
        self.ip_addresses.append(fact)

    def vlan(self, hostname: str, vlan: int, name: str) -> None:
        self.vlans.append({"device": hostname, "vlan": vlan, "name": name})

    def learn(self, hostname: str, port: str, vlan: int, mac: str, kind: str = "dynamic") -> None:
        """A MAC-table entry, printed the way ``hostname`` prints it."""
        style = self.style(hostname)
        fact: Fact = {
            "device": hostname,
            "interface": style.mac_table_port(port),
            "vlan": vlan,
            "mac": style.mac(mac),
        }
        if kind != "dynamic":
            fact["type"] = kind
        self.mac_table.append(fact)

    def arp_entry(
        self, hostname: str, interface: str, ip: str, mac: str, vrf: str | None = None
    ) -> None:
        fact: Fact = {
            "device": hostname,
            "interface": interface,
            "ip": ip,
            "mac": self.style(hostname).mac(mac),
        }
        if vrf:
            fact["vrf"] = vrf
        self.arp.append(fact)

    def bgp(self, hostname: str, **fields: Any) -> None:
        fact: Fact = {"device": hostname}
        fact.update({k: v for k, v in fields.items() if v is not None})
        self.bgp_peers.append(fact)

    def claim(self, hostname: str, kind: str) -> None:
        """Add a fact kind to the device's scope."""
        node = self.nodes[hostname]
        if kind not in node.kinds:
            node.kinds = (*node.kinds, kind)

    def route(self, hostname: str, prefix: str, protocol: str, *hops: str, **fields: Any) -> None:
        """A route; a hop is ``"address"``, ``"address via interface"`` or ``"via interface"``."""
        next_hops = []
        for hop in hops:
            address, _, interface = hop.partition("via")
            entry = {"address": address.strip(), "interface": interface.strip()}
            next_hops.append({k: v for k, v in entry.items() if v})
        fact: Fact = {"device": hostname, "prefix": prefix, "protocol": protocol}
        fact.update({k: v for k, v in fields.items() if v is not None})
        fact["next_hops"] = next_hops
        self.routes.append(fact)
        self.claim(hostname, "routes")

    def firewall(self, facts: str, hostname: str, /, **fields: Any) -> None:
        """A zone, rule set, rule or object (``facts``: the snapshot list it goes in)."""
        self.policy[facts].append({"device": hostname, **fields})
        self.claim(hostname, "firewall")

    # --- neighbours -------------------------------------------------------------------

    def cable(
        self, a: str, a_port: str, b: str, b_port: str, *, cdp: bool = False, **port_ids: str
    ) -> None:
        """Two managed devices cabled together: both run LLDP (and CDP when ``cdp``)."""
        self.cables.append(Cable(a, a_port, b, b_port, cdp, dict(port_ids)))

    def seen(self, hostname: str, port: str, **remote: Any) -> None:
        """An LLDP entry for a neighbour that is not collected (phone, AP, server)."""
        fact: Fact = {
            "protocol": remote.pop("protocol", "lldp"),
            "device": hostname,
            "interface": self.style(hostname).lldp_local(port),
        }
        fact.update({k: v for k, v in remote.items() if v is not None and v != ()})
        if "capabilities" in fact:
            fact["capabilities"] = list(fact["capabilities"])
        self.neighbors.append(fact)

    def _lldp(self, local: str, local_port: str, remote: str, remote_port: str, pid: str) -> Fact:
        me, peer = self.style(local), self.style(remote)
        node = self.nodes[remote]
        fact: Fact = {
            "protocol": "lldp",
            "device": local,
            "interface": me.lldp_local(local_port),
            "remote_system_name": peer.system_name(remote),
            "remote_port": pid or peer.port_id(remote_port),
        }
        description = self.interfaces.get((remote, remote_port), {}).get("description")
        if description:
            fact["remote_port_description"] = description
        fact["remote_chassis_id"] = me.mac(node.chassis)
        if node.device.get("management_ip"):
            fact["remote_management_address"] = node.device["management_ip"]
        fact["remote_description"] = node.system_description
        fact["capabilities"] = list(node.capabilities)
        return fact

    def _cdp(self, local: str, local_port: str, remote: str, remote_port: str) -> Fact:
        node = self.nodes[remote]
        fact: Fact = {
            "protocol": "cdp",
            "device": local,
            "interface": local_port,
            "remote_system_name": node.cdp_id or remote,
            "remote_port": remote_port,
            "remote_platform": "cisco " + node.device["model"],
            "remote_description": node.system_description,
            "capabilities": ["igmp", "router", "switch"],
        }
        if node.device.get("management_ip"):
            fact["remote_management_address"] = node.device["management_ip"]
        return fact

    def _cable_facts(self) -> list[Fact]:
        facts: list[Fact] = []
        for c in self.cables:
            facts.append(self._lldp(c.a, c.a_port, c.b, c.b_port, c.lldp_port_id.get(c.b, "")))
            facts.append(self._lldp(c.b, c.b_port, c.a, c.a_port, c.lldp_port_id.get(c.a, "")))
            if c.cdp:
                facts.append(self._cdp(c.a, c.a_port, c.b, c.b_port))
                facts.append(self._cdp(c.b, c.b_port, c.a, c.a_port))
        return facts

    # --- output -----------------------------------------------------------------------

    def facts(self) -> dict[str, list[Fact]]:
        """The fact lists, each sorted by device so the snapshot reads device by device."""
        order = {name: i for i, name in enumerate(self.nodes)}

        def by_device(facts: list[Fact]) -> list[Fact]:
            return sorted(facts, key=lambda f: order[f["device"]])

        scope = [{"device": n, "facts": list(node.kinds)} for n, node in self.nodes.items()]
        return {
            "scope": scope,
            "devices": [node.device for node in self.nodes.values()],
            "interfaces": by_device(list(self.interfaces.values())),
            "ip_addresses": by_device(self.ip_addresses),
            "vlans": by_device(self.vlans),
            "neighbors": by_device(self._cable_facts() + self.neighbors),
            "arp": by_device(self.arp),
            "mac_table": by_device(self.mac_table),
            "bgp_peers": by_device(self.bgp_peers),
            **{name: by_device(facts) for name, facts in self.policy.items()},
            "routes": by_device(self.routes),
        }
