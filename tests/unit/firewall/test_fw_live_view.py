"""Path analysis's view kept up to date from each change against the view read whole.

Two networks are ingested into a real graph engine on the embedded store: the two-firewall
fixture (ACLs, zone policies, VRFs, IPv6) and the benchmark's routed campus with firewalled
distribution pairs (``bench/firewall.py``). Seeded random sequences of changes follow (rules
flipped, dropped and added, default actions, zone membership, routes dropped and added, next
hops, addresses, endpoint addresses), with questions asked after some and not after others.
After each question the kept view must equal the view read and compiled whole, index for
index, and path analysis over it must give the same answer for the same flows.
"""

from __future__ import annotations

import copy
import importlib.util
import ipaddress
import random
import sys
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.firewall import Topology, analyse
from meshq_graph_engine.firewall._live import live_view
from meshq_graph_engine.firewall._load import read_view, view
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot
from support.firewall_fixture import firewall_snapshot

BENCH = Path(__file__).resolve().parents[3] / "bench"
_LISTS = (
    "interfaces",
    "ip_addresses",
    "neighbors",
    "mac_table",
    "arp",
    "vlans",
    "endpoints",
    "routes",
    "firewall_zones",
    "firewall_rulesets",
    "firewall_rules",
)


@cache
def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}_fw_live", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(f"bench_{name}_fw_live", module)
    spec.loader.exec_module(module)
    return module


def _campus() -> dict[str, Any]:
    net = _bench("synth").generate(100, seed=7)
    snapshot, _ = _bench("firewall").augment(net, 2, 40)
    return snapshot.model_dump(mode="json", exclude_none=True)


