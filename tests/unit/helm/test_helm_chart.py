"""helm/meshoptixiq rendered and linted offline (helm-python-sdk), every object validated
against the Kubernetes schemas (kubernetes-validate, strict) of 1.30 and the newest bundled
release, and the properties a production cluster relies on checked on the rendered objects:
security contexts, probes, secrets only through secretKeyRef, scaling objects, the RBAC
policy mounted as a directory, and the hook Job that runs before the services.
"""

from __future__ import annotations

import base64
import copy
import importlib
import re
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from meshq_alerts.rules import load_rules
from meshq_query_gateway.rbac import parse_policy
from meshq_runtime.settings import LicenseClientSettings
from pydantic import SecretStr
from support.helm_chart import (
    CHART,
    COMPONENTS,
    PRODUCTION,
    container,
    load_values,
    objects,
    query_enabled,
    render,
    service_of,
    workloads,
)

KUBE_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
SCALED = ("query-gateway", "soar-dispatcher", "mcp-bridge")
VALUE_SETS = {"default": None, "production": PRODUCTION}


def values_for(name: str) -> dict[str, Any]:
    path = VALUE_SETS[name]
    return load_values(path) if path else {}


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, objects(values_for(request.param))


def settings_class(component: str) -> type:
    module = "meshq_" + service_of(component).replace("-", "_")
    return importlib.import_module(f"{module}.settings").Settings


def secret_envs(component: str) -> set[str]:
    """Variables whose settings field is a SecretStr: they may only come from a Secret."""
    cls = settings_class(component)
    names = set()
    for field in cls.model_fields.values():
        ann = field.annotation
        if ann is SecretStr or SecretStr in getattr(ann, "__args__", ()):
            names.add(field.alias)
    return names


# --- lint and schema validation --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_chart_lints_clean(name) -> None:
    report = helm.lint(CHART, values_for(name), strict=True, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_object_validates_strictly(rendered, version) -> None:
    name, docs = rendered
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "NetworkPolicy", "Job", "ConfigMap"} <= kinds
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']} on {version}: {exc}")


@pytest.mark.parametrize(
    "toggles",
    [
        {"gateway": {"rbac": {"enabled": False}}},
        {"gateway": {"rbac": {"existingConfigMap": "my-rbac"}}},
        {"services": {"graph-engine": {"persistence": {"enabled": False}}}},
        {"migrations": {"enabled": False}, "networkPolicy": {"enabled": False}},
        {"serviceAccount": {"create": False, "name": "meshq-runner"}},
        {"services": {"query-gateway": {"autoscaling": {"enabled": False}, "replicas": 3}}},
        {"kafka": {"securityProtocol": "SSL", "tls": {"caSecret": "kafka-ca", "caKey": "ca.pem"}}},
        {
            "services": {
                "graph-engine": {
                    "query": {"enabled": True, "autoscaling": {"enabled": False}, "replicas": 3}
                }
            }
        },
        {"memgraph": {"uri": ""}},
        {
            "flowCollector": {
                "ipfixPort": 0,
                "service": {"type": "NodePort", "externalTrafficPolicy": "Cluster"},
            },
            "alerts": {"alertmanagerUrls": ["http://am-0:9093", "http://am-1:9093"]},
        },
    ],
    ids=[
        "no-rbac",
        "own-rbac",
        "no-claim",
        "no-hook-no-policy",
        "own-sa",
        "fixed-replicas",
        "tls",
        "fixed-readers",
        "embedded-graph",
        "nodeport-flows",
    ],
)
def test_options_render_valid_objects(toggles) -> None:
    docs = objects(toggles)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSIONS[0], strict=True)
    deps = workloads(docs)
    gw = deps["query-gateway"]
    if toggles.get("serviceAccount"):
        assert gw["spec"]["template"]["spec"]["serviceAccountName"] == "meshq-runner"
        assert not [d for d in docs if d["kind"] == "ServiceAccount"]
        job = next(d for d in docs if d["kind"] == "Job")
        assert job["spec"]["template"]["spec"]["serviceAccountName"] == "meshq-runner"
    if "replicas" in toggles.get("services", {}).get("query-gateway", {}):
        assert gw["spec"]["replicas"] == 3
        assert not [
            d
            for d in docs
            if d["kind"] == "HorizontalPodAutoscaler"
            and d["spec"]["scaleTargetRef"]["name"] == gw["metadata"]["name"]
        ]
    query = toggles.get("services", {}).get("graph-engine", {}).get("query", {})
    if "replicas" in query:
        readers = deps["graph-engine-query"]
        assert readers["spec"]["replicas"] == 3 and deps["graph-engine"]["spec"]["replicas"] == 1
        assert not [
            d
            for d in docs
            if d["kind"] == "HorizontalPodAutoscaler"
            and d["spec"]["scaleTargetRef"]["name"] == readers["metadata"]["name"]
        ]
    if toggles.get("gateway", {}).get("rbac", {}).get("existingConfigMap"):
        vol = next(v for v in gw["spec"]["template"]["spec"]["volumes"] if v["name"] == "rbac")
        assert vol["configMap"]["name"] == "my-rbac"
    if toggles.get("kafka"):
        env = {e["name"]: e.get("value") for e in container(deps["audit"])["env"]}
        assert env["MESHQ_KAFKA_SSL_CAFILE"] == "/etc/meshoptixiq/kafka-ca/ca.pem"
        assert "MESHQ_KAFKA_SASL_PASSWORD" not in env


