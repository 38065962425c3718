"""The Kubernetes reader on public real ``kubectl``/API captures (tests/fixtures/k8s, see its
README for where each came from) and on objects that are not what their kind says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from network_discovery.k8s import MAC_ANNOTATION, K8sObjectError, build_inventory, read_files
from network_discovery.k8s._files import MAX_FILE_BYTES
from network_discovery.k8s._model import MAX_LABELS, MAX_LIST, parse_node, parse_pod

CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "k8s"


def _load(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text())


def test_a_minikube_node() -> None:
    node = parse_node(_load("k9s-node-minikube.json"))
    assert node.name == "minikube"
    assert node.addresses == (("InternalIP", "192.168.64.107"), ("Hostname", "minikube"))
    assert node.ips == ("192.168.64.107",) and node.hostname == "minikube"
    assert node.ready is True and node.macs == ()


def test_a_node_list_as_the_api_returns_it() -> None:
    read = read_files([CAPTURES / "victoriametrics-nodelist.json"], cluster="vm")
    [node] = read.inventory.nodes
    assert (node.name, node.ips, node.provider_id) == ("m01", ("172.17.0.2",), "aws:///foo-bar/baz")


def test_a_pod_with_its_owner_and_host_network() -> None:
    read = read_files([CAPTURES / "victoriametrics-podlist.json"], cluster="vm")
    [pod] = read.inventory.pods
    assert (pod.namespace, pod.name, pod.node) == ("kube-system", "etcd-m01", "test-node")
    assert pod.host_network is True and pod.ips == ("172.17.0.2",)
    assert (pod.owner_kind, pod.owner_name) == ("Node", "m01")
    plain = parse_pod(_load("k9s-pod.json"))
    assert (plain.node, plain.ips, plain.host_ip) == ("minikube", ("172.17.0.6",), "192.168.64.104")
    assert plain.owner_kind is None


def test_services_join_their_endpointslices() -> None:
    files = [
        CAPTURES / "victoriametrics-servicelist.json",
        CAPTURES / "victoriametrics-endpointslicelist.json",
    ]
    inventory = read_files(files, cluster="vm").inventory
    [dns] = inventory.services
    assert (dns.namespace, dns.name, dns.cluster_ips) == (
        "kube-system",
        "kube-dns",
        ("10.96.0.10",),
    )
    assert [(p.port, p.protocol) for p in dns.ports] == [(53, "UDP"), (53, "TCP"), (9153, "TCP")]
    assert dns.selector == {"k8s-app": "kube-dns"}
    [endpoint] = dns.endpoints
    assert (endpoint.ip, endpoint.ready, endpoint.pod) == (
        "10.244.0.3",
        True,
        "coredns-66bff467f8-z8czk",
    )
    # the slice of the 'kubernetes' service has no Service object in the files: not kept


def test_a_headless_service_has_no_cluster_ip() -> None:
    service = _load("k9s-service-gke.json")
    service["spec"]["clusterIP"] = "None"
    inventory = build_inventory("c", [service], source="file")
    assert inventory.services[0].cluster_ips == ()


def test_the_pods_own_node_wins_over_the_slices_copy() -> None:
    pod = _load("k9s-pod.json")
    service = _load("k9s-service-gke.json")
    slice_ = {
        "kind": "EndpointSlice",
        "metadata": {
            "name": "dictionary1-x",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "dictionary1"},
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["172.17.0.6"],
                "nodeName": "old-node",
                "targetRef": {"kind": "Pod", "namespace": "default", "name": "nginx"},
            }
        ],
    }
    inventory = build_inventory("c", [slice_, service, pod], source="file")
    [endpoint] = inventory.services[0].endpoints
    assert (endpoint.node, endpoint.ready) == ("minikube", None)


def test_macs_come_from_the_annotation_only() -> None:
    node = _load("k9s-node-minikube.json")
    node["metadata"]["annotations"][MAC_ANNOTATION] = (
        "AA-BB-CC-00-11-22, aabb.cc00.1122,02:00:00:00:00:01"
    )
    assert parse_node(node).macs == ("aa:bb:cc:00:11:22", "02:00:00:00:00:01")
    node["metadata"]["annotations"][MAC_ANNOTATION] = "not-a-mac"
    with pytest.raises(K8sObjectError, match="is not a MAC address"):
        parse_node(node)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o["metadata"].pop("name"), "Pod.metadata.name: missing"),
        (lambda o: o["status"].update(podIP="10.0.0.300"), "is not an IP address"),
        (lambda o: o["spec"].update(nodeName=["x"]), "Pod.spec.nodeName: expected a string"),
        (lambda o: o["metadata"].update(name="x" * 300), "longer than 253"),
    ],
    ids=["no-name", "bad-ip", "node-not-text", "long-name"],
)
def test_a_broken_pod_is_refused_with_the_field(change: Any, message: str) -> None:
    pod = _load("k9s-pod.json")
    change(pod)
    with pytest.raises(K8sObjectError, match=message):
        build_inventory("c", [pod], source="file")


def test_lists_and_labels_are_bounded() -> None:
    node = _load("k9s-node-minikube.json")
    node["status"]["addresses"] = [
        {"type": "InternalIP", "address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"}
        for i in range(MAX_LIST + 50)
    ]
    node["metadata"]["labels"] = {f"k{i}": "v" for i in range(MAX_LABELS + 10)}
    parsed = parse_node(node)
    assert len(parsed.addresses) == MAX_LIST and len(parsed.labels) == MAX_LABELS


def test_other_kinds_in_a_file_are_counted_not_read(tmp_path: Path) -> None:
    dump = tmp_path / "dump.json"
    dump.write_text(
        json.dumps(
            {
                "kind": "List",
                "items": [_load("k9s-pod.json"), {"kind": "ConfigMap", "metadata": {"name": "c"}}],
            }
        )
    )
    read = read_files([dump], cluster="c")
    assert len(read.inventory.pods) == 1 and read.skipped == {"ConfigMap": 1}


def test_a_file_that_is_not_json_says_so(tmp_path: Path) -> None:
    text = tmp_path / "pods.txt"
    text.write_text("NAME READY STATUS\nnginx 1/1 Running\n")
    with pytest.raises(K8sObjectError, match="not JSON"):
        read_files([text], cluster="c")
    assert MAX_FILE_BYTES >= 64 * 1024 * 1024


def test_what_a_watch_keeps_reads_the_same() -> None:
    from network_discovery.k8s._model import slim

    objects = [
        _load("k9s-node-minikube.json"),
        _load("k9s-pod.json"),
        _load("k9s-service-gke.json"),
        *[
            {**item, "kind": "EndpointSlice"}
            for item in _load("victoriametrics-endpointslicelist.json")["items"]
        ],
    ]
    whole = build_inventory("c", objects, source="api", collected_at=None)
    kept = build_inventory("c", [slim(o) for o in objects], source="api")
    assert kept.model_dump(exclude={"collected_at"}) == whole.model_dump(exclude={"collected_at"})
    assert len(json.dumps(slim(objects[0]))) < len(json.dumps(objects[0])) / 5
