"""What the rules read about each collected device, from the graph and the configuration store.

``facts`` variables come from the device's own record (the management settings discovery
read from its configuration, its OS version); they are null unless the settings were read
from a configuration (``settings_source``), so a rule over them is then unknown. ``graph``
variables are counted over the device's links and interfaces; tiers come from roles.

``uplinks_missing_user_vlans`` is the VLAN span: the user VLANs of a device (the access VLANs
of its access ports that are not shut down) that one of its uplinks does not carry. An uplink
carries its trunk's allowed VLANs and native VLAN, or its access VLAN; a port that is a LAG
member and has no switching mode of its own carries what its LAG does. It is not known (null)
when the device has no tier, or an uplink's mode is not known, or a trunk's allowed list is
empty where that does not mean "all VLANs" (Junos prints the members, an empty list says
nothing).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.compliance.configs import ConfigStore
from meshq_graph_engine.compliance.evaluate import DeviceInput, parse_when

__all__ = ["TIERS", "device_facts", "graph_values", "read_inputs"]

#: Role -> tier: a link to a device of a higher tier is an uplink.
TIERS = {
    "access": 1,
    "leaf": 1,
    "edge": 1,
    "distribution": 2,
    "aggregation": 2,
    "spine": 2,
    "core": 3,
    "border": 3,
    "superspine": 3,
}
_DEVICES = (
    "MATCH (d:Device) WHERE d.managed = true "
    "RETURN d.id AS device, d.platform AS platform, d.role AS role, d.os_version AS os_version, "
    "d.settings_source AS settings_source, d.ntp_servers AS ntp_servers, "
    "d.logging_hosts AS logging_hosts, d.aaa_servers AS aaa_servers, "
    "d.snmp_versions AS snmp_versions, d.remote_access AS remote_access, "
    "d.ssh_version AS ssh_version, d.login_banner AS login_banner ORDER BY device"
)
_LINKS = (
    "MATCH (a:Device)-[:HAS_INTERFACE]->(ia:Interface)-[:CONNECTED_TO]->(ib:Interface)"
    "<-[:HAS_INTERFACE]-(b:Device) "
    "RETURN a.id AS a, a.role AS a_role, ia.name AS a_if, ia.mtu AS a_mtu, "
    "ia.speed_mbps AS a_speed, ia.description AS a_desc, "
    "b.id AS b, b.role AS b_role, ib.name AS b_if, ib.mtu AS b_mtu, "
    "ib.speed_mbps AS b_speed, ib.description AS b_desc"
)
_IDLE_PORTS = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
    "WHERE d.managed = true AND i.admin_status = 'up' AND i.oper_status = 'down' "
    "OPTIONAL MATCH (i)-[l:CONNECTED_TO]-(:Interface) "
    "WITH d, i, count(l) AS links WHERE links = 0 "
    "RETURN d.id AS device, i.name AS interface"
)
#: Interface names that are not physical ports (VLAN, loopback, LAG, tunnel, management...).
_VIRTUAL = re.compile(
    r"^(vlan|loopback|lo\d|port-channel|po\d|tunnel|null|nve|bdi|ae\d|irb|vme|em\d|fxp|"
    r"mgmt|management|me\d|vxlan|dialer|virtual|bvi)",
    re.I,
)
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")
_PORTS = (
    "MATCH (d:Device)-[:HAS_INTERFACE]->(i:Interface) "
    "WHERE d.managed = true AND (i.mode IS NOT NULL OR i.lag IS NOT NULL) "
    "RETURN d.id AS device, d.platform AS platform, i.name AS interface, i.mode AS mode, "
    "i.access_vlan AS access_vlan, i.native_vlan AS native_vlan, "
    "i.trunk_vlans AS trunk_vlans, i.lag AS lag, i.admin_status AS admin_status"
)
#: When each device was last collected: the newest of its fact sets.
_COLLECTED = "MATCH (f:FactSet) RETURN f.device AS device, f.collected_at AS collected_at"
#: Platforms whose configuration parsers leave a trunk's VLAN list empty for "all VLANs"
#: (no ``switchport trunk allowed vlan``); elsewhere an empty list is not known.
_EMPTY_TRUNK_IS_ALL = frozenset({"cisco_ios", "cisco_nxos", "arista_eos"})


def _count(values: Any) -> int:
    return len(values) if isinstance(values, list | tuple) else 0


def device_facts(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``facts`` variables of one device record (null where not known)."""
    facts: dict[str, Any] = dict.fromkeys(
        (
            "ntp_servers",
            "logging_hosts",
            "aaa_servers",
            "snmp_v1",
            "snmp_v2c",
            "snmp_v3",
            "ssh_version",
            "ssh",
            "telnet",
            "http",
            "https",
            "login_banner",
            "os_major",
            "os_minor",
        )
    )
    version = _VERSION.search(str(row.get("os_version") or ""))
    if version is not None:
        facts["os_major"] = int(version.group(1))
        facts["os_minor"] = int(version.group(2)) if version.group(2) else None
    if row.get("settings_source") != "configuration":
        return facts
    snmp = set(row.get("snmp_versions") or ())
    access = set(row.get("remote_access") or ())
    facts.update(
        ntp_servers=_count(row.get("ntp_servers")),
        logging_hosts=_count(row.get("logging_hosts")),
        aaa_servers=_count(row.get("aaa_servers")),
        snmp_v1=int("v1" in snmp),
        snmp_v2c=int("v2c" in snmp or "v1" in snmp),
        snmp_v3=int("v3" in snmp),
        ssh_version=row.get("ssh_version"),
        ssh=int("ssh" in access),
        telnet=int("telnet" in access),
        http=int("http" in access),
        https=int("https" in access),
        login_banner=None if row.get("login_banner") is None else int(bool(row["login_banner"])),
    )
    return facts