def test_strict_validation_catches_a_misspelt_field() -> None:
    doc = copy.deepcopy(workloads(objects())["audit"])
    doc["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBE_VERSIONS[0], strict=True)


# --- workloads -------------------------------------------------------------------------------


def test_one_deployment_per_workspace_service(rendered) -> None:
    name, docs = rendered
    query = ["graph-engine-query"] if query_enabled(values_for(name)) else []
    assert sorted(workloads(docs)) == sorted([*COMPONENTS, *query])
    for component, dep in workloads(docs).items():
        service = service_of(component)
        c = container(dep)
        assert c["command"] == ["python", "-m", "meshq_" + service.replace("-", "_")]
        importlib.import_module(c["command"][2])  # the module the image runs exists
        assert c["image"].endswith(f"/{service}:0.1.0")


def test_security_context_everywhere(rendered) -> None:
    _, docs = rendered
    pods = [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]
    assert len(pods) == len(workloads(docs)) + 1
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert sc["readOnlyRootFilesystem"] is True, c["name"]
            assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
            assert "add" not in sc["capabilities"]
            mounts = {m["mountPath"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts, c["name"]  # a writable scratch space on a read-only root
            assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]


def test_probes_use_health_and_ready_on_the_service_port(rendered) -> None:
    name, docs = rendered
    values = values_for(name) or load_values(CHART / "values.yaml")
    flows = values["flowCollector"]
    for component, dep in workloads(docs).items():
        c = container(dep)
        port = values["services"][service_of(component)]["port"]
        expected = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        if component == "flow-collector":  # the UDP listeners, beside the HTTP probes
            expected += [
                {"name": "ipfix", "containerPort": flows["ipfixPort"], "protocol": "UDP"},
                {"name": "netflow", "containerPort": flows["netflowPort"], "protocol": "UDP"},
                {"name": "sflow", "containerPort": flows["sflowPort"], "protocol": "UDP"},
            ]
        assert c["ports"] == expected
        assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        port_env = {e["name"]: e.get("value") for e in c["env"]}
        cls = settings_class(component)
        assert port_env[cls.model_fields["port"].alias] == str(port)


def test_license_agent_and_graph_engine_run_one_replica(rendered) -> None:
    _, docs = rendered
    deps = workloads(docs)
    for component in ("licensing", "graph-engine"):
        assert deps[component]["spec"]["replicas"] == 1
        assert deps[component]["spec"]["strategy"] == {"type": "Recreate"}


def test_scaled_services_have_an_autoscaler_and_a_disruption_budget(rendered) -> None:
    name, docs = rendered
    scaled = (*SCALED, "graph-engine-query") if query_enabled(values_for(name)) else SCALED
    hpas = {
        d["spec"]["scaleTargetRef"]["name"]: d
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    pdbs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PodDisruptionBudget"}
    deps = workloads(docs)
    assert len(hpas) == len(pdbs) == len(scaled)
    for component in scaled:
        name = deps[component]["metadata"]["name"]
        assert hpas[name]["spec"]["minReplicas"] >= 2
        assert "replicas" not in deps[component]["spec"]  # the autoscaler owns the count
        selector = pdbs[name]["spec"]["selector"]["matchLabels"]
        assert selector == deps[component]["spec"]["selector"]["matchLabels"]


def test_replicas_of_the_services_without_an_autoscaler() -> None:
    deps = workloads(objects({"services": {"audit": {"replicas": 2}}}))
    assert deps["audit"]["spec"]["replicas"] == 2
    assert deps["netbox-sync"]["spec"]["replicas"] == 1
    assert deps["alerts"]["spec"]["replicas"] == 1
    assert deps["flow-collector"]["spec"]["replicas"] == 1
    more = workloads(objects({"services": {"alerts": {"replicas": 2}}}))
    assert more["alerts"]["spec"]["replicas"] == 2
    with pytest.raises(helm.HelmValuesError, match="/services/licensing"):
        render({"services": {"licensing": {"replicas": 2}}})  # one seat per installation


def test_services_for_the_http_apis_others_call(rendered) -> None:
    name, docs = rendered
    services = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in docs
        if d["kind"] == "Service"
    }
    called = {
        "licensing",
        "graph-engine",
        "query-gateway",
        "audit",
        "soar-dispatcher",
        "mcp-bridge",
        "alerts",
        "prober",
    }
    if query_enabled(values_for(name)):
        called.add("graph-engine-query")
    # and the flow collector's UDP listeners, for the exporters outside the cluster
    assert services == called | {"flow-collector"}


def test_only_the_graph_engine_keeps_data_on_a_volume_claim(rendered) -> None:
    _, docs = rendered
    claims = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert [c["metadata"]["name"] for c in claims] == ["mq-meshoptixiq-graph-engine"]
    for component, dep in workloads(docs).items():
        for vol in dep["spec"]["template"]["spec"]["volumes"]:
            if "persistentVolumeClaim" in vol:
                assert component == "graph-engine"


# --- configuration ----------------------------------------------------------------------------


def test_secret_settings_come_only_from_secret_references(rendered) -> None:
    name, docs = rendered
    # The one Secret the chart may create: the service credential, when no Secret is named.
    created = [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"]
    named = values_for(name).get("serviceToken", {}).get("existingSecret")
    assert created == ([] if named else ["mq-meshoptixiq-service-token"]), created
    for component, dep in workloads(docs).items():
        envs = {e["name"]: e for e in container(dep)["env"]}
        for var in secret_envs(component) & set(envs):
            assert "value" not in envs[var], f"{name}: {component} {var} is a literal"
            assert "secretKeyRef" in envs[var]["valueFrom"], f"{component} {var}"


def test_every_service_but_the_bridge_gets_one_service_credential() -> None:
    """Generated at install (48 random characters, kept on upgrade and uninstall) unless the
    values name a Secret; every pod that serves or calls an internal API reads it."""
    values = {"services": {"graph-engine": {"query": {"enabled": True}}}}
    for given, secret, key in (
        (values, "mq-meshoptixiq-service-token", "service-token"),
        (
            {**values, "serviceToken": {"existingSecret": "mine", "key": "token"}},
            "mine",
            "token",
        ),
    ):
        docs = objects(given)
        deps = workloads(docs)
        assert "graph-engine-query" in deps
        for component, dep in deps.items():
            envs = {e["name"]: e for e in container(dep)["env"]}
            # The bridge calls the gateway only, with an API key; the flow collector serves
            # no internal API and calls no service (UDP in, Kafka out).
            if component in ("mcp-bridge", "flow-collector"):
                assert "MESHQ_SERVICE_TOKEN" not in envs
                continue
            ref = envs["MESHQ_SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (secret, key), component
        created = [d for d in docs if d["kind"] == "Secret"]
        if secret == "mine":
            assert created == []
            continue
        (generated,) = created
        assert generated["metadata"]["name"] == secret
        assert generated["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        token = base64.b64decode(generated["data"][key]).decode()
        assert len(token) == 48 and token.isalnum()
        assert LicenseClientSettings(MESHQ_SERVICE_TOKEN=token).service_token is not None


def test_no_credential_in_a_configmap_or_an_env_literal(rendered) -> None:
    _, docs = rendered
    userinfo = re.compile(r"[a-z+]+://[^/\s@]*:[^/\s@]+@")
    literals: list[str] = []
    for d in docs:
        if d["kind"] == "ConfigMap":
            literals += [str(v) for v in d["data"].values()]
        if d["kind"] in ("Deployment", "Job"):
            pod = d["spec"]["template"]["spec"]
            for c in pod["containers"] + pod.get("initContainers", []):
                literals += [str(e["value"]) for e in c["env"] if "value" in e]
    assert literals
    for text in literals:
        assert not userinfo.search(text), text


def test_values_cannot_carry_a_literal_credential() -> None:
    with helm.Chart.load(CHART) as chart:
        for bad in (
            {"postgres": {"url": "postgresql://meshq:hunter2@db/meshq"}},
            {"redis": {"password": "hunter2"}},
            {"memgraph": {"uri": "bolt://neo4j:hunter2@memgraph:7687"}},
        ):
            with pytest.raises(helm.HelmValuesError):
                chart.validate_schema(bad)


def test_rbac_policy_is_a_configmap_mounted_as_a_directory(rendered) -> None:
    _, docs = rendered
    gw = workloads(docs)["query-gateway"]
    c = container(gw)
    env = {e["name"]: e.get("value") for e in c["env"]}
    mount = next(m for m in c["volumeMounts"] if m["name"] == "rbac")
    assert "subPath" not in mount  # a subPath mount never sees ConfigMap updates
    assert env["RBAC_POLICY_FILE"] == mount["mountPath"] + "/rbac.yaml"
    volume = next(v for v in gw["spec"]["template"]["spec"]["volumes"] if v["name"] == "rbac")
    cm = next(
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"]
    )
    # The policy the chart writes is one the gateway accepts.
    policy = parse_policy(cm["data"]["rbac.yaml"])
    assert policy.roles
    # No checksum annotation: an edit must reach the pods without a restart.
    assert not any(
        "rbac" in k for k in (gw["spec"]["template"]["metadata"].get("annotations") or {})
    )


def test_production_values_reach_the_services() -> None:
    docs = objects(values_for("production"))
    deps = workloads(docs)
    env = {c: {e["name"]: e for e in container(d)["env"]} for c, d in deps.items()}
    kafka = env["audit"]
    assert kafka["MESHQ_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert kafka["MESHQ_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "meshq-kafka-user",
        "key": "password",
    }
    assert kafka["MESHQ_KAFKA_SSL_CAFILE"]["value"] == "/etc/meshoptixiq/kafka-ca/ca.crt"
    gw = env["query-gateway"]
    assert gw["AUTH_MODE"]["value"] == "both"
    assert gw["ENTRA_TENANT_ID"]["value"].startswith("0b5e7a4c")
    # The production example runs query replicas: the gateway calls them.
    assert gw["MESHQ_GRAPH_ENGINE_URL"]["value"] == "http://mq-meshoptixiq-graph-engine-query:8001"
    assert (
        env["mcp-bridge"]["MESHOPTIXIQ_API_URL"]["value"]
        == "http://mq-meshoptixiq-query-gateway:8000"
    )
    assert (
        env["licensing"]["MESHOPTIXIQ_LICENSE_KEY"]["valueFrom"]["secretKeyRef"]["name"]
        == "meshoptixiq-license"
    )
    assert (
        env["graph-engine"]["MEMGRAPH_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
        == "meshq-memgraph"
    )
    assert (
        env["netbox-sync"]["NETBOX_TOKEN"]["valueFrom"]["secretKeyRef"]["name"]
        == "meshoptixiq-netbox"
    )
    assert gw["MESHQ_ALERTS_URL"]["value"] == "http://mq-meshoptixiq-alerts:8008"
    alerts = env["alerts"]
    # the rules ask the writer, whatever serves the gateway
    assert alerts["MESHQ_GRAPH_ENGINE_URL"]["value"] == "http://mq-meshoptixiq-graph-engine:8001"
    assert alerts["MESHQ_ALERTMANAGER_URLS"]["value"] == "https://alertmanager.corp.example.com"
    # no publicUrl: the gateway's ingress
    assert alerts["MESHQ_ALERTS_PUBLIC_URL"]["value"] == "https://meshoptixiq.corp.example.com"
    assert alerts["MESHQ_POSTGRES_URL"]["valueFrom"]["secretKeyRef"]["name"] == "meshq-pg-app"
    flows = env["flow-collector"]
    assert flows["MESHQ_FLOWS_MAX_PENDING"]["value"] == "2000"
    assert "MESHQ_LICENSING_URL" not in flows and "MESHQ_POSTGRES_URL" not in flows
    ingresses = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Ingress"}
    gw_ing = ingresses["mq-meshoptixiq-query-gateway"]
    assert gw_ing["spec"]["tls"] == [
        {"hosts": ["meshoptixiq.corp.example.com"], "secretName": "meshoptixiq-tls"}
    ]


def test_environment_values_load_through_each_settings_class(rendered, monkeypatch) -> None:
    """Literal values as rendered, secret ones as a plausible Secret would hold them."""
    _, docs = rendered
    for component, dep in workloads(docs).items():
        cls = settings_class(component)
        for e in container(dep)["env"]:
            if "value" in e:
                monkeypatch.setenv(e["name"], e["value"])
            else:
                fake = "redis://r:6379/0" if "REDIS" in e["name"] else "x" * 32
                monkeypatch.setenv(
                    e["name"], "postgresql://p/db" if "POSTGRES" in e["name"] else fake
                )
        cls()  # raises on any value the service would refuse at start
        for e in container(dep)["env"]:
            monkeypatch.delenv(e["name"])


def test_alert_rules_are_a_configmap_the_service_loads(rendered) -> None:
    name, docs = rendered
    dep = workloads(docs)["alerts"]
    c = container(dep)
    env = {e["name"]: e.get("value") for e in c["env"]}
    rules = values_for(name).get("alerts", {}).get("rules")
    if not rules:  # the built-in rules: nothing mounted
        assert "MESHQ_ALERT_RULES_FILE" not in env
        assert not [m for m in c["volumeMounts"] if m["name"] == "alert-rules"]
        assert "mq-meshoptixiq-alert-rules" not in {d["metadata"]["name"] for d in docs}
        return
    mount = next(m for m in c["volumeMounts"] if m["name"] == "alert-rules")
    assert "subPath" not in mount and mount["readOnly"] is True
    path = env["MESHQ_ALERT_RULES_FILE"]
    assert path.startswith(mount["mountPath"] + "/")
    volume = next(
        v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "alert-rules"
    )
    cm = next(
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"]
    )
    text = cm["data"][path.rsplit("/", 1)[1]]
    # The file the chart writes is one the service accepts, with every rule of the values.
    loaded = load_rules(text, origin="chart")
    assert [r.name for r in loaded] == [r["name"] for r in rules]
    assert [r.query for r in loaded] == [r["query"] for r in rules]
    # Rules are read at start: a change of them rolls the pods.
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    changed = copy.deepcopy(values_for(name))
    changed["alerts"]["rules"][0]["severity"] = "low"
    again = workloads(objects(changed))["alerts"]["spec"]["template"]["metadata"]["annotations"]
    assert again["checksum/alert-rules"] != annotations["checksum/alert-rules"]


def test_flow_collector_service_takes_udp_on_the_listening_ports(rendered) -> None:
    name, docs = rendered
    values = values_for(name) or load_values(CHART / "values.yaml")
    dep = workloads(docs)["flow-collector"]
    env = {e["name"]: e.get("value") for e in container(dep)["env"]}
    cls = settings_class("flow-collector")
    listening = {
        int(env[field.alias])
        for field_name, field in cls.model_fields.items()
        if field_name.endswith("_port") and field.alias in env
    }
    svc = next(
        d
        for d in docs
        if d["kind"] == "Service" and d["metadata"]["name"] == "mq-meshoptixiq-flow-collector"
    )
    spec = svc["spec"]
    assert {(p["port"], p["protocol"]) for p in spec["ports"]} == {(p, "UDP") for p in listening}
    named = {p["name"]: p["containerPort"] for p in container(dep)["ports"]}
    for port in spec["ports"]:
        assert named[port["targetPort"]] == port["port"]
    assert spec["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert spec["sessionAffinity"] == "ClientIP"  # an exporter's templates stay on one pod
    wanted = values["flowCollector"]["service"]
    assert spec["type"] == wanted["type"]
    if wanted["type"] == "ClusterIP":
        assert "externalTrafficPolicy" not in spec
    else:  # exporters keep their own source address
        assert spec["externalTrafficPolicy"] == wanted["externalTrafficPolicy"] == "Local"
        assert spec.get("loadBalancerSourceRanges") == wanted["loadBalancerSourceRanges"]
        assert svc["metadata"]["annotations"] == wanted["annotations"]


def test_flow_collector_without_listeners_has_no_udp_service() -> None:
    docs = objects({"flowCollector": {"netflowPort": 0, "ipfixPort": 0, "sflowPort": 0}})
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert "mq-meshoptixiq-flow-collector" not in names
    ports = container(workloads(docs)["flow-collector"])["ports"]
    assert [p["name"] for p in ports] == ["http"]


# --- the hook Job ----------------------------------------------------------------------------


def test_hook_job_creates_topics_then_migrates_before_install_and_upgrade(rendered) -> None:
    _, docs = rendered
    job = next(d for d in docs if d["kind"] == "Job")
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    hooked = {d["kind"] for d in docs if "helm.sh/hook" in d["metadata"].get("annotations", {})}
    assert hooked == {"Job", "ServiceAccount", "NetworkPolicy"}
    sa = next(
        d
        for d in docs
        if d["kind"] == "ServiceAccount" and "helm.sh/hook" in d["metadata"].get("annotations", {})
    )
    assert int(sa["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        ann["helm.sh/hook-weight"]
    )
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    steps = [c["command"] for c in pod["initContainers"] + pod["containers"]]
    assert steps == [
        ["python", "/app/deploy/kafka_topics.py"],
        ["python", "/app/deploy/migrate.py", "licensing"],
        ["python", "/app/deploy/migrate.py", "soar-dispatcher"],
        ["python", "/app/deploy/migrate.py", "alerts"],
        ["python", "/app/deploy/migrate.py", "prober"],
        ["python", "/app/deploy/migrate.py", "audit"],
    ]
    images = [
        c["image"].rsplit("/", 1)[1].split(":")[0]
        for c in pod["initContainers"] + pod["containers"]
    ]
    assert images == ["licensing", "licensing", "soar-dispatcher", "alerts", "prober", "audit"]
    # Every service that keeps tables is migrated, and only those.
    migrated = {step[2] for step in steps if step[1] == "/app/deploy/migrate.py"}
    keeps_tables = {
        c
        for c in COMPONENTS
        if getattr(importlib.import_module(f"meshq_{c.replace('-', '_')}.app"), "SCHEMA", None)
    }
    assert migrated == keeps_tables


def test_a_wrong_value_fails_with_the_path_at_fault() -> None:
    with pytest.raises(
        helm.HelmValuesError, match="/services/query-gateway/autoscaling/minReplicas"
    ):
        render({"services": {"query-gateway": {"autoscaling": {"minReplicas": 0}}}})
    with pytest.raises(helm.HelmValuesError, match="/kafka/securityProtocol"):
        render({"kafka": {"securityProtocol": "TLS"}})
    with pytest.raises(helm.HelmValuesError, match="/gateway/rateLimits"):
        render({"gateway": {"rateLimits": {"POST /graph/whatif": "5 per minute"}}})
    with pytest.raises(helm.HelmValuesError, match="additional properties 'replicaCount'"):
        render({"replicaCount": 3})
    with pytest.raises(helm.HelmValuesError, match="/flowCollector/service/type"):
        render({"flowCollector": {"service": {"type": "ExternalName"}}})
    with pytest.raises(helm.HelmValuesError, match="/flowCollector/netflowPort"):
        render({"flowCollector": {"netflowPort": 70000}})
    with pytest.raises(helm.HelmValuesError, match="/alerts/alertmanagerUrls/0"):
        render({"alerts": {"alertmanagerUrls": ["am-0:9093"]}})
    with pytest.raises(helm.HelmValuesError, match="/alerts/intervalSeconds"):
        render({"alerts": {"intervalSeconds": 0}})


def test_sasl_without_a_secret_fails_with_a_message() -> None:
    with pytest.raises(helm.HelmError, match=r"kafka\.sasl\.existingSecret is required"):
        render({"kafka": {"securityProtocol": "SASL_SSL"}})


def test_notes_tell_how_to_reach_the_api_and_the_mcp_bridge() -> None:
    notes = render()["meshoptixiq/templates/NOTES.txt"]
    assert "port-forward svc/mq-meshoptixiq-query-gateway 8000" in notes
    assert "http://127.0.0.1:8006/mcp" in notes
    prod = render(values_for("production"))["meshoptixiq/templates/NOTES.txt"]
    assert "https://meshoptixiq.corp.example.com/" in prod
    assert "https://mcp.meshoptixiq.corp.example.com/mcp" in prod
    # where the exporters send, and a warning while the Service is cluster-internal
    assert "Service mq-meshoptixiq-flow-collector (ClusterIP)" in notes
    assert "netflow: UDP 2055" in notes and "ipfix: UDP 4739" in notes
    assert "sflow: UDP 6343" in notes
    assert "reachable from inside the cluster only" in notes
    assert "Service mq-meshoptixiq-flow-collector (LoadBalancer)" in prod
    assert "reachable from inside the cluster only" not in prod
