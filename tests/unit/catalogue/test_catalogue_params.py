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
    return dict(next(c for c in CASES[name] if c.get("rows") or c.get("error") == 503)["params"])


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
        ("topology_neighborhood", {"device": "sw1", "depth": 6}, "depth", 6),
        ("topology_edges", {"min_confidence": 1}, "min_confidence", 1.0),
        ("bgp_topology", {"asn": 65001}, "asn", 65001),
        ("bgp_topology", {"asn": "65001"}, "asn", 65001),
        ("bgp_topology", {"asn": ""}, "asn", 0),
        ("all_devices", {"managed_only": False}, "managed_only", False),
        # JSON has one number type: 2.0 is an integer (as JSON Schema says), 2.5 is not
        ("blast_radius_vlan", {"vlan": 110.0}, "vlan", 110),
        ("topology_neighborhood", {"device": "sw1", "depth": 3.0}, "depth", 3),
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


#: The attacks of issue 19 and their kin: every parameter takes its own JSON type only.
LOOSE = [
    ("all_devices", {"managed_only": 0}, "managed_only", "true or false"),
    ("all_devices", {"managed_only": 1}, "managed_only", "true or false"),
    ("all_devices", {"managed_only": "false"}, "managed_only", "true or false"),
    ("all_devices", {"managed_only": None}, "managed_only", "true or false"),
    ("devices_without_neighbors", {"managed_only": "yes"}, "managed_only", "true or false"),
    ("netbox_drift", {"include_matched": 1}, "include_matched", "true or false"),
    ("endpoints_without_location", {"vlan": False}, "vlan", "an integer"),
    ("endpoints_without_location", {"vlan": True}, "vlan", "an integer"),
    ("endpoints_without_location", {"vlan": "110"}, "vlan", "an integer"),
    ("endpoints_without_location", {"vlan": 110.5}, "vlan", "an integer"),
    ("blast_radius_vlan", {"vlan": False}, "vlan", "an integer"),
    ("blast_radius_vlan", {"vlan": "110"}, "vlan", "an integer"),
    ("blast_radius_device", {"device": "sw1", "depth": True}, "depth", "an integer"),
    ("blast_radius_device", {"device": "sw1", "depth": 2.5}, "depth", "an integer"),
    ("topology_neighborhood", {"device": "sw1", "depth": "6"}, "depth", "an integer"),
    ("topology_edges", {"min_confidence": True}, "min_confidence", "a number"),
    ("topology_edges", {"min_confidence": "0.5"}, "min_confidence", "a number"),
    ("bgp_topology", {"asn": False}, "asn", "an integer"),
    ("bgp_topology", {"asn": 1.1}, "asn", "an integer"),
    ("device_neighbors", {"device": 1}, "device", "a string"),
    ("device_neighbors", {"device": True}, "device", "a string"),
    ("lldp_neighbors", {"protocol": 1}, "protocol", ""),
    (
        "path_analysis",
        {"source": "10.0.0.1", "destination": "10.0.0.2", "protocol": "tcp", "port": False},
        "port",
        "an integer",
    ),
    (
        "path_analysis",
        {"source": "10.0.0.1", "destination": "10.0.0.2", "protocol": "tcp", "port": "22"},
        "port",
        "an integer",
    ),
    (
        "test_filter",
        {
            "source": "10.0.0.1",
            "destination": "10.0.0.2",
            "protocol": "tcp",
            "port": 22,
            "source_port": True,
            "device": "fw1",
            "filter": "IN",
        },
        "source_port",
        "an integer",
    ),
]


@pytest.mark.parametrize(("name", "raw", "field", "expected"), LOOSE)
def test_loose_types_are_422_naming_the_parameter(
    name: str, raw: dict[str, Any], field: str, expected: str
) -> None:
    with pytest.raises(QueryError) as raised:
        validate_params(REGISTRY[name], raw)
    assert raised.value.status == 422
    errors = {e["field"]: e["message"] for e in raised.value.errors}
    assert field in errors, raised.value.errors
    assert expected in errors[field]
    assert repr(raw[field]) not in errors[field] or isinstance(raw[field], bool | int)


def test_an_unknown_parameter_is_named_with_what_the_query_takes() -> None:
    with pytest.raises(QueryError) as raised:
        validate_params(REGISTRY["blast_radius_vlan"], {"vlan": 110, "managed_only": True})
    assert raised.value.status == 422
    assert raised.value.errors == [
        {"field": "managed_only", "message": "unknown parameter; accepted: vlan, depth"}
    ]


def test_every_boolean_and_integer_parameter_is_strict() -> None:
    """No query anywhere in the catalogue takes 0/1 for a boolean or false for an integer."""
    checked = 0
    for name, query in sorted(REGISTRY.items()):
        for field, info in query.params.model_fields.items():
            if info.annotation is bool:
                bad: list[Any] = [0, 1, "true", "false", None]
            elif info.annotation in (int, int | None):
                # asn takes asplain/asdot text too, and its schema says so
                bad = [False, True, 1.5] if field == "asn" else [False, True, "1", 1.5]
            else:
                continue
            for value in bad:
                with pytest.raises(QueryError) as raised:
                    validate_params(query, {field: value})
                assert raised.value.status == 422, (name, field, value)
                assert field in {e["field"] for e in raised.value.errors}, (name, field, value)
                checked += 1
    assert checked > 40


def test_published_schemas_say_what_is_accepted() -> None:
    """A parameter that takes text as well as its type says so in its JSON Schema."""
    asn = REGISTRY["bgp_topology"].params.model_json_schema()["properties"]["asn"]
    assert {s["type"] for s in asn["anyOf"]} == {"integer", "string"}
    tags = REGISTRY["update_device_metadata"].params.model_json_schema()["properties"]["tags"]
    assert {s["type"] for s in tags["anyOf"]} == {"array", "string", "null"}
    assert next(s for s in tags["anyOf"] if s["type"] == "array")["maxItems"] == 32