def _fixture() -> dict[str, Any]:
    return firewall_snapshot().model_dump(mode="json", exclude_none=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _state(t: Topology) -> dict[str, Any]:
    every = sorted({*t.by_device, *t.policies, *t.routes})
    return {
        "by_ip": _plain(t.by_ip),
        "by_device": _plain(t.by_device),
        "by_network": _plain(t.by_network),
        "nets": _plain(t._nets),
        "net_keys": t._net_keys,
        "spans": _plain(t._spans),
        "endpoints": _plain(t.endpoints),
        "routes": {d: (_plain(r._by), r._lengths, r.count) for d, r in t.routes.items()},
        "policies": t.policies,
        "adjacent": {d: t.adjacent(d) for d in every},
    }


def _flows(t: Topology, rng: random.Random) -> list[tuple[str, str, str, int | None]]:
    addresses = sorted({*t.by_ip, *t.endpoints})
    out = []
    for _ in range(12):
        src, dst = rng.sample(addresses, 2)
        if ipaddress.ip_address(src).version != ipaddress.ip_address(dst).version:
            continue
        proto = rng.choice(["tcp", "udp", "icmp"])
        out.append((src, dst, proto, None if proto == "icmp" else rng.choice([22, 53, 443])))
    return out


def _answers(t: Topology, flows: list[tuple[str, str, str, int | None]]) -> list[Any]:
    return [analyse(t, s, d, p, port).rows() for s, d, p, port in flows]


class _Changes:
    def __init__(self, data: dict[str, Any], rng: random.Random) -> None:
        self.data, self.rng = copy.deepcopy(data), rng
        self.when = datetime.fromisoformat(str(self.data["collected_at"]))
        self.n = 0

    def snapshot(self) -> Snapshot:
        rng, data = self.rng, self.data
        touched: set[str] = set()
        for _ in range(rng.randint(1, 3)):
            touched.add(self._mutate())
        touched.discard("")
        if not touched:
            touched.add(data["devices"][0]["hostname"])
        self.n += 1
        self.when += timedelta(minutes=5)
        return Snapshot.model_validate(
            {
                "snapshot_id": f"fw-change-{self.n}",
                "source": "test",
                "collected_at": self.when.isoformat(),
                "scope": [s for s in data["scope"] if s["device"] in touched],
                "devices": [d for d in data["devices"] if d["hostname"] in touched],
                **{
                    k: [x for x in data.get(k, ()) if x["device"] in touched]
                    for k in _LISTS
                    if k in data
                },
            }
        )

    def _pick(self, kind: str) -> dict[str, Any] | None:
        items = self.data.get(kind) or []
        return self.rng.choice(items) if items else None

    def _mutate(self) -> str:
        rng, data = self.rng, self.data
        what = rng.choice(
            ["flip", "drop_rule", "add_rule", "default", "zone", "drop_route", "add_route",
             "hops", "drop_address", "add_address", "endpoint"]
        )  # fmt: skip
        if what == "flip" and (rule := self._pick("firewall_rules")):
            rule["action"] = "deny" if rule["action"] in ("permit", "allow") else "permit"
            return str(rule["device"])
        if what == "drop_rule" and (rule := self._pick("firewall_rules")):
            data["firewall_rules"].remove(rule)
            return str(rule["device"])
        if what == "add_rule" and (rs := self._pick("firewall_rulesets")):
            mine = [
                r
                for r in data["firewall_rules"]
                if (r["device"], r["ruleset"]) == (rs["device"], rs["name"])
            ]
            net = ipaddress.ip_network(
                (0x0A000000 | rng.randrange(1 << 24), rng.choice([16, 24, 32])), strict=False
            )
            data["firewall_rules"].append(
                {
                    "device": rs["device"],
                    "ruleset": rs["name"],
                    "position": max([r["position"] for r in mine], default=0) + 1,
                    "name": f"added-{self.n}-{rng.randrange(1000)}",
                    "action": rng.choice(["permit", "deny"]),
                    "destinations": [str(net)],
                    "services": [{"protocol": "tcp", "dst_ports": [rng.choice([22, 443])]}],
                }
            )  # fmt: skip
            return str(rs["device"])
        if what == "default" and (rs := self._pick("firewall_rulesets")):
            rs["default_action"] = "permit" if rs["default_action"] == "deny" else "deny"
            return str(rs["device"])
        if what == "zone" and (zone := self._pick("firewall_zones")):
            names = [i["name"] for i in data["interfaces"] if i["device"] == zone["device"]]
            zone["interfaces"] = sorted(rng.sample(names, min(len(names), rng.randint(0, 2))))
            return str(zone["device"])
        if what == "drop_route" and (route := self._pick("routes")):
            data["routes"].remove(route)
            return str(route["device"])
        if what == "add_route" and (route := self._pick("routes")):
            net = ipaddress.ip_network((0x0A000000 | rng.randrange(1 << 24), 24), strict=False)
            data["routes"].append(
                {**copy.deepcopy(route), "prefix": str(net), "protocol": "static"}
            )
            return str(route["device"])
        if what == "hops" and (route := self._pick("routes")):
            if len(route.get("next_hops") or ()) > 1:
                route["next_hops"] = route["next_hops"][:1]
            else:
                other = self._pick("routes")
                route["next_hops"] = [
                    *(route.get("next_hops") or ()),
                    *(other or {}).get("next_hops", ()),
                ]
            return str(route["device"])
        if what == "drop_address" and (address := self._pick("ip_addresses")):
            data["ip_addresses"].remove(address)
            return str(address["device"])
        if what == "add_address" and (iface := self._pick("interfaces")):
            ip = ipaddress.ip_address(0x0AC80000 | rng.randrange(1 << 16))
            data["ip_addresses"].append(
                {
                    "device": iface["device"],
                    "interface": iface["name"],
                    "address": f"{ip}/{rng.choice([24, 30])}",
                }
            )
            return str(iface["device"])
        if what == "endpoint":
            if (ep := self._pick("endpoints")) is not None:
                ep["ips"] = [str(ipaddress.ip_address(0x0A010000 | rng.randrange(1 << 8)))]
                return str(ep["device"])
            if (arp := self._pick("arp")) is not None:
                if rng.random() < 0.5:
                    data["arp"].remove(arp)
                else:
                    arp["ip"] = str(
                        ipaddress.ip_address(int(ipaddress.ip_address(arp["ip"])) ^ 0x80)
                    )
                return str(arp["device"])
        return ""


@pytest.mark.parametrize(
    ("base", "seed"),
    [("fixture", 1), ("fixture", 2), ("campus", 3)],
    ids=["fixture-1", "fixture-2", "campus-3"],
)
async def test_kept_view_is_the_one_read_whole(tmp_path: Path, base: str, seed: int) -> None:
    data = _fixture() if base == "fixture" else _campus()
    rng = random.Random(seed)
    store = EmbeddedStore(tmp_path / "graph" / "db")
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(Snapshot.model_validate(data))
        live = live_view(store, engine)
        first = await view(store, engine)
        assert live.last == "read"
        rule_sets = sum(len(p.bindings) for p in first.topology.policies.values())
        changes = _Changes(data, rng)
        updated = reused = rebuilt_rules = 0
        for step in range(14):
            await engine.apply_snapshot(changes.snapshot())
            if rng.random() < 0.3 and step < 13:
                continue  # the next change piles up on this one
            kept = await view(store, engine)
            fresh = await read_view(store, ("whole",))
            assert live.last in ("updated", "cached"), step
            updated += live.last == "updated"
            reused += live.last == "updated" and live.last_compiled < rule_sets
            if live.last == "updated" and live.last_compiled:
                rebuilt_rules += live.last_rules_compiled < sum(
                    len(b.rule_set.rules)
                    for p in kept.topology.policies.values()
                    for b in p.bindings
                )
            assert _state(kept.topology) == _state(fresh.topology), step
            flows = _flows(fresh.topology, random.Random(step))
            assert _answers(kept.topology, flows) == _answers(fresh.topology, flows), step
        assert updated >= 3
        assert reused >= 1, "an update must have kept some compiled rule sets"
        assert rebuilt_rules >= 1, "a rule set built again must have kept some compiled rules"
    finally:
        await store.close()


async def test_a_missed_revision_reads_whole(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    try:
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(firewall_snapshot())
        live = live_view(store, engine)
        await view(store, engine)
        await view(store, engine)
        assert live.last == "cached"
        changes = _Changes(_fixture(), random.Random(4))
        await engine.apply_snapshot(changes.snapshot())
        await view(store, engine)
        assert live.last == "updated"
        live.on_change(engine.revision + 2, None)  # a change not known key by key
        kept = await view(store, engine)
        assert live.last == "read"
        assert _state(kept.topology) == _state((await read_view(store, ())).topology)
        engine.revision += 1  # a revision that moved without any word
        await view(store, engine)
        assert live.last == "read"
    finally:
        await store.close()
