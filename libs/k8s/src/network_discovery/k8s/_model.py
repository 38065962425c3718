"""A Kubernetes cluster as the graph needs it: nodes, pods and services (with the endpoints
their EndpointSlices list), read from the API's own JSON objects.

The same reader serves the API (list and watch) and ``kubectl get … -o json`` files: both
hand over the objects as the API serialises them. Only what the joins and the queries use is
kept; everything else in an object is dropped. Every list is bounded (a node's addresses, a
pod's IPs, a service's ports and endpoints), and an object that is not what its ``kind``
says is refused with the reason, never half read.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from network_discovery.model import normalise_mac

__all__ = [
    "KINDS",
    "MAC_ANNOTATION",
    "MAX_LABELS",
    "MAX_LIST",
    "ClusterInventory",
    "K8sEndpoint",
    "K8sNode",
    "K8sObjectError",
    "K8sPod",
    "K8sPort",
    "K8sService",
    "ObjectKey",
    "build_inventory",
    "object_key",
    "slim",
]

#: The kinds read, as the API names them (``kind`` of one object).
KINDS = ("Node", "Pod", "Service", "EndpointSlice")
#: A node's NIC MACs, where the site publishes them (the core API reports none): a comma-
#: separated list in this annotation of the Node (``meshq k8s`` docs show a DaemonSet that
#: sets it from ``/sys/class/net``).
MAC_ANNOTATION = "meshoptixiq.io/macs"
#: The most items kept from any one list of an object (addresses, ports, endpoints).
MAX_LIST = 1_000
#: The most labels kept from one object; longer keys or values are dropped.
MAX_LABELS = 64
_MAX_TEXT = 253
_MAX_LABEL_VALUE = 63

ObjectKey = tuple[str, str, str]


class K8sObjectError(ValueError):
    """An object that cannot be what its kind says (the message names the field)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class K8sNode(_Frozen):
    name: str
    uid: str | None = None
    #: (type, address) as the node reports them: InternalIP, ExternalIP, Hostname, …
    addresses: tuple[tuple[str, str], ...] = ()
    macs: tuple[str, ...] = Field(
        default=(), description=f"NIC MACs from the {MAC_ANNOTATION} annotation, when set."
    )
    ready: bool | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    provider_id: str | None = None

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(a for t, a in self.addresses if t in ("InternalIP", "ExternalIP"))

    @property
    def hostname(self) -> str | None:
        return next((a for t, a in self.addresses if t == "Hostname"), None)


class K8sPod(_Frozen):
    namespace: str
    name: str
    uid: str | None = None
    node: str | None = Field(default=None, description="spec.nodeName: where it runs.")
    ips: tuple[str, ...] = ()
    host_ip: str | None = None
    host_network: bool = False
    phase: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    owner_kind: str | None = None
    owner_name: str | None = None


class K8sPort(_Frozen):
    name: str | None = None
    protocol: str = "TCP"
    port: int
    target_port: str | None = None


class K8sEndpoint(_Frozen):
    """One address of a service's EndpointSlices."""

    ip: str
    ready: bool | None = None
    node: str | None = None
    pod_namespace: str | None = None
    pod: str | None = None


class K8sService(_Frozen):
    namespace: str
    name: str
    uid: str | None = None
    type: str = "ClusterIP"
    cluster_ips: tuple[str, ...] = ()
    ports: tuple[K8sPort, ...] = ()
    selector: dict[str, str] = Field(default_factory=dict)
    endpoints: tuple[K8sEndpoint, ...] = ()


class ClusterInventory(_Frozen):
    """One cluster at one moment: what ``meshq k8s sync`` stores and the queries read."""

    cluster: str
    collected_at: datetime
    source: str = Field(description="api (list and watch) or file (kubectl -o json).")
    #: The resourceVersion of each kind's last list or event (api only).
    resource_versions: dict[str, str] = Field(default_factory=dict)
    nodes: tuple[K8sNode, ...] = ()
    pods: tuple[K8sPod, ...] = ()
    services: tuple[K8sService, ...] = ()