def _tier(role: Any) -> int | None:
    return TIERS.get(str(role).lower()) if role else None


def graph_values(
    devices: Iterable[Mapping[str, Any]],
    links: Iterable[Mapping[str, Any]],
    idle: Iterable[Mapping[str, Any]],
    ports: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, tuple[dict[str, Any], dict[str, list[str]]]]:
    """Per device: its ``graph`` variables and the facts behind each (``ports``: the
    switching settings of interfaces, for the VLAN span; None: not read, not known)."""
    roles = {d["device"]: d.get("role") for d in devices}
    values: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, list[str]]] = {}
    neighbours: dict[str, set[str]] = defaultdict(set)
    upstream: dict[str, set[str]] = defaultdict(set)
    uplinks: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in roles:
        values[name] = dict.fromkeys(
            (
                "links",
                "upstream_links",
                "mtu_mismatches",
                "speed_mismatches",
                "uplinks_without_description",
                "unused_ports_up",
            ),
            0,
        )
        details[name] = defaultdict(list)

    def side(me: str, mine: Mapping[str, Any], other: str, theirs: Mapping[str, Any]) -> None:
        if me not in values:
            return  # a neighbour not collected
        where = f"{mine['if']} -> {other} {theirs['if']}"
        v, d = values[me], details[me]
        v["links"] += 1
        neighbours[me].add(other)
        tier, their_tier = _tier(roles.get(me)), _tier(theirs["role"])
        if tier is not None and their_tier is not None and their_tier > tier:
            v["upstream_links"] += 1
            upstream[me].add(other)
            uplinks[me].append((str(mine["if"]), where))
            d["upstream_neighbors"].append(where)
        if mine["mtu"] is not None and theirs["mtu"] is not None and mine["mtu"] != theirs["mtu"]:
            v["mtu_mismatches"] += 1
            d["mtu_mismatches"].append(f"{where}: MTU {mine['mtu']} vs {theirs['mtu']}")
        if (
            mine["speed"] is not None
            and theirs["speed"] is not None
            and mine["speed"] != theirs["speed"]
        ):
            v["speed_mismatches"] += 1
            d["speed_mismatches"].append(f"{where}: {mine['speed']} Mb/s vs {theirs['speed']} Mb/s")
        if not (mine["desc"] or "").strip():
            v["uplinks_without_description"] += 1
            d["uplinks_without_description"].append(where)

    for link in links:
        a = {k[2:]: link[k] for k in ("a_if", "a_mtu", "a_speed", "a_desc", "a_role")}
        b = {k[2:]: link[k] for k in ("b_if", "b_mtu", "b_speed", "b_desc", "b_role")}
        if link["a"] == link["b"]:
            continue
        side(link["a"], a, link["b"], b)
        side(link["b"], b, link["a"], a)
    for port in idle:
        name = str(port["interface"] or "")
        if port["device"] in values and "." not in name and not _VIRTUAL.match(name):
            values[port["device"]]["unused_ports_up"] += 1
            details[port["device"]]["unused_ports_up"].append(name)
    out: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {}
    port_rows: dict[str, dict[str, dict[str, Any]]] | None = None
    if ports is not None:
        port_rows = defaultdict(dict)
        for port in ports:
            port_rows[port["device"]][str(port["interface"])] = dict(port)
    for name in roles:
        v = values[name]
        v["neighbors"] = len(neighbours[name])
        v["upstream_neighbors"] = len(upstream[name]) if _tier(roles[name]) is not None else None
        if v["upstream_neighbors"] is None:
            v["upstream_links"] = None
        v["uplinks_missing_user_vlans"] = None
        if v["upstream_neighbors"] is not None and port_rows is not None:
            missing, why = _vlan_span(port_rows.get(name, {}), uplinks[name])
            v["uplinks_missing_user_vlans"] = missing
            details[name]["uplinks_missing_user_vlans"].extend(why)
        out[name] = (v, {k: sorted(x)[:50] for k, x in details[name].items()})
    return out


