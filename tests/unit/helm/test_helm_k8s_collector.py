"""The chart's Kubernetes collector (``k8s.enabled``): a container beside every graph-engine
container that runs ``python -m network_discovery.k8s`` into the pod's data directory, its
ServiceAccount bound to a ClusterRole that can only read, the token mounted in the collector
alone, and the egress to the API server; or a kubeconfig Secret for another cluster."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from network_discovery.k8s.__main__ import _parser
from support.helm_chart import CHART, objects, workloads

KUBE_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
ENABLED = {"k8s": {"enabled": True, "cluster": "prod-eu"}}
WITH_READERS = {
    **ENABLED,
    "services": {"graph-engine": {"query": {"enabled": True}}},
}
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
READ_VERBS = {"get", "list", "watch"}


def pod(dep: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = dep["spec"]["template"]["spec"]
    return spec


def containers(dep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pod(dep)["containers"]}


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_off_by_default() -> None:
    docs = objects()
    assert not of_kind(docs, "ClusterRole") and not of_kind(docs, "ClusterRoleBinding")
    for dep in workloads(docs).values():
        assert "k8s-collector" not in containers(dep)


@pytest.mark.parametrize("values", [ENABLED, WITH_READERS], ids=["writer", "with-readers"])
def test_every_object_validates_and_lints(values: dict[str, Any]) -> None:
    docs = objects(values)
    for version in KUBE_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
    report = helm.lint(CHART, values, strict=True, kube_version="v1.30.0")
    assert report["errors"] == [] and [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_cluster_role_only_reads_what_the_inventory_holds() -> None:
    docs = objects(ENABLED)
    (role,) = of_kind(docs, "ClusterRole")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}  # no nonResourceURLs, names
        assert set(rule["verbs"]) <= READ_VERBS, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert "*" not in (group, resource) and "/" not in resource, rule
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == {
        ("", "nodes"): READ_VERBS,
        ("", "pods"): READ_VERBS,
        ("", "services"): READ_VERBS,
        ("discovery.k8s.io", "endpointslices"): READ_VERBS,
    }
    (binding,) = of_kind(docs, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    accounts = {a["metadata"]["name"]: a for a in of_kind(docs, "ServiceAccount")}
    (subject,) = binding["subjects"]
    assert subject["kind"] == "ServiceAccount" and subject["namespace"] == "netops"
    assert accounts[subject["name"]]["automountServiceAccountToken"] is False
    # no Role or binding grants anything else to anyone
    assert not of_kind(docs, "Role") and not of_kind(docs, "RoleBinding")


def test_a_collector_beside_every_graph_engine_and_nowhere_else() -> None:
    docs = objects(WITH_READERS)
    (binding,) = of_kind(docs, "ClusterRoleBinding")
    collector_sa = binding["subjects"][0]["name"]
    for component, dep in workloads(docs).items():
        spec = pod(dep)
        named = containers(dep)
        if component not in ("graph-engine", "graph-engine-query"):
            assert "k8s-collector" not in named, component
            assert spec["serviceAccountName"] != collector_sa, component
            continue
        assert spec["serviceAccountName"] == collector_sa
        assert spec["automountServiceAccountToken"] is False
        engine, collector = named[component], named["k8s-collector"]
        assert engine["image"] == collector["image"]  # the graph engine's image runs it
        command = collector["command"]
        assert command[:3] == ["python", "-m", "network_discovery.k8s"]
        args = _parser().parse_args(command[3:])  # the module's own parser takes them
        assert (args.cluster, args.watch, args.in_cluster) == ("prod-eu", True, True)
        # it writes where the graph engine reads: $MESHQ_DATA_DIR/k8s on the shared volume
        data_dir = next(e["value"] for e in engine["env"] if e["name"] == "MESHQ_DATA_DIR")
        assert str(args.directory) == f"{data_dir}/k8s"
        mounts = {m["mountPath"]: m["name"] for m in collector["volumeMounts"]}
        engine_mounts = {m["mountPath"]: m["name"] for m in engine["volumeMounts"]}
        assert mounts[data_dir] == engine_mounts[data_dir] == "data"
        # the token: in the collector, never in the graph engine
        assert mounts[TOKEN_PATH] == "k8s-token"
        assert TOKEN_PATH not in engine_mounts
        assert "k8s-token" not in engine_mounts.values()
        volume = next(v for v in spec["volumes"] if v["name"] == "k8s-token")
        sources = volume["projected"]["sources"]
        assert sources[0]["serviceAccountToken"]["expirationSeconds"] <= 3600
        assert collector["securityContext"]["readOnlyRootFilesystem"] is True
        assert collector["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_the_graph_engines_reach_the_api_server() -> None:
    docs = objects(WITH_READERS)
    policies = {
        p["metadata"]["labels"]["app.kubernetes.io/component"]: p
        for p in of_kind(docs, "NetworkPolicy")
    }

    def ports(component: str) -> set[int]:
        return {p["port"] for rule in policies[component]["spec"]["egress"] for p in rule["ports"]}

    for component in ("graph-engine", "graph-engine-query"):
        assert {443, 6443} <= ports(component)
    assert not {443, 6443} & ports("query-gateway")
    (default,) = [
        p
        for p in of_kind(objects(), "NetworkPolicy")
        if p["metadata"]["labels"]["app.kubernetes.io/component"] == "graph-engine"
    ]
    assert 6443 not in {p["port"] for rule in default["spec"]["egress"] for p in rule["ports"]}


def test_another_cluster_through_a_kubeconfig_secret() -> None:
    values = {
        "k8s": {
            "enabled": True,
            "cluster": "remote",
            "kubeconfigSecret": {"name": "remote-kubeconfig", "key": "config", "context": "ro"},
        }
    }
    docs = objects(values)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSIONS[0], strict=True)
    # nothing to grant in this cluster
    assert not of_kind(docs, "ClusterRole") and not of_kind(docs, "ClusterRoleBinding")
    dep = workloads(docs)["graph-engine"]
    collector = containers(dep)["k8s-collector"]
    args = _parser().parse_args(collector["command"][3:])
    assert (args.in_cluster, str(args.kubeconfig), args.context) == (
        False,
        "/etc/meshoptixiq/kubeconfig/config",
        "ro",
    )
    volume = next(v for v in pod(dep)["volumes"] if v["name"] == "k8s-kubeconfig")
    assert volume["secret"]["secretName"] == "remote-kubeconfig"
    assert all(v["name"] != "k8s-token" for v in pod(dep)["volumes"])
    assert pod(dep)["serviceAccountName"] == pod(workloads(docs)["audit"])["serviceAccountName"]


@pytest.mark.parametrize(
    "k8s",
    [{"enabled": True}, {"enabled": True, "cluster": "Not A Name"}],
    ids=["no-cluster", "bad-cluster"],
)
def test_a_collector_needs_a_valid_cluster_name(k8s: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="cluster"):
        objects({"k8s": k8s})
