"""Firewall: the rules each device enforces, by device and by zone pair, the deny rules and
how broad they are, and the lines of every filter that can never match (bound or not).

Zones: a rule's own zones where it names them; otherwise the zones of the interfaces its rule
set is bound to (an ASA or IOS access list applied ``in`` on an interface filters traffic
from that interface's zone). An empty zone list means any zone.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Annotated, Any

from pydantic import Field

from meshq_graph_engine.catalogue._common import DeviceFilter, DeviceName, SiteFilter, ordered
from meshq_graph_engine.catalogue._firewall_rows import (
    DenyRuleRow,
    FilterLineRow,
    FirewallDeviceRow,
    RuleRow,
    ShadowedRuleRow,
    ZonePairRuleRow,
)
from meshq_graph_engine.catalogue.base import Params, Query, QueryContext
from meshq_graph_engine.firewall import _load
from meshq_graph_engine.firewall.policy import Rule
from meshq_graph_engine.firewall.shadow import Shadowed, Unreachable, unreachable_lines

__all__ = ["QUERIES"]

FEATURE = "firewall_queries"
_DENY = ("deny", "drop", "reject")
_RULE_COLUMNS = (
    "r.device AS device, r.ruleset AS rule_set, r.position AS position, r.name AS name, "
    "r.action AS action, r.enabled AS enabled, r.src_zones AS src_zones, "
    "r.dst_zones AS dst_zones, r.sources AS sources, r.destinations AS destinations, "
    "r.services AS services, r.source_names AS source_names, "
    "r.destination_names AS destination_names, r.service_names AS service_names, "
    "r.hit_count AS hit_count, r.comment AS comment, r.text AS text, r.nat AS nat"
)
_RULES = "MATCH (r:FirewallRule) WHERE ($device = '' OR r.device = $device) RETURN " + _RULE_COLUMNS
_RULESETS = (
    "MATCH (s:FirewallRuleset) WHERE ($device = '' OR s.device = $device) "
    "RETURN s.device AS device, s.name AS name, s.kind AS kind, "
    "s.default_action AS default_action, s.bindings AS bindings"
)
_ZONES = (
    "MATCH (z:FirewallZone) WHERE ($device = '' OR z.device = $device) "
    "RETURN z.device AS device, z.name AS name, z.interfaces AS interfaces"
)
_DEVICES = (
    "MATCH (d:Device) WHERE d.id IN $ids RETURN d.id AS device, d.hostname AS hostname, "
    "d.vendor AS vendor, d.platform AS platform, d.role AS role, d.site AS site"
)

ZoneName = Field(
    min_length=1,
    max_length=128,
    pattern=r"^[\w .:/@-]+$",
    description="A zone name as the device names it (ASA nameif, SRX/PAN-OS zone, or an "
    "interface name where interfaces act as zones); 'any' for rules of any zone.",
    examples=["inside"],
)


class DeviceParams(Params):
    device: DeviceName


class DeviceFilterParams(Params):
    device: DeviceFilter


class SiteParams(Params):
    site: SiteFilter


class FilterLineParams(Params):
    device: DeviceFilter
    filter: Annotated[
        str,
        Field(
            default="",
            max_length=128,
            pattern=r"^[\w.:/@ -]*$",
            description="Only the rule set of this name (an ACL, a chain, a zone policy; exact "
            "match), bound or not; empty for every rule set.",
            examples=["OUTSIDE_IN"],
        ),
    ]


class ZonePairParams(Params):
    src_zone: str = ZoneName
    dst_zone: str = ZoneName
    device: DeviceFilter


async def _policy_rows(ctx: QueryContext, device: str) -> tuple[list[dict[str, Any]], Any]:
    """Rules with their effective zones, and the rule sets by (device, name)."""
    params = {"device": device}
    zone_of: dict[tuple[str, str], str] = {}
    for z in await ctx.store.execute(_ZONES, params):
        for name in z["interfaces"] or ():
            zone_of[(z["device"], name)] = z["name"]
    sets = {(s["device"], s["name"]): s for s in await ctx.store.execute(_RULESETS, params)}
    bound: dict[tuple[str, str], dict[str, set[str]]] = {}
    for key, s in sets.items():
        sides: dict[str, set[str]] = {"in": set(), "out": set()}
        for text in s["bindings"] or ():
            direction, interface = _load.parse_binding(text)
            if direction in sides and interface:
                sides[direction].add(zone_of.get((key[0], interface), interface))
        bound[key] = sides
    rows = []
    for r in await ctx.store.execute(_RULES, params):
        sides = bound.get((r["device"], r["rule_set"]), {"in": set(), "out": set()})
        src = list(r["src_zones"] or ()) or sorted(sides["in"])
        dst = list(r["dst_zones"] or ()) or sorted(sides["out"])
        rows.append({**r, "src_zones": src, "dst_zones": dst})
    return ordered(rows, "device", "rule_set", "position"), sets


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("src_zones", "dst_zones", "sources", "destinations", "services"):
        row[key] = list(row.get(key) or ())
    for key in ("source_names", "destination_names", "service_names"):
        row[key] = list(row.get(key) or ())
    return row


async def _rules_by_device(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rows, _ = await _policy_rows(ctx, params.device)
    return [_clean(r) for r in rows]


def _in_zone(zones: list[str], wanted: str) -> bool:
    """A rule for any zone applies to every pair; asking for ``any`` matches every rule."""
    return not zones or wanted.lower() == "any" or wanted in zones


async def _rules_by_zone_pair(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rows, _ = await _policy_rows(ctx, params.device)
    out = []
    for r in rows:
        if _in_zone(r["src_zones"], params.src_zone) and _in_zone(r["dst_zones"], params.dst_zone):
            exact = params.src_zone in r["src_zones"] and params.dst_zone in r["dst_zones"]
            out.append({**_clean(r), "zone_match": "exact" if exact else "any"})
    return out


async def _devices(ctx: QueryContext, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {d["device"]: d for d in await ctx.store.execute(_DEVICES, {"ids": ids})}


def _filters_packets(ruleset: dict[str, Any]) -> bool:
    return bool(ruleset["bindings"]) or ruleset["kind"] in ("chain", "zone_policy")


async def _all_firewall_devices(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rows, sets = await _policy_rows(ctx, "")
    zones = Counter(z["device"] for z in await ctx.store.execute(_ZONES, {"device": ""}))
    # a packet filter is bound to an interface (or is a chain or zone policy); an access list
    # bound nowhere (one a route-map or distribute-list matches) filters no packets
    filters = Counter(d for (d, _), s in sets.items() if _filters_packets(s))
    names = sorted(set(filters) | set(zones))
    info = await _devices(ctx, names)
    by_device: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_device.setdefault(r["device"], []).append(r)
    out = []
    for name in names:
        mine = by_device.get(name, [])
        d = info.get(name, {})
        if params.site and d.get("site") != params.site:
            continue
        out.append(
            {
                "device": name,
                "hostname": d.get("hostname"),
                "vendor": d.get("vendor"),
                "platform": d.get("platform"),
                "role": d.get("role"),
                "site": d.get("site"),
                "rule_sets": sum(1 for dev, _ in sets if dev == name),
                "packet_filters": filters.get(name, 0),
                "rules": len(mine),
                "enabled_rules": sum(1 for r in mine if r["enabled"] is not False),
                "deny_rules": sum(1 for r in mine if r["action"] in _DENY),
                "zones": zones.get(name, 0),
            }
        )
    return out


def _breadth(cidrs: list[str]) -> tuple[int, int, bool]:
    """(CIDRs, IPv4 addresses covered, any) of an address list; empty is any."""
    if not cidrs:
        return 0, 1 << 32, True
    v4 = sum(ipaddress.ip_network(c).num_addresses for c in cidrs if ":" not in c)
    return len(cidrs), v4, False


async def _deny_rules_summary(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    rows, _ = await _policy_rows(ctx, params.device)
    totals: Counter[str] = Counter(r["device"] for r in rows)
    denies = [r for r in rows if r["action"] in _DENY and r["enabled"] is not False]
    per_device: Counter[str] = Counter(r["device"] for r in denies)
    info = await _devices(ctx, sorted(per_device))
    out = []
    for r in denies:
        s_n, s_v4, s_any = _breadth(list(r["sources"] or ()))
        d_n, d_v4, d_any = _breadth(list(r["destinations"] or ()))
        svc_any = not r["services"] or "any" in r["services"]
        wide = [s_any, d_any, svc_any]
        out.append(
            {
                "hostname": (info.get(r["device"]) or {}).get("hostname") or r["device"],
                "device": r["device"],
                "rule_name": r["name"],
                "action": r["action"],
                "src_zone": ",".join(r["src_zones"]) or "any",
                "dst_zone": ",".join(r["dst_zones"]) or "any",
                "rule_set": r["rule_set"],
                "position": r["position"],
                "source_any": s_any,
                "source_cidrs": s_n,
                "source_ipv4_addresses": s_v4,
                "destination_any": d_any,
                "destination_cidrs": d_n,
                "destination_ipv4_addresses": d_v4,
                "service_any": svc_any,
                "services": list(r["services"] or ()),
                "breadth": "any" if all(wide) else "wide" if any(wide) else "narrow",
                "hit_count": r["hit_count"],
                "device_deny_rules": per_device[r["device"]],
                "device_rules": totals[r["device"]],
            }
        )
    return out


async def _unreachable(ctx: QueryContext, device: str) -> list[Unreachable]:
    """The unreachable lines of every filter of every device (or of one), bound or not;
    computed once per version of the graph (a device's own rule sets only: path analysis's
    view is not needed, nor read)."""
    cache = await _load.line_cache(ctx.store, ctx.engine)
    found: list[Unreachable] | None = cache.found.get(device)
    if found is None and device and "" in cache.found:
        found = [u for u in cache.found[""] if u.rule.device == device]
    if found is None:
        sets = await _load.load_rule_sets(ctx.store, device)
        found = [u for rule_set in sets for u in unreachable_lines(rule_set)]
        cache.found[device] = found
    return found


def _line(rule: Rule) -> str:
    """A line as configured, else its name."""
    return rule.text or rule.name


async def _shadowed(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    out = [
        {
            **u.rule.describe(),
            "kind": Shadowed(u.rule, u.blocking).kind,
            "covered_by": [
                {"position": c.position, "name": c.name, "action": c.action} for c in u.blocking
            ],
        }
        for u in await _unreachable(ctx, params.device)
        if u.reason == "blocking_lines"
    ]
    return ordered(out, "device", "rule_set", "position")


async def _filter_line_reachability(ctx: QueryContext, params: Any) -> list[dict[str, Any]]:
    out = [
        {
            "device": u.rule.device,
            "filter": u.rule.rule_set,
            "position": u.rule.position,
            "unreachable_line": _line(u.rule),
            "action": u.rule.action,
            "blocking_lines": [_line(b) for b in u.blocking],
            "blocking_positions": [b.position for b in u.blocking],
            "different_action": u.different_action,
            "reason": u.reason,
        }
        for u in await _unreachable(ctx, params.device)
        if not params.filter or u.rule.rule_set == params.filter
    ]
    return ordered(out, "device", "filter", "position")


FIREWALL_RULES_BY_DEVICE = Query(
    name="firewall_rules_by_device",
    category="Firewall",
    summary="A device's firewall rules in evaluation order, objects resolved, with zones.",
    params=DeviceParams,
    row=RuleRow,
    feature=FEATURE,
    run=_rules_by_device,
)
FIREWALL_RULES_BY_ZONE_PAIR = Query(
    name="firewall_rules_by_zone_pair",
    category="Firewall",
    summary="The rules that apply from one zone to another (rules for any zone included).",
    params=ZonePairParams,
    row=ZonePairRuleRow,
    feature=FEATURE,
    run=_rules_by_zone_pair,
)
ALL_FIREWALL_DEVICES = Query(
    name="all_firewall_devices",
    category="Firewall",
    summary="Every device that filters packets (a bound rule set, a chain or a zone policy): "
    "rule sets, rules, denies, zones.",
    params=SiteParams,
    row=FirewallDeviceRow,
    feature=FEATURE,
    run=_all_firewall_devices,
)
DENY_RULES_SUMMARY = Query(
    name="deny_rules_summary",
    category="Firewall",
    summary="One row per enabled deny/drop/reject rule: zones, how broad it is, device totals.",
    params=DeviceFilterParams,
    row=DenyRuleRow,
    feature=FEATURE,
    run=_deny_rules_summary,
)
SHADOWED_RULES = Query(
    name="shadowed_rules",
    category="Firewall hygiene",
    summary="Rules of every filter (bound or not) that can never match because earlier rules "
    "cover them, with the smallest set of those rules found.",
    params=DeviceFilterParams,
    row=ShadowedRuleRow,
    feature=FEATURE,
    run=_shadowed,
)
FILTER_LINE_REACHABILITY = Query(
    name="filter_line_reachability",
    category="Firewall hygiene",
    summary="Every line of every filter (bound or not) that no packet reaches: the earlier "
    "lines that block it, or why it matches nothing by itself.",
    params=FilterLineParams,
    row=FilterLineRow,
    feature=FEATURE,
    run=_filter_line_reachability,
)

QUERIES = [
    ALL_FIREWALL_DEVICES,
    FIREWALL_RULES_BY_DEVICE,
    FIREWALL_RULES_BY_ZONE_PAIR,
    DENY_RULES_SUMMARY,
    SHADOWED_RULES,
    FILTER_LINE_REACHABILITY,
]