def _carried(port: Mapping[str, Any]) -> set[int] | None:
    """The VLANs a port carries (None: not known)."""
    mode = port.get("mode")
    if mode == "access":
        return {int(port.get("access_vlan") or 1)}
    if mode == "routed":
        return set()
    if mode != "trunk":
        return None
    allowed = [int(v) for v in port.get("trunk_vlans") or ()]
    if not allowed:
        if port.get("platform") not in _EMPTY_TRUNK_IS_ALL:
            return None
        allowed = list(range(1, 4095))
    carried = set(allowed)
    if port.get("native_vlan"):
        carried.add(int(port["native_vlan"]))
    return carried


def _vlan_span(
    ports: Mapping[str, Mapping[str, Any]], uplinks: list[tuple[str, str]]
) -> tuple[int | None, list[str]]:
    """How many uplinks miss one of the device's user VLANs, and which VLANs each misses."""
    mine = {name for name, _ in uplinks}
    user = {
        int(p.get("access_vlan") or 1)
        for name, p in ports.items()
        if p.get("mode") == "access" and p.get("admin_status") != "down" and name not in mine
    }
    missing = 0
    why: list[str] = []
    for name, where in sorted(set(uplinks)):
        port = ports.get(name, {})
        if port.get("mode") is None and port.get("lag"):
            port = ports.get(str(port["lag"]), {})  # a LAG member: what its LAG carries
        carried = _carried(port)
        if carried is None:
            return None, []
        lacking = sorted(user - carried)
        if lacking:
            missing += 1
            shown = ", ".join(str(v) for v in lacking[:20]) + (" ..." if len(lacking) > 20 else "")
            why.append(f"{where}: does not carry VLAN {shown}")
    return missing, why


async def read_inputs(store: GraphStore, configs: ConfigStore | None) -> list[DeviceInput]:
    """Every collected device, with what the rules read about it."""
    devices = await store.execute(_DEVICES)
    links = await store.execute(_LINKS)
    idle = await store.execute(_IDLE_PORTS)
    ports = await store.execute(_PORTS)
    graph = graph_values(devices, links, idle, ports)
    collected: dict[str, str] = {}
    for fact_set in await store.execute(_COLLECTED):
        when = parse_when(fact_set.get("collected_at"))
        known = parse_when(collected.get(fact_set["device"]))
        if when is not None and (known is None or when > known):
            collected[fact_set["device"]] = str(fact_set["collected_at"])
    inputs = []
    for row in devices:
        values, details = graph[row["device"]]
        meta = configs.meta(row["device"]) if configs is not None else None
        inputs.append(
            DeviceInput(
                device=row["device"],
                platform=row.get("platform"),
                role=row.get("role"),
                os_version=row.get("os_version"),
                facts=device_facts(row),
                graph=values,
                graph_evidence=details,
                config=configs.read(row["device"]) if configs is not None else None,
                config_collected_at=(meta or {}).get("collected_at"),
                last_collected=collected.get(row["device"]),
            )
        )
    return inputs
