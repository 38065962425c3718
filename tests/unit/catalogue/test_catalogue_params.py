"""Parameters: every notation the model accepts is understood, anything else is a 422.

Hostile values (Cypher fragments, huge strings, bad MACs, out-of-range numbers, unknown
names) are refused by validation before any Cypher runs, and leave the graph as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Graph, load_cases
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.catalogue.base import validate_params

HOSTILE_STRINGS = [
    "x' OR 1=1 //",
    'hq-core-01") DETACH DELETE n //',
    "MATCH (n) DETACH DELETE n",
    "}) MATCH (n) SET n.managed = false RETURN n //",
    "hq-core-01\nMATCH (n) DETACH DELETE n",
    "$device",
    "a" * 100_000,
]
BAD_MACS = ["00:11:22:33:44", "zz:zz:zz:zz:zz:zz", "0011.2233.44556", "00:11:22:33:44:55:66"]
OUT_OF_RANGE = {"depth": [0, 7, -1, 10**12], "vlan": [-1, 4095], "min_confidence": [-0.1, 1.5]}
CASES = load_cases()


def _base_params(name: str) -> dict[str, Any]:
    """Valid parameters for the query: those of its first case that returns rows."""
    return dict(next(c for c in CASES[name] if c.get("rows"))["params"])


def _hostile_requests() -> list[Any]:
    out = []
    for name, query in sorted(REGISTRY.items()):
        base = _base_params(name)
        out.append(pytest.param(name, {**base, "cypher": "MATCH (n) DETACH DELETE n"}))
        for field in query.params.model_fields:
            values: list[Any] = [*HOSTILE_STRINGS, *OUT_OF_RANGE.get(field, [])]
            if field == "mac":
                values += BAD_MACS
            for i, value in enumerate(values):
                out.append(pytest.param(name, {**base, field: value}, id=f"{name}-{field}-{i}"))
    return out


class SpyStore:
    """A store that counts the statements it is asked to run."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.dialect, self.calls = inner, inner.dialect, 0

    async def execute(self, cypher: str, params: dict[str, Any] | None = None) -> Any:
        self.calls += 1
        return await self.inner.execute(cypher, params)


async def _state(graph: Graph) -> dict[str, Any]:
    ctx = graph.ctx
    return {
        "summary": (await run_query(REGISTRY, "summary_stats", {}, ctx)).rows,
        "devices": (await run_query(REGISTRY, "all_devices", {"managed_only": False}, ctx)).rows,
        "edges": (await run_query(REGISTRY, "topology_edges", {}, ctx)).rows,
        "patches": await graph.store.execute("MATCH (p:Patch) RETURN count(p) AS n"),
        "facts": await graph.store.execute("MATCH (f:FactSet) RETURN count(f) AS n"),
    }


async def test_hostile_parameters_are_422_and_change_nothing(lady: Graph) -> None:
    before = await _state(lady)
    spy = SpyStore(lady.store)
    ctx = QueryContext(spy, lady.engine)  # type: ignore[arg-type]
    requests = _hostile_requests()
    assert len(requests) > 300
    for request in requests:
        name, params = request.values
        with pytest.raises(QueryError) as raised:
            await run_query(REGISTRY, name, params, ctx)
        assert raised.value.status == 422, (name, str(params)[:80])
        assert raised.value.errors and raised.value.errors[0]["field"], (name, params)
    assert spy.calls == 0, "validation must refuse before any statement runs"
    assert await _state(lady) == before


@pytest.mark.parametrize(
    ("name", "raw", "field", "value"),
    [
        ("locate_endpoint_by_mac", {"mac": "AABB.CCDD.EEFF"}, "mac", "aa:bb:cc:dd:ee:ff"),
        ("locate_endpoint_by_mac", {"mac": "aa-bb-cc-dd-ee-ff"}, "mac", "aa:bb:cc:dd:ee:ff"),
        ("locate_endpoint_by_mac", {"mac": " AABBCCDDEEFF "}, "mac", "aa:bb:cc:dd:ee:ff"),
        ("locate_endpoint_by_ip", {"ip": "2001:DB8:0:0::1"}, "ip", "2001:db8::1"),
        ("locate_endpoint_by_ip", {"ip": "10.0.0.1"}, "ip", "10.0.0.1"),
        ("ips_in_subnet", {"cidr": "2001:DB8::/32"}, "cidr", "2001:db8::/32"),
        ("orphaned_ips", {}, "cidr", ""),
        ("device_neighbors", {"device": "HQ-Core-01."}, "device", "hq-core-01"),
        ("device_neighbors", {"device": "chassis:00:1b:54:aa:bb:cc"}, "device", None),
        (
            "interface_neighbors",
            {"device": "sw1", "interface": "Te1/1/1"},
            "interface",
            "TenGigabitEthernet1/1/1",
        ),
        ("interface_neighbors", {"device": "sw1", "interface": "Et1"}, "interface", "Ethernet1"),
        ("topology_neighborhood", {"device": "sw1"}, "depth", 2),
        ("topology_neighborhood", {"device": "sw1", "depth": "6"}, "depth", 6),
        ("bgp_topology", {"asn": "AS1.10"}, "asn", 65546),
        ("all_devices", {"role": "Wireless Controller"}, "role", "wireless_controller"),
        ("update_device_metadata", {"device": "sw1", "tags": "a, b"}, "tags", ["a", "b"]),
        (
            "update_device_metadata",
            {"device": "sw1", "clear": "rack,site"},
            "clear",
            ["rack", "site"],
        ),
    ],
)
def test_notations_are_normalised(name: str, raw: dict[str, Any], field: str, value: Any) -> None:
    params = validate_params(REGISTRY[name], raw)
    expected = raw[field] if value is None else value
    assert getattr(params, field) == expected


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("ips_in_subnet", {"cidr": "10.0.0.1/24"}),  # host bits set
        ("ips_in_subnet", {"cidr": "10.0.0.0/33"}),
        ("locate_endpoint_by_ip", {"ip": "10.0.0.0/24"}),
        ("locate_endpoint_by_ip", {"ip": "999.1.1.1"}),
        ("device_neighbors", {}),
        ("device_neighbors", {"device": ""}),
        ("device_neighbors", {"device": "sw 1"}),
        ("update_device_metadata", {"device": "sw1"}),  # changes nothing
        ("update_device_metadata", {"device": "sw1", "rack": "R1", "clear": ["rack"]}),
        ("update_device_metadata", {"device": "sw1", "criticality": "urgent"}),
        ("update_device_metadata", {"device": "sw1", "tags": ["x"] * 33}),
        ("lldp_neighbors", {"protocol": "ospf"}),
        ("bgp_topology", {"asn": True}),
    ],
)
def test_invalid_parameters_name_the_field(name: str, raw: dict[str, Any]) -> None:
    with pytest.raises(QueryError) as raised:
        validate_params(REGISTRY[name], raw)
    assert raised.value.status == 422
    assert raised.value.detail
