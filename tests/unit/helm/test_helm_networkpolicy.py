"""The rendered NetworkPolicies allow exactly the calls the services make.

The allowed graph is computed from the rendered policies as a cluster would enforce them: a
connection from pod A to pod B on a port is possible only when one of A's policies lets it out
(egress) and one of B's lets it in (ingress). That graph is compared with the table of who
calls whom, and the table itself is checked against the code: a service calls the license
agent when its settings read MESHQ_LICENSING_URL, the graph engine when they read
MESHQ_GRAPH_ENGINE_URL, the gateway when they read MESHOPTIXIQ_API_URL, the audit service, the
SOAR dispatcher and the alerts service when they read MESHQ_AUDIT_URL /
MESHQ_SOAR_DISPATCHER_URL / MESHQ_ALERTS_URL, and it reaches Kafka, PostgreSQL, Redis or
Memgraph when its settings compose that piece. The flow collector's UDP listeners take datagrams
from networkPolicy.flowExporters only, on the ports its settings listen on.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from meshq_runtime.settings import (
    GraphSettings,
    KafkaSettings,
    PostgresSettings,
    RedisSettings,
    env_names,
)
from support.helm_chart import (
    COMPONENTS,
    PRODUCTION,
    ROOT,
    load_values,
    objects,
    query_enabled,
)

#: In-cluster HTTP calls (caller, callee): DESIGN.md's table as the code makes them.
CALLS = {
    ("query-gateway", "graph-engine"),  # internal query API
    ("query-gateway", "licensing"),  # GET /license at start
    ("query-gateway", "audit"),  # GET /audit/verify, /audit/export passed on
    ("query-gateway", "soar-dispatcher"),  # POST /soar/replay passed on
    ("query-gateway", "alerts"),  # the Alerts queries passed on
    ("query-gateway", "prober"),  # the Synthetic queries passed on
    ("graph-engine", "licensing"),
    ("audit", "licensing"),  # the audit_logging flag
    ("soar-dispatcher", "licensing"),
    ("soar-dispatcher", "graph-engine"),  # the blast radius of an alert sent to the webhook
    ("netbox-sync", "graph-engine"),  # what a NetBox sync reads (netbox_inventory, netbox_drift)
    ("netbox-sync", "licensing"),  # the netbox_sync flag; the device limit for discovery
    ("mcp-bridge", "query-gateway"),  # the REST API on the caller's behalf
    ("alerts", "graph-engine"),  # each rule's catalogue query
    ("alerts", "licensing"),  # the alert_rules flag
    ("alerts", "prober"),  # rules over the Synthetic queries
    ("prober", "graph-engine"),  # path_analysis for a failing probe
    ("prober", "licensing"),  # the synthetic_monitoring flag
}
#: With services.graph-engine.query.enabled the gateway's queries go to the query replicas
#: (MESHQ_GRAPH_ENGINE_URL), which forward metadata updates and snapshot diffs to the writer
#: (MESHQ_GRAPH_ENGINE_WRITER_URL); netbox-sync, alerts and soar-dispatcher keep reading from
#: the writer.
QUERY_CALLS = (CALLS - {("query-gateway", "graph-engine")}) | {
    ("query-gateway", "graph-engine-query"),
    ("graph-engine-query", "graph-engine"),
}
#: Infrastructure each service reaches.
INFRA = {
    "licensing": {"kafka", "postgres"},
    "graph-engine": {"kafka", "memgraph", "postgres"},  # postgres: the interface metrics
    "query-gateway": {"kafka", "redis"},
    "audit": {"kafka", "postgres"},
    "soar-dispatcher": {"kafka", "postgres"},  # outcomes and dead letters
    "netbox-sync": {"kafka"},
    "mcp-bridge": set(),
    "alerts": {"kafka", "postgres"},  # topology.changed; the alerts and their history
    "prober": {"kafka", "postgres"},  # license events; definitions and results
    "flow-collector": {"kafka"},  # flow batches and exporter counters
    "migrations": {"kafka", "postgres"},
    # a reader: Memgraph, topology.changed, the interface metrics
    "graph-engine-query": {"kafka", "memgraph", "postgres"},
}
CALLEE_BY_SETTING = {
    "MESHQ_LICENSING_URL": "licensing",
    "MESHQ_GRAPH_ENGINE_URL": "graph-engine",
    "MESHOPTIXIQ_API_URL": "query-gateway",
    "MESHQ_AUDIT_URL": "audit",
    "MESHQ_SOAR_DISPATCHER_URL": "soar-dispatcher",
    "MESHQ_ALERTS_URL": "alerts",
    "MESHQ_PROBER_URL": "prober",
}
INFRA_BY_PIECE = {
    KafkaSettings: "kafka",
    PostgresSettings: "postgres",
    RedisSettings: "redis",
    GraphSettings: "memgraph",
}
LABEL = "app.kubernetes.io/component"


def settings_class(component: str) -> Any:
    return importlib.import_module(f"meshq_{component.replace('-', '_')}.settings").Settings


def test_the_table_is_what_the_code_does() -> None:
    calls = set()
    for component in COMPONENTS:
        cls = settings_class(component)
        for var, callee in CALLEE_BY_SETTING.items():
            if var in env_names(cls):
                calls.add((component, callee))
        infra = {name for piece, name in INFRA_BY_PIECE.items() if issubclass(cls, piece)}
        assert infra == INFRA[component], component
    assert calls == CALLS
    # The reader role's one call, to the writer, is a setting of the same class.
    assert "MESHQ_GRAPH_ENGINE_WRITER_URL" in env_names(settings_class("graph-engine"))


def calls_for(values: dict[str, Any]) -> set[tuple[str, str]]:
    return QUERY_CALLS if query_enabled(values) else CALLS


# --- evaluating policies ---------------------------------------------------------------------


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        present, value = expr["key"] in labels, labels.get(expr["key"])
        op = expr["operator"]
        if (op == "In" and value not in expr["values"]) or (
            op == "NotIn" and value in expr["values"]
        ):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def port_ok(rule: dict[str, Any], port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port for p in ports)


def peer_is_pod(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    """A same-namespace pod peer (no namespaceSelector, no ipBlock) selecting these labels."""
    return set(peer) == {"podSelector"} and matches(peer["podSelector"], labels)


class Cluster:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
        self.pods: dict[str, dict[str, str]] = {}
        self.ports: dict[str, int] = {}
        for d in docs:
            if d["kind"] in ("Deployment", "Job"):
                meta = d["spec"]["template"]["metadata"]["labels"]
                self.pods[meta[LABEL]] = meta
                c = d["spec"]["template"]["spec"]["containers"][0]
                if c.get("ports"):
                    self.ports[meta[LABEL]] = c["ports"][0]["containerPort"]

    def selecting(self, component: str, kind: str) -> list[dict[str, Any]]:
        labels = self.pods[component]
        return [
            p
            for p in self.policies
            if matches(p["spec"]["podSelector"], labels) and kind in p["spec"]["policyTypes"]
        ]

    def egress_to_pod(self, src: str, dst: str, port: int) -> bool:
        return any(
            port_ok(rule, port)
            and any(peer_is_pod(peer, self.pods[dst]) for peer in rule.get("to", []))
            for pol in self.selecting(src, "Egress")
            for rule in pol["spec"].get("egress", [])
        )

    def ingress_from_pod(self, dst: str, src: str, port: int) -> bool:
        return any(
            port_ok(rule, port)
            and any(peer_is_pod(peer, self.pods[src]) for peer in rule.get("from", []))
            for pol in self.selecting(dst, "Ingress")
            for rule in pol["spec"].get("ingress", [])
        )

    def edges(self) -> set[tuple[str, str]]:
        return {
            (src, dst)
            for src in self.pods
            for dst, port in self.ports.items()
            if src != dst
            and self.egress_to_pod(src, dst, port)
            and self.ingress_from_pod(dst, src, port)
        }

    def egress_rules(self, component: str) -> list[dict[str, Any]]:
        return [r for p in self.selecting(component, "Egress") for r in p["spec"].get("egress", [])]

    def ingress_rules(self, component: str) -> list[dict[str, Any]]:
        return [
            r for p in self.selecting(component, "Ingress") for r in p["spec"].get("ingress", [])
        ]


VALUE_SETS = {
    "default": {},
    "production": load_values(PRODUCTION),  # with graph-engine query replicas
    "query": {"services": {"graph-engine": {"query": {"enabled": True}}}},
}


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def case(request: pytest.FixtureRequest) -> tuple[dict[str, Any], Cluster]:
    values = VALUE_SETS[request.param]
    return values, Cluster(objects(values))


def effective(values: dict[str, Any]) -> dict[str, Any]:
    from support.helm_chart import CHART

    defaults = load_values(CHART / "values.yaml")
    return values if "networkPolicy" in values else defaults


def test_every_pod_is_default_deny_both_ways(case) -> None:
    values, cluster = case
    query = {"graph-engine-query"} if query_enabled(values) else set()
    assert set(cluster.pods) == {*COMPONENTS, "migrations", *query}
    for component in cluster.pods:
        assert len(cluster.selecting(component, "Ingress")) == 1, component
        assert len(cluster.selecting(component, "Egress")) == 1, component


def test_pod_to_pod_edges_are_exactly_the_calls(case) -> None:
    values, cluster = case
    assert cluster.edges() == calls_for(values)


def test_a_call_outside_the_table_is_blocked(case) -> None:
    _, cluster = case
    # The MCP bridge must go through the gateway, never straight to the graph engine.
    assert not cluster.egress_to_pod("mcp-bridge", "graph-engine", cluster.ports["graph-engine"])
    assert not cluster.ingress_from_pod("graph-engine", "mcp-bridge", cluster.ports["graph-engine"])
    # The audit log and the SOAR dispatcher answer the gateway only (it passes the operators'
    # calls on), never the MCP bridge.
    for callee in ("audit", "soar-dispatcher", "alerts"):
        assert not cluster.ingress_from_pod(callee, "mcp-bridge", cluster.ports[callee])
        assert not cluster.ingress_from_pod(callee, "netbox-sync", cluster.ports[callee])
    # The flow collector calls no one, and no pod of the release calls it.
    for other in cluster.ports:
        if other != "flow-collector":
            assert not cluster.egress_to_pod("flow-collector", other, cluster.ports[other])
            assert not cluster.ingress_from_pod(
                "flow-collector", other, cluster.ports["flow-collector"]
            )
    if "graph-engine-query" in cluster.pods:
        # Readers answer the gateway only; nobody else reaches them, and they reach no one
        # but the writer (not the license agent, not the gateway).
        port = cluster.ports["graph-engine-query"]
        for caller in ("mcp-bridge", "netbox-sync", "soar-dispatcher", "graph-engine"):
            assert not cluster.ingress_from_pod("graph-engine-query", caller, port), caller
        for callee in ("licensing", "query-gateway"):
            assert not cluster.egress_to_pod("graph-engine-query", callee, cluster.ports[callee])


def test_egress_beyond_the_pods_is_dns_infrastructure_and_configured_destinations(case) -> None:
    values, cluster = case
    np = effective(values)["networkPolicy"]
    infra_ports = {name: set(part["ports"]) for name, part in np["infrastructure"].items()}
    for component in cluster.pods:
        reached: set[str] = set()
        external: list[dict[str, Any]] = []
        for rule in cluster.egress_rules(component):
            ports = {p["port"] for p in rule["ports"]}
            peers = rule.get("to", [])
            if ports == {53}:
                assert [set(p) for p in peers] == [{"namespaceSelector", "podSelector"}]
                continue
            if peers and all(
                any(peer_is_pod(p, lab) for lab in cluster.pods.values()) for p in peers
            ):
                continue  # a pod-to-pod call, checked above
            if peers and all("ipBlock" in p for p in peers):
                external.append({"cidr": peers[0]["ipBlock"]["cidr"], "ports": sorted(ports)})
                continue
            name = next(n for n, ps in infra_ports.items() if ps == ports)
            configured = np["infrastructure"][name]["to"]
            assert peers == configured, (component, name)
            reached.add(name)
        assert reached == INFRA[component], component
        wanted = [
            {"cidr": e["cidr"], "ports": sorted(e["ports"])}
            for e in np["external"].get(component, [])
        ]
        assert external == wanted, component


def test_ingress_from_outside_the_release(case) -> None:
    values, cluster = case
    np = effective(values)["networkPolicy"]
    mcp_ingress = bool(values.get("mcp", {}).get("ingress", {}).get("enabled"))
    for component in cluster.pods:
        outside = [
            rule
            for rule in cluster.ingress_rules(component)
            if not all(set(p) == {"podSelector"} for p in rule["from"])
        ]
        expected = 0
        if component == "query-gateway" or (component == "mcp-bridge" and mcp_ingress):
            expected += 1  # the ingress controller
        if component == "mcp-bridge" and np["mcpClients"]:
            expected += 1
        if component == "flow-collector" and np["flowExporters"]:
            expected += 1  # the exporters' datagrams
        if np["metrics"]["enabled"] and component != "migrations":
            expected += 1
        assert len(outside) == expected, component
    if np["mcpClients"]:
        rules = cluster.ingress_rules("mcp-bridge")
        assert any(rule["from"] == np["mcpClients"] for rule in rules)


def udp_listeners(values: dict[str, Any]) -> set[int]:
    """The UDP ports the flow collector listens on with these values, through its settings."""
    deps = [d for d in objects(values) if d["kind"] == "Deployment"]
    dep = next(d for d in deps if d["metadata"]["labels"][LABEL] == "flow-collector")
    containers = dep["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in containers[0]["env"] if "value" in e}
    cls = settings_class("flow-collector")
    ports = set()
    for name, field in cls.model_fields.items():
        if name.endswith("_port") and field.alias in env:
            ports.add(int(env[field.alias]))
    return ports - {0}


def test_flow_exporters_reach_only_the_udp_listeners(case) -> None:
    values, cluster = case
    np = effective(values)["networkPolicy"]
    listeners = udp_listeners(values)
    assert listeners, "the flow collector listens on no UDP port"
    udp_rules = [
        rule
        for rule in cluster.ingress_rules("flow-collector")
        if any(p.get("protocol") == "UDP" for p in rule.get("ports", []))
    ]
    assert len(udp_rules) == 1
    (rule,) = udp_rules
    assert rule["from"] == np["flowExporters"]
    assert {(p["port"], p["protocol"]) for p in rule["ports"]} == {(p, "UDP") for p in listeners}
    # No other pod takes UDP from outside the release (DNS is egress only).
    for component in cluster.pods:
        if component == "flow-collector":
            continue
        for rule in cluster.ingress_rules(component):
            assert all(p.get("protocol") == "TCP" for p in rule.get("ports", [])), component


def test_a_listener_turned_off_is_closed_and_no_exporters_means_no_udp() -> None:
    docs = objects({"flowCollector": {"ipfixPort": 0}})
    cluster = Cluster(docs)
    udp = {
        p["port"]
        for rule in cluster.ingress_rules("flow-collector")
        for p in rule.get("ports", [])
        if p.get("protocol") == "UDP"
    }
    assert udp == {2055, 6343}
    closed = Cluster(objects({"networkPolicy": {"flowExporters": []}}))
    assert not [
        rule
        for rule in closed.ingress_rules("flow-collector")
        if any(p.get("protocol") == "UDP" for p in rule.get("ports", []))
    ]


def test_disabled_policies_render_none() -> None:
    docs = objects({"networkPolicy": {"enabled": False}})
    assert not [d for d in docs if d["kind"] == "NetworkPolicy"]


def test_the_deployment_guide_lists_the_same_calls() -> None:
    """docs/deployment.md's table: rows 'callers | callee (what) | port' between our pods."""
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    documented = set()
    for line in guide.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[2].isdigit():
            continue
        callee = cells[1].split(" ")[0]
        callers = [c.strip() for c in cells[0].split(",")]
        pods = (*COMPONENTS, "graph-engine-query")
        if callee in pods and all(c in pods for c in callers):
            documented |= {(caller, callee) for caller in callers}
    assert documented == CALLS | QUERY_CALLS