def _text(value: Any, where: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise K8sObjectError(f"{where}: missing")
        return None
    if not isinstance(value, str):
        raise K8sObjectError(f"{where}: expected a string")
    if len(value) > _MAX_TEXT:
        raise K8sObjectError(f"{where}: longer than {_MAX_TEXT} characters")
    return value


def _map(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise K8sObjectError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise K8sObjectError(f"{where}: expected a list")
    return value[:MAX_LIST]


def _labels(value: Any, where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, text in sorted(_map(value, where).items()):
        if len(found) >= MAX_LABELS:
            break
        if isinstance(text, str) and len(key) <= _MAX_TEXT and len(text) <= _MAX_LABEL_VALUE:
            found[key] = text
    return found


@functools.lru_cache(maxsize=1 << 18)
def _canonical_ip(text: str) -> str | None:
    """``text`` as an IP address in its canonical form; None if it is none. Kept: a watch
    builds the inventory again after every change, from the same addresses."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _ip(value: Any, where: str) -> str | None:
    text = _text(value, where)
    if text is None:
        return None
    found = _canonical_ip(text)
    if found is None:
        raise K8sObjectError(f"{where}: {text[:60]!r} is not an IP address")
    return found


def _ips(values: Iterable[Any], where: str) -> tuple[str, ...]:
    found: list[str] = []
    for i, value in enumerate(values):
        ip = _ip(value, f"{where}[{i}]")
        if ip is not None and ip not in found:
            found.append(ip)
    return tuple(found)


def _meta(obj: Mapping[str, Any], kind: str, *, namespaced: bool) -> Mapping[str, Any]:
    meta = _map(obj.get("metadata"), f"{kind}.metadata")
    _text(meta.get("name"), f"{kind}.metadata.name", required=True)
    if namespaced:
        _text(meta.get("namespace") or "default", f"{kind}.metadata.namespace")
    return meta


def parse_node(obj: Mapping[str, Any]) -> K8sNode:
    meta = _meta(obj, "Node", namespaced=False)
    status = _map(obj.get("status"), "Node.status")
    addresses: list[tuple[str, str]] = []
    for i, entry in enumerate(_list(status.get("addresses"), "Node.status.addresses")):
        entry = _map(entry, f"Node.status.addresses[{i}]")
        kind = _text(entry.get("type"), f"Node.status.addresses[{i}].type", required=True)
        address = _text(entry.get("address"), f"Node.status.addresses[{i}].address")
        if kind is None or address is None:
            continue
        if kind in ("InternalIP", "ExternalIP"):
            address = _ip(address, f"Node.status.addresses[{i}].address") or address
        if (kind, address) not in addresses:
            addresses.append((kind, address))
    ready = None
    for condition in _list(status.get("conditions"), "Node.status.conditions"):
        condition = _map(condition, "Node.status.conditions[]")
        if condition.get("type") == "Ready":
            ready = {"True": True, "False": False}.get(str(condition.get("status")))
    annotations = _map(meta.get("annotations"), "Node.metadata.annotations")
    macs: list[str] = []
    raw_macs = annotations.get(MAC_ANNOTATION)
    if isinstance(raw_macs, str):
        for part in raw_macs.split(",")[:MAX_LIST]:
            try:
                mac = normalise_mac(part.strip())
            except ValueError:
                raise K8sObjectError(
                    f"Node.metadata.annotations[{MAC_ANNOTATION}]: {part.strip()[:40]!r} "
                    "is not a MAC address"
                ) from None
            if mac not in macs:
                macs.append(mac)
    spec = _map(obj.get("spec"), "Node.spec")
    return K8sNode(
        name=str(meta["name"]),
        uid=_text(meta.get("uid"), "Node.metadata.uid"),
        addresses=tuple(addresses),
        macs=tuple(macs),
        ready=ready,
        labels=_labels(meta.get("labels"), "Node.metadata.labels"),
        provider_id=_text(spec.get("providerID"), "Node.spec.providerID"),
    )


def _owner(meta: Mapping[str, Any]) -> tuple[str | None, str | None]:
    owners = [
        _map(o, "metadata.ownerReferences[]")
        for o in _list(meta.get("ownerReferences"), "metadata.ownerReferences")
    ]
    chosen = next((o for o in owners if o.get("controller") is True), owners[0] if owners else {})
    return (
        _text(chosen.get("kind"), "metadata.ownerReferences[].kind"),
        _text(chosen.get("name"), "metadata.ownerReferences[].name"),
    )


def parse_pod(obj: Mapping[str, Any]) -> K8sPod:
    meta = _meta(obj, "Pod", namespaced=True)
    spec = _map(obj.get("spec"), "Pod.spec")
    status = _map(obj.get("status"), "Pod.status")
    listed = [
        _map(entry, "Pod.status.podIPs[]").get("ip")
        for entry in _list(status.get("podIPs"), "Pod.status.podIPs")
    ]
    ips = _ips([status.get("podIP"), *listed], "Pod.status.podIPs")
    owner_kind, owner_name = _owner(meta)
    return K8sPod(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta["name"]),
        uid=_text(meta.get("uid"), "Pod.metadata.uid"),
        node=_text(spec.get("nodeName"), "Pod.spec.nodeName"),
        ips=ips,
        host_ip=_ip(status.get("hostIP"), "Pod.status.hostIP"),
        host_network=spec.get("hostNetwork") is True,
        phase=_text(status.get("phase"), "Pod.status.phase"),
        labels=_labels(meta.get("labels"), "Pod.metadata.labels"),
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


def _port(entry: Mapping[str, Any], where: str) -> K8sPort:
    port = entry.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise K8sObjectError(f"{where}.port: expected an integer from 0 to 65535")
    target = entry.get("targetPort")
    return K8sPort(
        name=_text(entry.get("name"), f"{where}.name"),
        protocol=_text(entry.get("protocol"), f"{where}.protocol") or "TCP",
        port=port,
        target_port=None if target is None else str(target)[:_MAX_TEXT],
    )


def parse_service(obj: Mapping[str, Any]) -> K8sService:
    meta = _meta(obj, "Service", namespaced=True)
    spec = _map(obj.get("spec"), "Service.spec")
    cluster_ips = [
        ip for ip in [spec.get("clusterIP"), *_list(spec.get("clusterIPs"), "clusterIPs")] if ip
    ]
    return K8sService(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta["name"]),
        uid=_text(meta.get("uid"), "Service.metadata.uid"),
        type=_text(spec.get("type"), "Service.spec.type") or "ClusterIP",
        # "None" is a headless service: no cluster IP
        cluster_ips=_ips([ip for ip in cluster_ips if ip != "None"], "Service.spec.clusterIPs"),
        ports=tuple(
            _port(_map(p, "Service.spec.ports[]"), f"Service.spec.ports[{i}]")
            for i, p in enumerate(_list(spec.get("ports"), "Service.spec.ports"))
        ),
        selector=_labels(spec.get("selector"), "Service.spec.selector"),
    )


def parse_slice(obj: Mapping[str, Any]) -> tuple[str, str, tuple[K8sEndpoint, ...]]:
    """(namespace, service name, endpoints) of one EndpointSlice; an FQDN slice lists none."""
    meta = _meta(obj, "EndpointSlice", namespaced=True)
    labels = _map(meta.get("labels"), "EndpointSlice.metadata.labels")
    service = _text(labels.get("kubernetes.io/service-name"), "EndpointSlice service-name") or ""
    if obj.get("addressType") == "FQDN":
        return str(meta.get("namespace") or "default"), service, ()
    found: list[K8sEndpoint] = []
    for i, entry in enumerate(_list(obj.get("endpoints"), "EndpointSlice.endpoints")):
        where = f"EndpointSlice.endpoints[{i}]"
        entry = _map(entry, where)
        conditions = _map(entry.get("conditions"), f"{where}.conditions")
        ready = conditions.get("ready")
        target = _map(entry.get("targetRef"), f"{where}.targetRef")
        is_pod = target.get("kind") == "Pod"
        for ip in _ips(_list(entry.get("addresses"), f"{where}.addresses"), f"{where}.addresses"):
            found.append(
                K8sEndpoint(
                    ip=ip,
                    ready=ready if isinstance(ready, bool) else None,
                    node=_text(entry.get("nodeName"), f"{where}.nodeName"),
                    pod_namespace=_text(target.get("namespace"), f"{where}.targetRef.namespace")
                    if is_pod
                    else None,
                    pod=_text(target.get("name"), f"{where}.targetRef.name") if is_pod else None,
                )
            )
    return str(meta.get("namespace") or "default"), service, tuple(found[:MAX_LIST])


_KEEP_META = ("name", "namespace", "uid", "resourceVersion", "labels", "ownerReferences")
_KEEP: dict[str, dict[str, tuple[str, ...]]] = {
    "Node": {"spec": ("providerID",), "status": ("addresses", "conditions")},
    "Pod": {
        "spec": ("nodeName", "hostNetwork"),
        "status": ("podIP", "podIPs", "hostIP", "phase"),
    },
    "Service": {"spec": ("type", "clusterIP", "clusterIPs", "ports", "selector")},
}


def slim(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an API object the reader uses (a watch keeps every object of a cluster
    in memory: a pod's managedFields, containers and annotations are most of its size)."""
    kind = obj.get("kind")
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kept_meta = {k: meta[k] for k in _KEEP_META if k in meta}
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping) and MAC_ANNOTATION in annotations:
        kept_meta["annotations"] = {MAC_ANNOTATION: annotations[MAC_ANNOTATION]}
    out: dict[str, Any] = {"kind": kind, "metadata": kept_meta}
    if kind == "EndpointSlice":
        out.update({k: obj[k] for k in ("addressType", "endpoints") if k in obj})
        return out
    for part, names in _KEEP.get(str(kind), {}).items():
        section = obj.get(part)
        if isinstance(section, Mapping):
            out[part] = {k: section[k] for k in names if k in section}
    conditions = out.get("status", {}).get("conditions") if kind == "Node" else None
    if isinstance(conditions, list):  # Ready is the one read
        out["status"]["conditions"] = [
            {"type": "Ready", "status": c.get("status")}
            for c in conditions
            if isinstance(c, Mapping) and c.get("type") == "Ready"
        ]
    return out


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    """(kind, namespace, name) of one API object."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        raise K8sObjectError(f"{obj.get('kind', 'object')}: no metadata")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise K8sObjectError(f"kind {str(kind)[:40]!r} is not one of {', '.join(KINDS)}")
    name = _text(meta.get("name"), f"{kind}.metadata.name", required=True)
    namespace = "" if kind == "Node" else str(meta.get("namespace") or "default")
    return str(kind), namespace, str(name)


def build_inventory(
    cluster: str,
    objects: Iterable[Mapping[str, Any]],
    *,
    source: str,
    resource_versions: Mapping[str, str] | None = None,
    collected_at: datetime | None = None,
) -> ClusterInventory:
    """The inventory of ``objects`` (any order; kinds beyond ``KINDS`` are refused)."""
    nodes: dict[str, K8sNode] = {}
    pods: dict[tuple[str, str], K8sPod] = {}
    services: dict[tuple[str, str], K8sService] = {}
    slices: dict[tuple[str, str], list[K8sEndpoint]] = {}
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Node":
            node = parse_node(obj)
            nodes[node.name] = node
        elif kind == "Pod":
            pod = parse_pod(obj)
            pods[(pod.namespace, pod.name)] = pod
        elif kind == "Service":
            service = parse_service(obj)
            services[(service.namespace, service.name)] = service
        elif kind == "EndpointSlice":
            namespace, name, listed = parse_slice(obj)
            if name:
                slices.setdefault((namespace, name), []).extend(listed)
        else:
            raise K8sObjectError(f"kind {str(kind)[:40]!r} is not one of {', '.join(KINDS)}")
    pod_nodes = {key: p.node for key, p in pods.items()}
    joined = []
    for key, service in sorted(services.items()):
        endpoints: list[K8sEndpoint] = []
        for e in slices.get(key, ()):
            # the pod's own nodeName wins: the slice's copy can lag a reschedule
            on = pod_nodes.get((e.pod_namespace or "", e.pod or ""), None) or e.node
            endpoints.append(e.model_copy(update={"node": on}))
        endpoints.sort(key=lambda e: (e.ip, e.pod or ""))
        joined.append(service.model_copy(update={"endpoints": tuple(endpoints[:MAX_LIST])}))
    return ClusterInventory(
        cluster=cluster,
        collected_at=collected_at or datetime.now(UTC),
        source=source,
        resource_versions=dict(resource_versions or {}),
        nodes=tuple(nodes[k] for k in sorted(nodes)),
        pods=tuple(pods[k] for k in sorted(pods)),
        services=tuple(joined),
    )
