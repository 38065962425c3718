"""Routing tables and firewall policy of the demo network.

The campus distribution switches send everything else to both cores (ECMP); the cores reach
the campus VLANs through both distribution switches, the data-centre ranges through
``fw-dc-01`` and the internet through ``fw-edge-01``, and discard the rest of 10.0.0.0/8.
``fw-edge-01`` (PAN-OS) sends the internet to both border routers (ECMP); ``fw-dc-01`` (SRX)
reaches the data-centre ranges through the two border leaves. docs/firewall-ingest.md lists
the flows these policies allow and deny.
"""

from __future__ import annotations

import ipaddress

from network_discovery.demo._builder import DemoNet

__all__ = ["add_firewalls", "add_routing"]

_CAMPUS = ("10.1.0.0/16", "10.2.0.0/16")
_DC = ("10.110.0.0/16", "10.120.0.0/16", "10.130.0.0/16")
_ROUTED = (
    "hq-dist-01", "hq-dist-02", "hq-core-01", "hq-core-02", "fw-edge-01", "fw-dc-01",
    "hq-border-01", "hq-border-02", "dc-leaf-05", "dc-leaf-06",
)  # fmt: skip


def _connected(net: DemoNet, host: str) -> None:
    """The connected route of every IPv4 address configured on the device."""
    seen: set[tuple[str | None, str]] = set()
    for fact in net.ip_addresses:
        address = ipaddress.ip_interface(fact["address"])
        key = (fact.get("vrf"), str(address.network))
        if fact["device"] != host or address.version != 4 or key in seen:
            continue
        seen.add(key)
        via = f"via {fact['interface']}"
        net.route(host, key[1], "connected", via, vrf=fact.get("vrf"), distance=0, metric=0)


def add_routing(net: DemoNet) -> None:
    for host in _ROUTED:
        _connected(net, host)
    for dist, ports, cores in (
        ("hq-dist-01", ("Hu1/0/25", "Hu1/0/26"), ("10.0.0.0", "10.0.0.2")),
        ("hq-dist-02", ("Hu1/0/25", "Hu1/0/26"), ("10.0.0.4", "10.0.0.6")),
    ):
        hops = [f"{core} via {port}" for core, port in zip(cores, ports, strict=True)]
        net.route(dist, "0.0.0.0/0", "ospf", *hops, distance=110, metric=1)
    for core, dists, fw_dc, fw_edge in (
        ("hq-core-01", ("10.0.0.1", "10.0.0.5"), "10.0.1.5", "10.0.1.1"),
        ("hq-core-02", ("10.0.0.3", "10.0.0.7"), "10.0.1.7", "10.0.1.3"),
    ):
        for prefix in _CAMPUS:
            hops = [f"{d} via Eth1/{49 + i}" for i, d in enumerate(dists)]
            net.route(core, prefix, "ospf", *hops, distance=110, metric=2)
        for prefix in _DC:
            net.route(core, prefix, "ospf", f"{fw_dc} via Eth1/48", distance=110, metric=20)
        net.route(core, "0.0.0.0/0", "ospf", f"{fw_edge} via Eth1/47", distance=110, metric=1)
        net.route(core, "10.0.0.0/8", "static", distance=254, metric=0)  # discard the rest
    net.route(
        "fw-edge-01", "0.0.0.0/0", "static",
        "10.0.2.0 via ethernet1/1", "10.0.2.2 via ethernet1/2", distance=10, metric=0,
    )  # fmt: skip
    net.route(
        "fw-edge-01", "10.0.0.0/8", "static",
        "10.0.1.0 via ethernet1/3", "10.0.1.2 via ethernet1/4", distance=10, metric=0,
    )  # fmt: skip
    for prefix in (*_CAMPUS, "0.0.0.0/0"):
        hops = ["10.0.1.4 via xe-0/0/0.0", "10.0.1.6 via xe-0/0/1.0"]
        net.route("fw-dc-01", prefix, "ospf", *hops, distance=10, metric=2)
    for prefix in _DC:
        hops = ["10.100.1.1 via xe-0/0/2.0", "10.100.1.3 via xe-0/0/3.0"]
        net.route("fw-dc-01", prefix, "bgp", *hops, distance=170, metric=0)
    net.route("dc-leaf-05", "0.0.0.0/0", "bgp", "10.100.1.0 via Et48", distance=200, metric=0)
    net.route("dc-leaf-06", "0.0.0.0/0", "bgp", "10.100.1.2 via Et48", distance=200, metric=0)
    net.route("hq-border-01", "0.0.0.0/0", "bgp", "203.0.113.1 via Te0/1/0", distance=20)
    net.route("hq-border-01", "10.0.0.0/8", "static", "10.0.2.1 via Gi0/0/1", distance=1)
    net.route("hq-border-02", "0.0.0.0/0", "bgp", "198.51.100.1 via et-0/0/0.0", distance=170)
    net.route("hq-border-02", "10.0.0.0/8", "static", "10.0.2.3 via xe-0/1/0.0", distance=5)


def _svc(protocol: str, *ports: int) -> list[dict[str, object]]:
    return [{"protocol": protocol, "dst_ports": [{"lo": p, "hi": p} for p in ports]}]


