"""Routes worked out from NX-OS, EOS and Junos configurations equal the routes real routers
printed (25 labs of Batfish's lab validation, tests/fixtures/real/routing, see its
PROVENANCE.md; some with IOS routers beside them, one with five vendors).

For every lab, each router's configuration alone is read and the OSPF and BGP routes (and
aggregates) of all of them together are worked out; the routers' printed tables are read with
the product's own parsers (``show ip route [vrf all]``, text or ``| json``; Junos ``show route
| display json``). In the default VRF, every printed OSPF, BGP and aggregate route must be
derived with the same protocol and next hops, and the same distance and metric wherever the
table prints them; and nothing else may be derived. Where a lab differs, the difference is
listed below with its reason, and the test asserts exactly that difference.

For the Junos routers, the BGP path each one selected is compared too (local preference,
MED, AS path, and the communities where ``show route protocol bgp detail`` was captured):
that is what the labs on Junos policy (``local-preference add``, terms that fall through,
policy chains, community deletion, conflicting actions) are about.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from network_discovery.derive.routing import BgpRoute, RoutedDevice, derive_routes
from network_discovery.parsers._device import parse_device

LABS = Path(__file__).parents[2] / "fixtures" / "real" / "routing"
TABLES = (
    "show_ip_route.txt",
    "show_ip_route_vrf_all.txt",
    "show_ip_route_vrf_all_|_json.txt",
    "show_route_|_display_json.txt",
)
DETAIL = "show_route_protocol_bgp_detail_|_display_json.txt"
PROTOCOLS = ("ospf", "bgp", "aggregate")
#: (protocol, distance, metric, next-hop addresses)
Row = tuple[str, int | None, int | None, frozenset[str]]


def _hops(*addresses: str) -> frozenset[str]:
    return frozenset(addresses)


#: The printed OSPF/BGP routes each lab's configurations give exactly.
MATCHED = {
    "eos_bgp_aggregate": 4,
    "eos_ceos_ebgp": 2,
    "eos_ebgp_loop_prevention": 13,
    "eos_ibgp_local_preference": 4,
    "eos_multicast_base": 16,
    "eos_ospf_bgp": 3,
    "eos_private_asn": 104,
    "eos_rm_undefined_continue": 3,
    "eos_undefined_route_map": 17,
    "ios_nxos_bgp_local_as": 3,
    "junos_as_path_acl": 5,
    "junos_community_delete": 20,
    "junos_cross_term_match": 4,
    "junos_ebgp_loop_prevention": 22,
    "junos_policy_chain_visibility": 3,
    "junos_rmw_localpref": 6,
    "junos_then_action_conflicts": 168,
    "junos_undefined_prefix_list_export": 11,
    "junos_undefined_prefix_list_import": 9,
    "mix_vendor_bgp_vrf": 40,
    "nxos_ebgp_loop_prevention": 22,
    "nxos_n9kv_ebgp": 2,
    "nxos_redistribution": 17,
    "nxos_undefined_route_map": 11,
    "ospf_summarization": 18,
}

#: (device, prefix) -> (printed, derived), where they differ for a reason the configurations
#: cannot show or that the computation leaves out (said in the device's notes).
DIFFERENCES: dict[str, dict[tuple[str, str], tuple[Row | None, Row | None]]] = {
    # np01 and np02 both aggregate 10.203.0.0/16 and redistribute it into OSPF towards dlh15,
    # so each also learns the other's as an OSPF external route (distance 110, better than its
    # own BGP aggregate's 200). Which of the two keeps its aggregate depends on which came
    # first (the lab's README: "np02 will remove BGP aggregate"); the configurations are
    # symmetrical, so the computation gives both the external route, and dlh15 both paths.
    "eos_ospf_bgp": {
        ("dlh15", "10.203.0.0/16"): (
            ("ospf", 110, 1, _hops("192.168.1.1")),
            ("ospf", 110, 1, _hops("192.168.1.1", "192.168.2.1")),
        ),
        ("np01", "10.203.0.0/16"): (
            ("aggregate", None, None, _hops()),
            ("ospf", 110, 1, _hops("192.168.1.2")),
        ),
    },
    # d3_eigrp's loopback reaches d1_redist over EIGRP, which is not computed (d1's notes say
    # so); d1 redistributes it into BGP and OSPF, so d4, d5 and d6 lack it.
    "nxos_redistribution": {
        ("d4_ebgp", "192.168.123.3/32"): (("bgp", 20, 130816, _hops("10.14.31.1")), None),
        ("d5_ospf", "192.168.123.3/32"): (("ospf", 110, 20, _hops("10.15.41.1")), None),
        ("d6_ibgp", "192.168.123.3/32"): (("bgp", 200, 130816, _hops("10.16.51.1")), None),
    },
    # 192.168.123.5/32 is the loopback of the lab's sixth router, D-Cumulus (Cumulus Linux,
    # an /etc/network/interfaces and FRR file), which this product does not read.
    "mix_vendor_bgp_vrf": {
        ("d-aristaeos", "192.168.123.5/32"): (("bgp", 200, 0, _hops("10.10.30.1")), None),
        ("d-ios", "192.168.123.5/32"): (("bgp", 20, 0, _hops("10.10.10.1")), None),
        ("d-iosxe", "192.168.123.5/32"): (("bgp", 20, 0, _hops("10.10.40.2")), None),
        ("d-juniperjunos", "192.168.123.5/32"): (("bgp", 170, None, _hops("10.10.50.1")), None),
        ("d-nxos", "192.168.123.5/32"): (("bgp", 20, 0, _hops("10.10.20.1")), None),
    },
}


def _platform(folder: Path) -> str:
    return (folder / "meta.yaml").read_text().split(":", 1)[1].strip()


def _routers(lab: str) -> list[Path]:
    return sorted(p for p in (LABS / lab).iterdir() if p.is_dir())


def _config(folder: Path) -> Path:
    return next(
        p for p in folder.iterdir() if "running-config" in p.name or "display_set" in p.name
    )


def _row(route: Any) -> Row:
    hops = frozenset(h.address or "" for h in route.next_hops)
    return (str(route.protocol), route.distance, route.metric, hops)


@functools.cache
def _lab(lab: str) -> tuple[dict[str, dict[str, Row]], dict[str, dict[str, Row]], Any]:
    """(printed, derived, each router's notes and best BGP paths) of a lab."""
    devices: list[RoutedDevice] = []
    printed: dict[str, dict[str, Row]] = {}
    for folder in _routers(lab):
        platform = _platform(folder)
        config = _config(folder)
        facts, report = parse_device(folder.name, platform, {config.name: config})
        assert report.errors == [], report.summary()
        devices.append(
            RoutedDevice(
                facts.device, facts.routing, facts.interfaces, facts.ip_addresses, facts.routes
            )
        )
        tables = {n: folder / n for n in TABLES if (folder / n).exists()}
        shown, report = parse_device(folder.name, platform, tables)
        assert report.errors == [], report.summary()
        printed[facts.device] = {
            r.prefix: _row(r) for r in shown.routes if not r.vrf and str(r.protocol) in PROTOCOLS
        }
    paths: dict[str, dict[ipaddress.IPv4Network, BgpRoute]] = {}
    derived: dict[str, dict[str, Row]] = defaultdict(dict)
    for device, routes in derive_routes(devices, paths).items():
        derived[device] = {r.prefix: _row(r) for r in routes}
    notes = {d.device: d.notes for d in devices}
    return printed, derived, (notes, paths)


def _same(printed: Row, derived: Row) -> bool:
    protocol, distance, metric, hops = printed
    return (
        (protocol, hops) == (derived[0], derived[3])
        and distance in (None, derived[1])
        and metric in (None, derived[2])
    )


def _compare(lab: str) -> tuple[int, dict[tuple[str, str], tuple[Row | None, Row | None]]]:
    printed, derived, _ = _lab(lab)
    matched = 0
    differences: dict[tuple[str, str], tuple[Row | None, Row | None]] = {}
    for device, table in printed.items():
        mine = derived.get(device, {})
        for prefix in sorted(set(table) | set(mine)):
            seen, worked = table.get(prefix), mine.get(prefix)
            if seen is not None and worked is not None and _same(seen, worked):
                matched += 1
            else:
                differences[(device, prefix)] = (seen, worked)
    return matched, differences


def _dropped_by_notes(lab: str, router: str) -> set[str]:
    """The prefixes of a Junos router's import terms whose ``then`` actions its notes say are
    not computed (the computation leaves their routes out)."""
    _, _, (notes, _) = _lab(lab)
    terms = {
        m.group(1)
        for n in notes[router]
        if (m := re.match(r"policy-statement \S+ term (\S+): then .* is not computed", n))
    }
    text = _config(LABS / lab / router).read_text()
    found = re.findall(r"term (\S+) from route-filter (\S+) exact", text)
    return {prefix for term, prefix in found if term in terms}


@pytest.mark.parametrize("lab", sorted(MATCHED))
def test_derived_equals_printed(lab: str) -> None:
    matched, differences = _compare(lab)
    if lab == "junos_then_action_conflicts":
        # dut's import terms with actions not computed (metric2, metric igp / expression,
        # next-hop discard, install-nexthop, multipath-resolve): their routes are left out on
        # dut and on collector behind it, and the notes say which terms
        dropped = _dropped_by_notes(lab, "dut")
        assert len(dropped) == 16
        expected = {(d, p) for d in ("dut", "collector") for p in dropped}
        assert set(differences) == expected
        assert all(worked is None for _, worked in differences.values())
    else:
        assert differences == DIFFERENCES.get(lab, {})
    assert matched == MATCHED[lab]


_CONTEXT = re.compile(r"^\s*\{(?:master|backup|primary|secondary|linecard)(?::[\w-]+)?\}\s*$")


def _json_documents(path: Path) -> list[Any]:
    """Junos ``| display json`` output: one or more documents, with ``{master:0}`` lines."""
    lines = path.read_text().splitlines()
    text = "\n".join(line for line in lines if not _CONTEXT.match(line)).strip()
    decoder, at, out = json.JSONDecoder(), 0, []
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        out.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return out


def _leaf(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value[0].get("data") if value else None


def _printed_paths(folder: Path) -> dict[str, tuple[int, int, tuple[int, ...], Any]]:
    """The active BGP routes of ``inet.0`` a Junos router printed: prefix -> (local
    preference, MED, AS path, communities or None where not printed)."""
    detail = (folder / DETAIL).exists()
    path = folder / (DETAIL if detail else "show_route_|_display_json.txt")
    out: dict[str, tuple[int, int, tuple[int, ...], Any]] = {}
    for document in _json_documents(path):
        for table in document["route-information"][0]["route-table"]:
            if _leaf(table, "table-name") != "inet.0":
                continue
            for route in table.get("rt", []):
                prefix = _leaf(route, "rt-destination") or ""
                if "/" not in prefix:
                    prefix = f"{prefix}/{_leaf(route, 'rt-prefix-length')}"
                for entry in route["rt-entry"]:
                    active = _leaf(entry, "active-tag") == "*" or "current-active" in entry
                    if _leaf(entry, "protocol-name") != "BGP" or not active:
                        continue
                    words = (_leaf(entry, "as-path") or "").replace("AS path:", "").split()
                    med = _leaf(entry, "med") or _leaf(entry, "metric") or "0"
                    communities = frozenset(
                        c["data"]
                        for group in entry.get("communities", [])
                        for c in group["community"]
                    )
                    out[prefix] = (
                        int(_leaf(entry, "local-preference") or 100),
                        int(med),
                        tuple(int(w) for w in words if w.isdigit()),
                        communities if detail else None,
                    )
    return out


#: The labs with Junos routers running BGP (ospf_summarization's runs OSPF only).
JUNOS_LABS = sorted(
    lab
    for lab in MATCHED
    if lab != "ospf_summarization" and any(_platform(f) == "juniper_junos" for f in _routers(lab))
)


@pytest.mark.parametrize("lab", JUNOS_LABS)
def test_junos_bgp_attributes(lab: str) -> None:
    """Each Junos router's best BGP path carries the attributes the router printed."""
    _, _, (_, paths) = _lab(lab)
    compared = 0
    differences = {}
    for folder in _routers(lab):
        if _platform(folder) != "juniper_junos":
            continue
        mine = paths.get(folder.name.lower(), {})
        for prefix, (local_pref, med, as_path, communities) in _printed_paths(folder).items():
            best = mine.get(ipaddress.IPv4Network(prefix))
            if best is None:
                differences[(folder.name, prefix)] = "not derived"
                continue
            got: tuple[Any, ...] = (best.local_pref, best.med, best.as_path)
            want: tuple[Any, ...] = (local_pref, med, as_path)
            if communities is not None:  # printed with show route protocol bgp detail
                got, want = (*got, best.communities), (*want, communities)
            compared += 1
            if got != want:
                differences[(folder.name, prefix)] = f"printed {want}, derived {got}"
    if lab == "junos_then_action_conflicts":
        dropped = _dropped_by_notes(lab, "dut")
        assert differences == {(d, p): "not derived" for d in ("dut", "collector") for p in dropped}
        assert compared == 168
    elif lab == "mix_vendor_bgp_vrf":
        assert differences == {("D-JuniperJunos", "192.168.123.5/32"): "not derived"}
    else:
        assert differences == {}
        assert compared > 0


def test_vendor_defaults_read() -> None:
    """The defaults each reader sets, as the labs above need them."""
    configs = {}
    for folder in _routers("mix_vendor_bgp_vrf"):
        config = _config(folder)
        facts, _ = parse_device(folder.name, _platform(folder), {config.name: config})
        configs[folder.name] = facts.routing
    eos, nxos, junos = (
        configs["D-AristaEOS"].bgp,
        configs["D-NXOS"].bgp,
        configs["D-JuniperJunos"].bgp,
    )
    assert (eos.distance_ebgp, eos.distance_ibgp, eos.distance_local) == (200, 200, 200)
    assert (nxos.distance_ebgp, nxos.distance_ibgp, nxos.distance_local) == (20, 200, 220)
    assert (junos.distance_ebgp, junos.distance_ibgp) == (170, 170)
    assert eos.local_weight == 0 and not eos.advertise_inactive and eos.aggregate_from_rib
    assert junos.export_rib and not junos.advertise_inactive
    assert configs["D-AristaEOS"].undefined_route_map_permits
    assert not configs["D-NXOS"].undefined_route_map_permits
    assert all(n.send_community for n in junos.neighbors.values())
    assert all(n.peer_as_check for n in junos.neighbors.values())
    assert all(n.peer_as_check for n in nxos.neighbors.values())
    assert not any(n.peer_as_check for n in eos.neighbors.values())