def _edge(net: DemoNet) -> None:
    fw = "fw-edge-01"
    net.firewall("firewall_zones", fw, name="trust", interfaces=["ethernet1/3", "ethernet1/4"])
    net.firewall("firewall_zones", fw, name="untrust", interfaces=["ethernet1/1", "ethernet1/2"])
    net.firewall(
        "firewall_rulesets", fw, name="security", kind="zone_policy", default_action="deny",
        default_text="interzone-default: deny", bindings=[{"direction": "transit"}],
    )  # fmt: skip
    rules = [
        ("allow-web-out", "permit", "trust", "untrust", list(_CAMPUS), [],
         _svc("tcp", 80, 443), "application [ web-browsing ssl ] service application-default"),
        ("allow-https-guest", "permit", "trust", "untrust", ["10.1.10.0/24"], [],
         _svc("tcp", 443), "service service-https"),
        ("allow-dns-out", "permit", "trust", "untrust", ["10.0.0.0/8"],
         ["8.8.8.8/32", "8.8.4.4/32"], _svc("udp", 53), "application dns"),
        ("block-smb-out", "deny", "trust", "untrust", [], [], _svc("tcp", 139, 445),
         "service [ tcp-139 tcp-445 ]"),
        ("allow-ipsec-in", "permit", "untrust", "trust", [], ["10.255.0.21/32"],
         _svc("udp", 500, 4500), "application ipsec"),
        ("deny-all-log", "deny", "", "", [], [], [], "service any"),
    ]  # fmt: skip
    for position, (name, action, src, dst, sources, destinations, services, what) in enumerate(
        rules, start=1
    ):
        zones = f"from {src or 'any'} to {dst or 'any'}"
        net.firewall(
            "firewall_rules", fw, ruleset="security", position=position, name=name,
            action=action, src_zones=[src] if src else [], dst_zones=[dst] if dst else [],
            sources=sources, destinations=destinations, services=services,
            source_names=sources or ["any"], destination_names=destinations or ["any"],
            log=action == "deny", hit_count=[48213, 0, 9120, 311, 75, 1290][position - 1],
            text=f"set rulebase security rules {name} {zones} {what} action "
            f"{'allow' if action == 'permit' else action}",
        )  # fmt: skip


def _dc(net: DemoNet) -> None:
    fw = "fw-dc-01"
    zones = {"campus": ["xe-0/0/0.0", "xe-0/0/1.0"], "dc": ["xe-0/0/2.0", "xe-0/0/3.0"],
             "mgmt": ["fxp0.0"]}  # fmt: skip
    for name, interfaces in zones.items():
        net.firewall("firewall_zones", fw, name=name, interfaces=interfaces)
    net.firewall(
        "firewall_rulesets", fw, name="security-policies", kind="zone_policy",
        default_action="deny", default_text="set security policies default-policy deny-all",
        bindings=[{"direction": "transit"}],
    )  # fmt: skip
    objects = {"WEB-TIER": ["10.110.0.0/24"], "DB-TIER": ["10.130.0.0/24"],
               "CAMPUS": list(_CAMPUS), "IT-ADMINS": ["10.1.40.0/24"]}  # fmt: skip
    for name, addresses in objects.items():
        net.firewall("firewall_objects", fw, name=name, kind="address", addresses=addresses,
                     members=addresses)  # fmt: skip
    rules = [
        ("campus-to-web", "permit", "campus", "dc", "CAMPUS", list(_CAMPUS), "WEB-TIER",
         ["10.110.0.0/24"], ["junos-http", "junos-https"], _svc("tcp", 80) + _svc("tcp", 443),
         True),
        ("admin-ssh", "permit", "campus", "dc", "IT-ADMINS", ["10.1.40.0/24"], "any", [],
         ["junos-ssh"], _svc("tcp", 22), True),
        ("campus-to-db-deny", "deny", "campus", "dc", "any", [], "DB-TIER", ["10.130.0.0/24"],
         ["any"], [], True),
        ("legacy-telnet", "permit", "campus", "dc", "any", [], "any", [], ["junos-telnet"],
         _svc("tcp", 23), False),
        ("dc-to-campus-dns", "permit", "dc", "campus", "any", [], "any", [], ["junos-dns-udp"],
         _svc("udp", 53), True),
    ]  # fmt: skip
    for position, (name, action, src, dst, sname, sources, dname, destinations, apps, services,
                   enabled) in enumerate(rules, start=1):  # fmt: skip
        head = f"set security policies from-zone {src} to-zone {dst} policy {name}"
        lines = [f"{head} match source-address {sname}",
                 f"{head} match destination-address {dname}",
                 *(f"{head} match application {a}" for a in apps),
                 f"{head} then {action}"]  # fmt: skip
        if not enabled:
            lines.append(
                f"deactivate security policies from-zone {src} to-zone {dst} policy {name}"
            )
        net.firewall(
            "firewall_rules", fw, ruleset="security-policies", position=position, name=name,
            action=action, src_zones=[src], dst_zones=[dst], sources=sources,
            destinations=destinations, source_names=[sname], destination_names=[dname],
            services=services, service_names=apps, enabled=enabled, log=action == "deny",
            text="\n".join(lines),
        )  # fmt: skip


def add_firewalls(net: DemoNet) -> None:
    _edge(net)
    _dc(net)
